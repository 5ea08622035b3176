//! The governor's decisions, as pure functions over plain data: whether a rustc may start now,
//! and which one gives way when memory runs short anyway. The shell (`governor.rs`) reads the
//! machine and the other wrappers' reservations, and acts.
//!
//! Admission reserves for each running rustc what it is still expected to grow by (its expected
//! peak less what it holds now), so two heavy crates are not started together on the strength
//! of memory neither has taken yet. The oldest running rustc is never held back or killed, so
//! the build always progresses (Buck2's rule); under pressure the newest gives way and is
//! retried alone.

/// A rustc another wrapper (or this one) admitted and that has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// The wrapper's process id.
    pub pid: u32,
    /// The crate it compiles.
    pub krate: String,
    /// When it was admitted, ms since the epoch (orders "oldest" and "newest").
    pub start_ms: u64,
    /// Its expected peak, KiB.
    pub expected_kib: u64,
    /// What its process tree holds now (anonymous), KiB.
    pub current_kib: u64,
    /// A retry that must run alone.
    pub alone: bool,
}

/// A rustc waiting to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The wrapper's process id.
    pub pid: u32,
    /// The crate.
    pub krate: String,
    /// When it started waiting, ms since the epoch.
    pub since_ms: u64,
    /// Its expected peak, KiB.
    pub expected_kib: u64,
    /// A retry that must run alone.
    pub alone: bool,
}

/// What may be used: the free memory now and the margin kept back, KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Free for the build now: the smaller of the cgroup's headroom and available memory (or a
    /// budget the user set, less what the build holds).
    pub free_kib: u64,
    /// Kept free on admission.
    pub margin_kib: u64,
}

/// The decision for one waiting rustc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start it.
    Admit,
    /// Not yet: it waits for this running crate (the one holding the most of what it needs).
    Wait { behind: String },
}

/// What the running rustcs may still grow by, KiB.
pub fn reserved_kib(running: &[Running]) -> u64 {
    running
        .iter()
        .map(|r| r.expected_kib.saturating_sub(r.current_kib))
        .sum()
}

/// Whether `me` may start now. It always may when nothing runs; a retry that must run alone
/// waits for everything, and nothing starts beside it. Otherwise it must fit in what is free
/// after the running rustcs' reservations and the margin, and must not take the room of an
/// older waiter that would fit.
pub fn admit(me: &Waiting, running: &[Running], waiting: &[Waiting], room: Room) -> Decision {
    let heaviest = || {
        running
            .iter()
            .max_by_key(|r| {
                (
                    r.expected_kib.max(r.current_kib),
                    std::cmp::Reverse(r.start_ms),
                )
            })
            .map(|r| r.krate.clone())
            .unwrap_or_default()
    };
    if running.is_empty() {
        return Decision::Admit;
    }
    if me.alone {
        return Decision::Wait { behind: heaviest() };
    }
    if let Some(alone) = running.iter().find(|r| r.alone) {
        return Decision::Wait {
            behind: alone.krate.clone(),
        };
    }
    let left = room
        .free_kib
        .saturating_sub(reserved_kib(running))
        .saturating_sub(room.margin_kib);
    if me.expected_kib > left {
        return Decision::Wait { behind: heaviest() };
    }
    // An older waiter that fits now keeps its place: `me` may go first only beside it.
    let older = waiting
        .iter()
        .filter(|w| w.pid != me.pid && (w.since_ms, w.pid) < (me.since_ms, me.pid))
        .filter(|w| !w.alone && w.expected_kib <= left)
        .min_by_key(|w| (w.since_ms, w.pid));
    if let Some(older) = older {
        if me.expected_kib + older.expected_kib > left {
            return Decision::Wait {
                behind: older.krate.clone(),
            };
        }
    }
    Decision::Admit
}

/// The free memory expected `ahead_ms` from now if it goes on falling as it fell from
/// `before_kib` to `now_kib` over the last `elapsed_ms` (rustc can take a few hundred MiB a
/// second: a check that only looks at what is free now acts after the kernel has). Rising or
/// unknown: what is free now.
pub fn projected_free_kib(
    before_kib: Option<u64>,
    now_kib: u64,
    elapsed_ms: u64,
    ahead_ms: u64,
) -> u64 {
    match before_kib {
        Some(before) if before > now_kib && elapsed_ms > 0 => {
            let fall = (before - now_kib).saturating_mul(ahead_ms) / elapsed_ms;
            now_kib.saturating_sub(fall)
        }
        _ => now_kib,
    }
}

