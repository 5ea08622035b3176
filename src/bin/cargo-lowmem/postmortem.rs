//! After a governed build fails: whether the kernel's OOM killer killed a rustc, which crate,
//! how much it held, and what to do. Pure: what was counted and recorded in, lines out. Three
//! kinds of kill are told apart: the governor's own (it killed the newest rustc to make room and
//! ran it again alone: not a cause of failure by itself), the kernel's OOM killer (claimed only
//! when an `oom_kill` counter rose while that rustc ran: cargo#6325, SIGKILL has many causes),
//! and anything else.

/// Who ended a rustc early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The governor, to make room (store status `gave-way`).
    Governor,
    /// SIGKILL while an OOM kill was counted (store status `oom-killed`).
    OomKiller,
    /// Another signal, or SIGKILL with no OOM kill counted (store status `sig<N>`).
    Signal(u32),
}

impl Cause {
    /// From a store record's status; `None` for one that exited (or was a cache hit).
    pub fn of_status(status: &str) -> Option<Cause> {
        match status {
            "gave-way" => Some(Cause::Governor),
            "oom-killed" => Some(Cause::OomKiller),
            other => other.strip_prefix("sig")?.parse().ok().map(Cause::Signal),
        }
    }
}

/// A rustc ended early during the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Killed {
    /// The crate.
    pub krate: String,
    /// Who ended it.
    pub cause: Cause,
    /// Its anonymous memory when last sampled, KiB.
    pub anon_kib: u64,
}

/// The OOM-kill counters before and after the build: the memory cgroup's and the kernel's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub cgroup: Option<u64>,
    pub vmstat: Option<u64>,
}

impl Counters {
    /// How many OOM kills happened between `before` and `self` (the cgroup's count when both
    /// have one, else the kernel's), `None` when neither could be read.
    pub fn since(&self, before: &Counters) -> Option<u64> {
        match (self.cgroup, before.cgroup) {
            (Some(after), Some(before)) => Some(after.saturating_sub(before)),
            _ => Some(self.vmstat?.saturating_sub(before.vmstat?)),
        }
    }
}

/// What the post-mortem has to go on.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub killed: Vec<Killed>,
    pub oom_kills: Option<u64>,
    /// The build's budget, bytes, and what bounded it.
    pub budget: Option<(u64, String)>,
    /// The fixes the estimate gives, best first (one line each).
    pub fixes: Vec<String>,
    /// Whether the heaviest crate alone, at the leanest settings, exceeds the budget.
    pub beyond_one_machine: Option<String>,
}

fn gib(kib: u64) -> String {
    if kib >= 1024 * 1024 {
        format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} MiB", kib / 1024)
    }
}

/// The crates in `killed` whose cause `keep` accepts, each once with its largest figure, as
/// `name (it held X when last sampled)`.
fn named(killed: &[Killed], keep: impl Fn(Cause) -> bool) -> Vec<String> {
    let mut seen: Vec<&Killed> = Vec::new();
    for k in killed.iter().filter(|k| keep(k.cause)) {
        // A crate killed twice (and retried alone) is named once, with its larger figure.
        match seen.iter_mut().find(|n| n.krate == k.krate) {
            Some(s) if s.anon_kib < k.anon_kib => *s = k,
            Some(_) => {}
            None => seen.push(k),
        }
    }
    seen.iter()
        .map(|k| {
            format!(
                "{} (it held {} when last sampled)",
                k.krate,
                gib(k.anon_kib)
            )
        })
        .collect()
}

