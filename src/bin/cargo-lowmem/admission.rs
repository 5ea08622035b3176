//! The governor's decisions, as pure functions over plain data: whether a rustc may start now,
//! and what a running one does when memory runs short anyway. The shell (`governor.rs`) reads
//! the machine and the other wrappers' entries, and acts.
//!
//! Admission reserves for each running rustc what it is still expected to grow by (its expected
//! peak less what it holds now; a quarter more of what it holds once it is past its expected
//! peak, which was wrong), so two heavy crates are not started together on the strength of
//! memory neither has taken yet. The oldest running rustc is never held back, stopped or killed,
//! so the build always progresses (Buck2's rule). When memory gets tight anyway, the newest gives
//! way: first it is stopped where it is (SIGSTOP: no work lost, no memory freed) and nothing new
//! starts; it resumes when everything older has finished or when it fits again. When memory is
//! about to run out, stopping is not enough: the newest rustcs are killed, as many as it takes,
//! and retried alone. Killing is safe at any moment of a rustc's life: its rerun's artifact
//! notices are not passed on again (`replay.rs`), and rustc writes its `.rmeta` and `.rlib` under
//! other names and renames them into place, so dependents already reading them keep the same
//! file.

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
    /// Stopped by the governor to make room.
    pub stopped: bool,
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

/// What one running rustc may still grow by, KiB: what it was expected to take and has not yet;
/// past its expected peak (the figure was wrong), a quarter of what it holds.
pub fn growth_kib(r: &Running) -> u64 {
    if r.current_kib > r.expected_kib {
        r.current_kib / 4
    } else {
        r.expected_kib - r.current_kib
    }
}

/// What the running rustcs may still grow by, KiB.
pub fn reserved_kib(running: &[Running]) -> u64 {
    running.iter().map(growth_kib).sum()
}

/// Whether `me` may start now. It always may when nothing runs; nothing starts while a rustc
/// is stopped to make room; a retry that must run alone waits for everything, nothing that came
/// after it starts before it, and nothing starts beside it. Otherwise it must fit in what is free after the running rustcs' reservations and
/// the margin, and must not take the room of an older waiter that would fit.
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
    if let Some(stopped) = running.iter().find(|r| r.stopped) {
        return Decision::Wait {
            behind: stopped.krate.clone(),
        };
    }
    if me.alone {
        return Decision::Wait { behind: heaviest() };
    }
    // A retry that must run alone and came first goes first: nothing newer starts, so that what
    // runs drains and it gets its turn (else a steady stream of crates would starve it).
    if let Some(alone) = waiting
        .iter()
        .filter(|w| w.alone && w.pid != me.pid && (w.since_ms, w.pid) < (me.since_ms, me.pid))
        .min_by_key(|w| (w.since_ms, w.pid))
    {
        return Decision::Wait {
            behind: alone.krate.clone(),
        };
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

/// What one pressure check sees, KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pressure {
    /// Free memory projected to the next close check (about 100 ms ahead).
    pub soon_free_kib: u64,
    /// Free memory projected to the next relaxed check (about 300 ms ahead).
    pub later_free_kib: u64,
    /// For a stopped rustc: the least free memory seen since it stopped, while the same rustcs
    /// ran (page cache comes and goes; what is free only for a moment is not room to resume
    /// into). Otherwise as `later_free_kib`.
    pub settled_free_kib: u64,
    /// Under this (soon), rustcs are killed.
    pub kill_margin_kib: u64,
    /// Under this (later), the newest is stopped.
    pub stop_margin_kib: u64,
    /// Kept free when a stopped rustc resumes beside others.
    pub margin_kib: u64,
    /// The kernel is stalling tasks on memory (PSI), which counts as running out only while
    /// memory is tight too.
    pub stalling: bool,
}

/// What a rustc does after a pressure check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Go on as it is (running, or stopped).
    Continue,
    /// Stop where it is (SIGSTOP), holding its memory.
    Stop,
    /// Resume (SIGCONT).
    Resume,
    /// Kill it now, to be retried alone.
    Kill,
}

/// The order of age: admitted first is oldest; the wrapper's pid breaks ties.
fn age(r: &Running) -> (u64, u32) {
    (r.start_ms, r.pid)
}

/// Which rustcs to kill when memory is about to run out: the newest first, as many as it takes
/// to free `deficit_kib`, never the oldest. Empty when only one runs.
pub fn victims(running: &[Running], deficit_kib: u64) -> Vec<u32> {
    let mut by_age: Vec<&Running> = running.iter().collect();
    by_age.sort_by_key(|r| age(r));
    let mut out = Vec::new();
    let mut freed = 0;
    for r in by_age.iter().skip(1).rev() {
        if freed >= deficit_kib && !out.is_empty() {
            break;
        }
        out.push(r.pid);
        freed += r.current_kib;
    }
    out
}

