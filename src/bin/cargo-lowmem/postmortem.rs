//! After a governed build fails: whether the kernel's OOM killer killed a rustc, which crate,
//! how much it held, and what to do. Pure: what was counted and recorded in, lines out. An OOM
//! kill is claimed only when an `oom_kill` counter rose (cargo#6325: SIGKILL has many causes).

/// A rustc that died of a signal during the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Killed {
    /// The crate.
    pub krate: String,
    /// The signal.
    pub signal: u32,
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

/// The post-mortem's lines (each printed as `error:` or `note:`), empty when no rustc was
/// killed.
pub fn explain(facts: &Facts) -> Vec<String> {
    let mut nine: Vec<&Killed> = Vec::new();
    for k in facts.killed.iter().filter(|k| k.signal == 9) {
        // A crate killed twice (and retried alone) is named once, with its larger figure.
        match nine.iter_mut().find(|n| n.krate == k.krate) {
            Some(seen) if seen.anon_kib < k.anon_kib => *seen = k,
            Some(_) => {}
            None => nine.push(k),
        }
    }
    if nine.is_empty() {
        return Vec::new();
    }
    let crates: Vec<String> = nine
        .iter()
        .map(|k| {
            format!(
                "{} (it held {} when last sampled)",
                k.krate,
                gib(k.anon_kib)
            )
        })
        .collect();
    let mut lines = Vec::new();
    match facts.oom_kills {
        Some(n) if n > 0 => {
            lines.push(format!(
                "the kernel's OOM killer killed rustc compiling {} ({n} OOM kill{} counted){}",
                crates.join(", "),
                if n == 1 { "" } else { "s" },
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
        }
        Some(_) => lines.push(format!(
            "rustc compiling {} was killed by SIGKILL, but no OOM kill was counted (memory cgroup, /proc/vmstat): something other than the OOM killer killed it",
            crates.join(", ")
        )),
        None => lines.push(format!(
            "rustc compiling {} was killed by SIGKILL; whether the OOM killer did it is unknown (no oom_kill counter could be read)",
            crates.join(", ")
        )),
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
                signal: 9,
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
        let other = explain(&facts(Some(0)));
        assert!(other[0].contains("no OOM kill was counted"), "{other:?}");
        assert_eq!(other.len(), 1);
        assert!(explain(&facts(None))[0].contains("unknown"));
    }

    #[test]
    fn nothing_killed_nothing_said() {
        let mut f = facts(Some(3));
        f.killed.clear();
        assert!(explain(&f).is_empty());
        f.killed.push(Killed {
            krate: "x".into(),
            signal: 11,
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