/// The post-mortem's lines (the first printed as `error:`, the rest as `note:`), empty when no
/// rustc was killed by the kernel or by anything else than the governor.
pub fn explain(facts: &Facts) -> Vec<String> {
    let oom = named(&facts.killed, |c| c == Cause::OomKiller);
    // SIGKILL the wrapper could not attribute (an older store, or no counter while it ran).
    let unattributed = named(&facts.killed, |c| c == Cause::Signal(9));
    let governor = named(&facts.killed, |c| c == Cause::Governor);
    let mut lines = Vec::new();
    let counted = facts.oom_kills.unwrap_or(0);
    if !oom.is_empty() || (!unattributed.is_empty() && counted > 0) {
        let mut crates = oom;
        crates.extend(unattributed.iter().cloned());
        lines.push(format!(
            "the kernel's OOM killer killed rustc compiling {} ({counted} OOM kill{} counted){}",
            crates.join(", "),
            if counted == 1 { "" } else { "s" },
            facts
                .budget
                .as_ref()
                .map(|(b, source)| format!("; the budget was {} ({source})", gib(b / 1024)))
                .unwrap_or_default()
        ));
        for (i, fix) in facts.fixes.iter().enumerate() {
            lines.push(format!("fix {}: {fix}", i + 1));
        }
        if let Some(beyond) = &facts.beyond_one_machine {
            lines.push(beyond.clone());
        }
    } else if !unattributed.is_empty() {
        lines.push(match facts.oom_kills {
            Some(_) => format!(
                "rustc compiling {} was killed by SIGKILL, but no OOM kill was counted (memory cgroup, /proc/vmstat) and cargo-lowmem did not kill it: something else did",
                unattributed.join(", ")
            ),
            None => format!(
                "rustc compiling {} was killed by SIGKILL; whether the OOM killer did it is unknown (no oom_kill counter could be read)",
                unattributed.join(", ")
            ),
        });
    }
    if !lines.is_empty() && !governor.is_empty() {
        lines.push(format!(
            "cargo-lowmem itself killed rustc compiling {} to make room, and ran it again alone",
            governor.join(", ")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(oom_kills: Option<u64>) -> Facts {
        Facts {
            killed: vec![Killed {
                krate: "polars_core".into(),
                cause: Cause::OomKiller,
                anon_kib: 1900 * 1024,
            }],
            oom_kills,
            budget: Some((2 << 30, "cgroup memory.limit_in_bytes".into())),
            fixes: vec!["export CARGO_PROFILE_DEV_DEBUG=0".into()],
            beyond_one_machine: None,
        }
    }

    #[test]
    fn an_oom_kill_is_named_only_with_the_counter() {
        let lines = explain(&facts(Some(1)));
        assert!(
            lines[0].starts_with(
                "the kernel's OOM killer killed rustc compiling polars_core (it held 1.9 GiB"
            ),
            "{lines:?}"
        );
        assert!(lines[0].contains("1 OOM kill counted"));
        assert!(lines[0].contains("the budget was 2.0 GiB (cgroup memory.limit_in_bytes)"));
        assert_eq!(lines[1], "fix 1: export CARGO_PROFILE_DEV_DEBUG=0");
        // A SIGKILL the wrapper did not attribute: the build's counter decides.
        let mut f = facts(Some(0));
        f.killed[0].cause = Cause::Signal(9);
        let other = explain(&f);
        assert!(other[0].contains("no OOM kill was counted"), "{other:?}");
        assert!(
            other[0].contains("cargo-lowmem did not kill it"),
            "{other:?}"
        );
        assert_eq!(other.len(), 1);
        f.oom_kills = None;
        assert!(explain(&f)[0].contains("unknown"));
        f.oom_kills = Some(1);
        assert!(explain(&f)[0].starts_with("the kernel's OOM killer killed"));
    }

    #[test]
    fn the_governors_own_kills_are_told_apart() {
        // Only the governor killed (and the build failed for another reason): nothing to say.
        let mut f = facts(Some(0));
        f.killed[0].cause = Cause::Governor;
        assert!(explain(&f).is_empty());
        // The governor made room, and then the kernel killed another crate anyway.
        f.killed.push(Killed {
            krate: "polars_ops".into(),
            cause: Cause::OomKiller,
            anon_kib: 900 * 1024,
        });
        f.oom_kills = Some(1);
        let lines = explain(&f);
        assert!(
            lines[0].starts_with("the kernel's OOM killer killed rustc compiling polars_ops"),
            "{lines:?}"
        );
        assert!(!lines[0].contains("polars_core"));
        assert_eq!(
            lines.last().unwrap(),
            "cargo-lowmem itself killed rustc compiling polars_core (it held 1.9 GiB when last sampled) to make room, and ran it again alone"
        );
        assert_eq!(Cause::of_status("gave-way"), Some(Cause::Governor));
        assert_eq!(Cause::of_status("oom-killed"), Some(Cause::OomKiller));
        assert_eq!(Cause::of_status("sig9"), Some(Cause::Signal(9)));
        assert_eq!(Cause::of_status("0"), None);
        assert_eq!(Cause::of_status("hit"), None);
    }

    #[test]
    fn nothing_killed_nothing_said() {
        let mut f = facts(Some(3));
        f.killed.clear();
        assert!(explain(&f).is_empty());
        f.killed.push(Killed {
            krate: "x".into(),
            cause: Cause::Signal(11),
            anon_kib: 0,
        });
        assert!(explain(&f).is_empty(), "a crash is not a kill");
    }

    #[test]
    fn counters_prefer_the_cgroup() {
        let before = Counters {
            cgroup: Some(2),
            vmstat: Some(10),
        };
        let after = Counters {
            cgroup: Some(3),
            vmstat: Some(15),
        };
        assert_eq!(after.since(&before), Some(1));
        let before = Counters {
            cgroup: None,
            vmstat: Some(10),
        };
        assert_eq!(after.since(&before), Some(5));
        assert_eq!(Counters::default().since(&Counters::default()), None);
    }
}