/// Under pressure (less than `kill_margin_kib` free, or the kernel stalling on memory), the
/// rustc that gives way: the newest, never the oldest, and only when two or more run.
pub fn victim(
    running: &[Running],
    free_kib: u64,
    kill_margin_kib: u64,
    stalling: bool,
) -> Option<u32> {
    if running.len() < 2 || (free_kib >= kill_margin_kib && !stalling) {
        return None;
    }
    running
        .iter()
        .max_by_key(|r| (r.start_ms, r.pid))
        .map(|r| r.pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024;

    fn running(pid: u32, krate: &str, start_ms: u64, expected: u64, current: u64) -> Running {
        Running {
            pid,
            krate: krate.into(),
            start_ms,
            expected_kib: expected * MIB,
            current_kib: current * MIB,
            alone: false,
        }
    }

    fn waiting(pid: u32, krate: &str, since_ms: u64, expected: u64) -> Waiting {
        Waiting {
            pid,
            krate: krate.into(),
            since_ms,
            expected_kib: expected * MIB,
            alone: false,
        }
    }

    fn room(free: u64) -> Room {
        Room {
            free_kib: free * MIB,
            margin_kib: 64 * MIB,
        }
    }

    #[test]
    fn nothing_running_always_admits_even_beyond_the_budget() {
        let me = waiting(1, "polars_core", 0, 3000);
        assert_eq!(admit(&me, &[], &[], room(1000)), Decision::Admit);
    }

    #[test]
    fn reservations_count_what_running_crates_have_not_taken_yet() {
        // polars_core expects 2000 and holds 500: 1500 more may come.
        let core = running(1, "polars_core", 0, 2000, 500);
        assert_eq!(reserved_kib(std::slice::from_ref(&core)), 1500 * MIB);
        // 2000 free now: 2000 - 1500 - 64 = 436 left.
        let ops = waiting(2, "polars_ops", 10, 900);
        assert_eq!(
            admit(&ops, std::slice::from_ref(&core), &[], room(2000)),
            Decision::Wait {
                behind: "polars_core".into()
            }
        );
        let small = waiting(3, "itoa", 10, 30);
        assert_eq!(
            admit(&small, std::slice::from_ref(&core), &[], room(2000)),
            Decision::Admit
        );
        // Once core holds what it was expected to, only the margin is kept back.
        let grown = running(1, "polars_core", 0, 2000, 2000);
        assert_eq!(admit(&ops, &[grown], &[], room(1000)), Decision::Admit);
    }

    #[test]
    fn an_older_waiter_that_fits_is_not_overtaken() {
        let core = running(1, "polars_core", 0, 1000, 1000);
        let ops = waiting(2, "polars_ops", 10, 900);
        let io = waiting(3, "polars_io", 20, 600);
        // 1000 left: ops fits, io fits, not both; io came later and waits for ops.
        assert_eq!(
            admit(
                &io,
                std::slice::from_ref(&core),
                &[ops.clone(), io.clone()],
                room(1064)
            ),
            Decision::Wait {
                behind: "polars_ops".into()
            }
        );
        assert_eq!(
            admit(
                &ops,
                std::slice::from_ref(&core),
                &[ops.clone(), io.clone()],
                room(1064)
            ),
            Decision::Admit
        );
        // Both fit: no one waits.
        assert_eq!(
            admit(&io, &[core], &[ops, io.clone()], room(1600)),
            Decision::Admit
        );
    }

    #[test]
    fn a_retry_runs_alone() {
        let core = running(1, "polars_core", 0, 1000, 900);
        let mut retry = waiting(2, "polars_ops", 10, 900);
        retry.alone = true;
        assert_eq!(
            admit(&retry, std::slice::from_ref(&core), &[], room(64_000)),
            Decision::Wait {
                behind: "polars_core".into()
            }
        );
        assert_eq!(admit(&retry, &[], &[], room(10)), Decision::Admit);
        let mut alone = running(2, "polars_ops", 10, 900, 100);
        alone.alone = true;
        let small = waiting(3, "itoa", 20, 1);
        assert_eq!(
            admit(&small, &[alone], &[], room(64_000)),
            Decision::Wait {
                behind: "polars_ops".into()
            }
        );
    }

    #[test]
    fn pressure_kills_the_newest_never_the_oldest() {
        let a = running(10, "polars_core", 100, 2000, 1900);
        let b = running(11, "polars_ops", 200, 900, 800);
        let c = running(12, "itoa", 300, 10, 5);
        assert_eq!(
            victim(
                &[a.clone(), b.clone(), c.clone()],
                10 * MIB,
                32 * MIB,
                false
            ),
            Some(12)
        );
        assert_eq!(
            victim(&[a.clone(), b.clone()], 10 * MIB, 32 * MIB, false),
            Some(11)
        );
        assert_eq!(
            victim(&[a.clone(), b.clone()], 900 * MIB, 32 * MIB, true),
            Some(11)
        );
        assert_eq!(victim(&[a.clone(), b], 900 * MIB, 32 * MIB, false), None);
        assert_eq!(
            victim(&[a], 0, 32 * MIB, true),
            None,
            "the only one runs on"
        );
    }

    #[test]
    fn falling_memory_is_projected_ahead() {
        // 200 MiB free, 100 MiB taken in the last 250 ms: in 300 ms, 80 MiB.
        assert_eq!(
            projected_free_kib(Some(300 * MIB), 200 * MIB, 250, 300),
            80 * MIB
        );
        assert_eq!(projected_free_kib(Some(300 * MIB), 200 * MIB, 100, 300), 0);
        // Rising, unchanged or no earlier reading: what is free now.
        assert_eq!(
            projected_free_kib(Some(100 * MIB), 200 * MIB, 250, 300),
            200 * MIB
        );
        assert_eq!(projected_free_kib(None, 200 * MIB, 250, 300), 200 * MIB);
        assert_eq!(
            projected_free_kib(Some(300 * MIB), 200 * MIB, 0, 300),
            200 * MIB
        );
    }
}