/// What the rustc of wrapper `me` does now. `can_stop` says whether it may be stopped (its
/// wrapper started it and it will die with the wrapper); one that cannot is only ever killed.
pub fn give_way(me: u32, running: &[Running], p: &Pressure, can_stop: bool) -> Action {
    let Some(mine) = running.iter().find(|r| r.pid == me) else {
        return Action::Continue;
    };
    let oldest = running.iter().min_by_key(|r| age(r)).map(|r| r.pid);
    if oldest == Some(me) {
        // The oldest always runs.
        return if mine.stopped {
            Action::Resume
        } else {
            Action::Continue
        };
    }
    let running_out =
        p.soon_free_kib < p.kill_margin_kib || (p.stalling && p.later_free_kib < p.stop_margin_kib);
    if running_out {
        // Enough that the kill margin is free again, and at least one.
        let deficit = p.kill_margin_kib.saturating_sub(p.soon_free_kib);
        if victims(running, deficit).contains(&me) {
            return Action::Kill;
        }
        return Action::Continue;
    }
    if mine.stopped {
        // The oldest stopped one resumes first, when it fits beside the others' growth with
        // the margin, counting that it may grow as much again as it holds.
        let older_stopped = running
            .iter()
            .any(|r| r.stopped && r.pid != me && age(r) < age(mine));
        let others: u64 = running
            .iter()
            .filter(|r| r.pid != me && !r.stopped)
            .map(growth_kib)
            .sum();
        let needs = growth_kib(mine).max(mine.current_kib);
        let left = p
            .settled_free_kib
            .min(p.later_free_kib)
            .saturating_sub(others)
            .saturating_sub(p.margin_kib);
        if !older_stopped && needs <= left {
            return Action::Resume;
        }
        return Action::Continue;
    }
    if p.later_free_kib < p.stop_margin_kib && can_stop {
        let newest_running = running
            .iter()
            .filter(|r| !r.stopped)
            .max_by_key(|r| age(r))
            .map(|r| r.pid);
        if newest_running == Some(me) {
            return Action::Stop;
        }
    }
    Action::Continue
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
            stopped: false,
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

    /// Free memory as the next checks would see it, with 32 MiB to kill and 128 to stop at.
    fn pressure(soon: u64, later: u64) -> Pressure {
        Pressure {
            soon_free_kib: soon * MIB,
            later_free_kib: later * MIB,
            settled_free_kib: later * MIB,
            kill_margin_kib: 32 * MIB,
            stop_margin_kib: 128 * MIB,
            margin_kib: 64 * MIB,
            stalling: false,
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
        // Past its expected peak the figure was wrong: a quarter more of what it holds.
        let over = running(1, "polars_core", 0, 600, 2000);
        assert_eq!(reserved_kib(&[over]), 500 * MIB);
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
    fn a_waiting_retry_is_not_overtaken_by_newer_crates() {
        let core = running(1, "polars_core", 0, 1000, 900);
        let mut retry = waiting(2, "polars_ops", 10, 900);
        retry.alone = true;
        let newer = waiting(3, "itoa", 20, 1);
        let older = waiting(4, "serde", 5, 1);
        let all = [retry.clone(), newer.clone(), older.clone()];
        assert_eq!(
            admit(&newer, std::slice::from_ref(&core), &all, room(64_000)),
            Decision::Wait {
                behind: "polars_ops".into()
            }
        );
        // One that was waiting before the retry still goes.
        assert_eq!(
            admit(&older, std::slice::from_ref(&core), &all, room(64_000)),
            Decision::Admit
        );
        // Once nothing runs, the retry starts.
        assert_eq!(admit(&retry, &[], &all, room(10)), Decision::Admit);
    }

    #[test]
    fn nothing_starts_while_one_is_stopped() {
        let core = running(1, "polars_core", 0, 1000, 900);
        let mut ops = running(2, "polars_ops", 10, 300, 700);
        ops.stopped = true;
        let small = waiting(3, "itoa", 20, 1);
        assert_eq!(
            admit(&small, &[core, ops], &[], room(64_000)),
            Decision::Wait {
                behind: "polars_ops".into()
            }
        );
    }

    #[test]
    fn tight_memory_stops_the_newest_never_the_oldest() {
        let a = running(10, "cranelift_codegen", 100, 300, 500);
        let b = running(11, "tantivy", 200, 300, 400);
        let c = running(12, "itoa", 300, 10, 5);
        let all = [a.clone(), b.clone(), c.clone()];
        // 100 MiB free: under the stop margin, above the kill margin.
        let p = pressure(100, 100);
        assert_eq!(give_way(12, &all, &p, true), Action::Stop);
        assert_eq!(give_way(11, &all, &p, true), Action::Continue);
        assert_eq!(give_way(10, &all, &p, true), Action::Continue);
        // One that cannot be stopped (behind sccache) runs on until memory runs out.
        assert_eq!(give_way(12, &all, &p, false), Action::Continue);
        // With the newest stopped and memory still tight, the next newest is stopped too.
        let mut stopped = c.clone();
        stopped.stopped = true;
        let all = [a.clone(), b.clone(), stopped.clone()];
        assert_eq!(give_way(11, &all, &p, true), Action::Stop);
        assert_eq!(give_way(12, &all, &p, true), Action::Continue);
        // Plenty free: nothing happens to the running.
        let p = pressure(2000, 2000);
        assert_eq!(give_way(11, &all, &p, true), Action::Continue);
        // Alone, even out of memory, it runs on.
        assert_eq!(
            give_way(10, std::slice::from_ref(&a), &pressure(0, 0), true),
            Action::Continue
        );
    }

    #[test]
    fn running_out_kills_the_newest_as_many_as_it_takes() {
        let a = running(10, "polars_core", 100, 2000, 1900);
        let b = running(11, "polars_ops", 200, 900, 800);
        let c = running(12, "itoa", 300, 10, 5);
        let all = [a.clone(), b.clone(), c.clone()];
        // 10 MiB free soon, 22 short of the kill margin: itoa frees too little, ops goes too.
        let p = pressure(10, 10);
        assert_eq!(victims(&all, 22 * MIB), vec![12, 11]);
        assert_eq!(give_way(12, &all, &p, true), Action::Kill);
        assert_eq!(give_way(11, &all, &p, true), Action::Kill);
        assert_eq!(give_way(10, &all, &p, true), Action::Continue);
        // A little short: the newest alone.
        assert_eq!(victims(&all, 1), vec![12]);
        assert_eq!(victims(&all[..1], 1_000_000), Vec::<u32>::new());
        // A stopped one is killed like any other (it frees what it holds).
        let mut stopped = b.clone();
        stopped.stopped = true;
        assert_eq!(
            give_way(11, &[a.clone(), stopped], &pressure(0, 0), true),
            Action::Kill
        );
        // The kernel stalling on memory counts while memory is tight, not with room to spare.
        let mut p = pressure(100, 100);
        p.stalling = true;
        assert_eq!(
            give_way(11, &[a.clone(), b.clone()], &p, true),
            Action::Kill
        );
        let mut p = pressure(900, 900);
        p.stalling = true;
        assert_eq!(give_way(11, &[a, b], &p, true), Action::Continue);
    }

    #[test]
    fn a_stopped_rustc_resumes_when_it_is_the_oldest_or_fits() {
        let a = running(10, "cranelift_codegen", 100, 600, 500);
        let mut b = running(11, "tantivy", 200, 300, 400);
        b.stopped = true;
        // a may grow by 100; b may grow as much as it holds (400): 500 free is not enough with
        // the 64 margin, 1000 is.
        assert_eq!(
            give_way(11, &[a.clone(), b.clone()], &pressure(500, 500), true),
            Action::Continue
        );
        assert_eq!(
            give_way(11, &[a.clone(), b.clone()], &pressure(1000, 1000), true),
            Action::Resume
        );
        // 1000 free now, but only 500 at a check since it stopped: it stays stopped.
        let mut p = pressure(1000, 1000);
        p.settled_free_kib = 500 * MIB;
        assert_eq!(
            give_way(11, &[a.clone(), b.clone()], &p, true),
            Action::Continue
        );
        // a finished: b is the oldest and resumes, however little is free.
        assert_eq!(
            give_way(11, std::slice::from_ref(&b), &pressure(50, 50), true),
            Action::Resume
        );
        // Two stopped: the older resumes first.
        let mut c = running(12, "image", 300, 100, 100);
        c.stopped = true;
        let all = [a, b, c];
        assert_eq!(
            give_way(12, &all, &pressure(5000, 5000), true),
            Action::Continue
        );
        assert_eq!(
            give_way(11, &all, &pressure(5000, 5000), true),
            Action::Resume
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
