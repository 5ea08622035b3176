//! `cargo-lowmem` as cargo's `RUSTC_WRAPPER`: runs rustc (or the wrapper it chains), measures
//! its peaks and appends them to the store; under `cargo lowmem build` it also waits for memory
//! before starting rustc, and gives way under pressure: stopped while memory is tight, killed
//! and retried alone when it runs out. Behind sccache it measures and acts on the rustc the
//! sccache server runs (`behind.rs`). Whatever goes wrong in the measuring or the coordination,
//! rustc runs and its exit status is the wrapper's.

use crate::admission::Action;
use crate::behind::Wanted;
use crate::fault::Fault;
use crate::governor::{Governor, Slot, MAX_STOPPED};
use crate::replay::Replay;
use crate::sample;
use crate::sys;
use crate::unit::Unit;
use lowmem_build::store::{self, Record};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where records go when set: a store file path (the calibration script and tests use it).
pub const STORE_VAR: &str = "LOWMEM_BUILD_STORE";
/// A wrapper to run rustc through (sccache), chained behind this one.
pub const INNER_VAR: &str = "LOWMEM_BUILD_INNER_WRAPPER";
/// The sampling interval's upper bound in ms (default 50).
pub const SAMPLE_VAR: &str = "LOWMEM_BUILD_SAMPLE_MS";
/// Set by `cargo lowmem build --report`: the directory each rustc run's memory timeline is
/// written to (one file per run, in the format of `timeline.rs`).
pub const TIMELINE_VAR: &str = "LOWMEM_BUILD_TIMELINE";
/// The timeline keeps a sample at most this often (ms).
const TIMELINE_EVERY_MS: u64 = crate::timeline::STEP_MS;
/// How often a running rustc checks whether it must give way.
const PRESSURE_EVERY: Duration = Duration::from_millis(250);
/// How often, at most, when memory is close to running out (ms).
const CLOSE_EVERY_MS: u64 = 50;
/// How long rustc's stderr may stay open after it exited (held by a process it started).
const FORWARD_GRACE: Duration = Duration::from_secs(5);

/// Runs `rustc` with `args` as cargo asked, measured (and governed under `cargo lowmem`).
/// Returns the exit code to exit with.
pub fn run(rustc: OsString, args: Vec<OsString>) -> i32 {
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let inner = std::env::var_os(INNER_VAR).filter(|w| !w.is_empty());
    let command = || {
        let mut command = match &inner {
            Some(inner) => {
                let mut c = Command::new(inner);
                // The inner wrapper runs rustc itself; it must not chain again.
                c.arg(&rustc).env_remove(INNER_VAR);
                c
            }
            None => Command::new(&rustc),
        };
        command.args(&args);
        command
    };
    let Some(unit) = Unit::from_args(&text) else {
        return pass_through(command());
    };
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let (package, version) = (env("CARGO_PKG_NAME"), env("CARGO_PKG_VERSION"));
    let governor = Governor::from_env().or_else(|| {
        let out_dir = unit.out_dir.as_deref()?;
        Governor::implicit(&target_dir(out_dir, &unit.profile, &unit.target)?)
    });
    if let Some(code) = governor
        .as_ref()
        .and_then(|g| check_rules(g, &unit, &package, &version))
    {
        return code;
    }
    let expected = governor.as_ref().map_or(0, |g| {
        g.expected_for(&package, &version, unit.part(), || {
            measured_kib(&unit, &package, &version)
        })
    });
    // Behind a wrapper such as sccache, rustc may run elsewhere: it is looked for by its
    // arguments.
    let wanted = inner.as_ref().and_then(|_| Wanted::of(&unit));
    let watch = Watch {
        wanted: wanted.as_ref(),
        rmeta: format!("lib{}{}.rmeta", unit.krate, unit.extra_filename),
        can_stop: inner.is_none(),
    };
    let replay = Arc::new(Replay::default());
    let mut fault = Fault::from_env(&unit.krate);
    let mut alone = false;
    loop {
        let mut slot = governor
            .as_ref()
            .and_then(|g| g.admit(&unit.krate, expected, alone));
        let kills_before = oom_kills();
        replay.next_run();
        let outcome = match run_once(command(), slot.as_mut(), &replay, &watch, &mut fault) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!(
                    "error: cargo-lowmem: could not run `{}`: {e}",
                    rustc.to_string_lossy()
                );
                return 1;
            }
        };
        drop(slot);
        // Behind sccache's server the client fails when its rustc is killed; it is not killed.
        let killed =
            signal(outcome.status) == Some(9) || (outcome.external && !outcome.status.success());
        let ended = if outcome.gave_way && !outcome.status.success() {
            Ended::GaveWay
        } else if killed && oom_kills() > kills_before {
            Ended::OomKilled
        } else if wanted.is_some() && !outcome.found && outcome.status.success() {
            Ended::CacheHit
        } else {
            Ended::Exited
        };
        if let Some(path) = store_path(&unit) {
            let record = record(&unit, &outcome, ended);
            if let Err(e) = store::append(&path, &record) {
                if std::env::var_os("LOWMEM_BUILD_DEBUG").is_some() {
                    eprintln!("cargo-lowmem: cannot write {}: {e}", path.display());
                }
            }
            // Always on, no `cargo lowmem` parent compacts the store after the build: past its
            // size limit (one stat below it), the wrapper that crosses it does.
            if governor.as_ref().is_some_and(Governor::is_implicit) {
                let _ = store::compact(&path, crate::governed::STORE_KEEP);
            }
        }
        if let Some(dir) = std::env::var_os(TIMELINE_VAR) {
            write_timeline(
                Path::new(&dir),
                &unit,
                &package,
                &version,
                expected,
                &outcome,
                ended,
            );
        }
        if let Some(g) = governor.as_ref() {
            if ended == Ended::OomKilled {
                g.event(
                    "oom-killed",
                    &unit.krate,
                    &format!("{} KiB at its last sample", outcome.anon_kib),
                );
            }
            // The governor's own kill is always run again (it must never fail the build); an
            // OOM kill once, alone.
            if ended == Ended::GaveWay || (ended == Ended::OomKilled && !alone) {
                alone = true;
                let when = if outcome.announced {
                    "after its metadata was announced"
                } else {
                    "before its metadata was announced"
                };
                g.event(
                    "retrying",
                    &unit.krate,
                    &if ended == Ended::GaveWay {
                        format!("killed to make room ({when}); again, alone")
                    } else {
                        "OOM-killed; again, alone".to_string()
                    },
                );
                continue;
            }
        }
        return exit_code(outcome.status);
    }
}

/// How one run of rustc ended, as the store records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// It exited (or died) on its own: the store records its exit code or signal.
    Exited,
    /// The governor killed it to make room (it is retried alone): `gave-way`.
    GaveWay,
    /// It died of SIGKILL while the kernel counted an OOM kill: `oom-killed`.
    OomKilled,
    /// Behind sccache, no rustc ran: the artifacts came from the cache: `hit`.
    CacheHit,
}

/// Writes this rustc run's memory timeline for the report (nothing when it cannot).
fn write_timeline(
    dir: &Path,
    unit: &Unit,
    package: &str,
    version: &str,
    expected_kib: u64,
    outcome: &Outcome,
    ended: Ended,
) {
    let run = crate::timeline::UnitRun {
        krate: unit.krate.clone(),
        package: package.to_string(),
        version: version.to_string(),
        kind: unit.kind.clone(),
        start_ms: outcome.start_ms,
        end_ms: outcome.start_ms + outcome.wall_ms,
        expected_kib,
        peak_anon_kib: outcome.anon_kib,
        max_rss_kib: outcome.usage.max_rss_kib,
        status: status_text(outcome.status, ended),
        wrapper_cpu_ms: sys::own_cpu_ms().unwrap_or(0),
        sampler_cpu_us: outcome.sampler_us,
        rustc_cpu_ms: outcome.usage.cpu_ms,
        samples: outcome.samples.clone(),
    };
    let name = format!("{}-{}.tsv", std::process::id(), outcome.start_ms);
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(name), crate::timeline::render_unit(&run));
}

/// The largest anonymous peak the store holds for this crate with these settings.
fn measured_kib(unit: &Unit, package: &str, version: &str) -> Option<u64> {
    let path = store_path(unit)?;
    store::read(&path)
        .iter()
        .filter(|r| {
            r.succeeded()
                && r.package == package
                && r.version == version
                && r.kind == unit.kind
                && r.opt == unit.opt
                && r.debuginfo == unit.debuginfo
        })
        .map(|r| r.anon_kib)
        .max()
}

/// The feature rules against this crate's features, before it compiles: a broken rule is an
/// event (and a warning); in deny mode (`LOWMEM_BUILD=deny`) the crate is not compiled and the
/// returned code fails the build.
fn check_rules(governor: &Governor, unit: &Unit, package: &str, version: &str) -> Option<i32> {
    let broken = crate::rules::broken(governor.dir(), &unit.krate, &unit.features);
    if broken.is_empty() {
        return None;
    }
    let deny = std::env::var("LOWMEM_BUILD").is_ok_and(|p| p.trim().eq_ignore_ascii_case("deny"));
    for b in &broken {
        let line = crate::rules::describe(package, b);
        governor.event("feature-rule", &unit.krate, &line);
        if deny {
            eprintln!("error: cargo-lowmem: feature rule broken: {line}; stopped before it compiles (LOWMEM_BUILD=deny)");
            if let Some(workspace) = governor.workspace_manifest() {
                let who = crate::rules::who_enabled(&workspace, package, version, &b.features);
                if !who.is_empty() {
                    eprintln!("note: cargo-lowmem: who turned them on (cargo tree -e features -i {package}):");
                    for line in who {
                        eprintln!("    {line}");
                    }
                }
            }
        }
    }
    deny.then_some(101)
}

/// What one run of rustc did.
struct Outcome {
    /// The exit status of the process the wrapper ran (rustc, or the wrapper it chains).
    status: ExitStatus,
    start_ms: u64,
    wall_ms: u64,
    anon_kib: u64,
    usage: sys::ChildUsage,
    /// The governor killed it to make room.
    gave_way: bool,
    /// Its metadata notice had reached cargo when it ended (in this run or an earlier one).
    announced: bool,
    /// rustc ran outside the wrapper's own process tree (behind sccache's server).
    external: bool,
    /// Behind another wrapper: rustc was found at all.
    found: bool,
    /// Its memory over time, under `cargo lowmem build --report`.
    samples: Vec<crate::timeline::Sample>,
    /// CPU time of the sampler thread (sampling and pressure checks), µs.
    sampler_us: u64,
}

/// How the wrapper watches its rustc.
struct Watch<'a> {
    /// Behind another wrapper: rustc's arguments, to find it by.
    wanted: Option<&'a Wanted>,
    /// The crate's `.rmeta` file name, which its dependents read.
    rmeta: String,
    /// Whether this rustc may be stopped: only the wrapper's own child, which dies with it.
    can_stop: bool,
}

/// Runs rustc once: its stderr passed on (`replay.rs`), its process tree sampled, and, holding
/// a slot, checked for having to give way: stopped, resumed or killed as the governor decides
/// (or as an injected fault says).
fn run_once(
    mut command: Command,
    slot: Option<&mut Slot<'_>>,
    replay: &Arc<Replay>,
    watch: &Watch<'_>,
    fault: &mut Option<Fault>,
) -> std::io::Result<Outcome> {
    let start_ms = crate::governor::now_ms();
    let started = Instant::now();
    // getrusage's figures for children add up over every child waited for: an earlier run of
    // this rustc (killed to make room) is taken out of the CPU time; the peak resident set is
    // the largest of all, so after an earlier run the sampled peak stands in for it.
    let before = sys::children().unwrap_or_default();
    let dies_with_us = watch.can_stop && sys::die_with_parent(&mut command);
    let mut child = command.stderr(Stdio::piped()).spawn()?;
    let pid = child.id();
    let mut slot = slot;
    if let Some(slot) = slot.as_mut() {
        slot.set_child(pid);
    }
    // A thread of its own, not scoped: a process that inherited rustc's stderr and outlives it
    // (a daemon an inner wrapper starts) must not keep the wrapper waiting.
    let (forwarded, forwarding) = std::sync::mpsc::channel::<()>();
    if let Some(stderr) = child.stderr.take() {
        let replay = Arc::clone(replay);
        std::thread::spawn(move || {
            replay.forward(stderr, std::io::stderr());
            let _ = forwarded.send(());
        });
    } else {
        drop(forwarded);
    }
    let done = AtomicBool::new(false);
    let keep_timeline = std::env::var_os(TIMELINE_VAR).is_some();
    let (status, watched) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut watcher = Watcher::new(pid, watch, dies_with_us, keep_timeline);
            let watched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                watcher.watch(&done, slot, replay, fault)
            }));
            if watched.is_err() && watcher.stopped.is_some() {
                // Our own logic failed with rustc stopped: it runs on as if we were not there
                // (else the wait below would never end).
                signal_tree(watcher.root, sys::Signal::Cont);
            }
            watcher
        });
        let status = child.wait();
        done.store(true, Ordering::Relaxed);
        sampler.thread().unpark();
        let watched = sampler.join().ok();
        (status, watched)
    });
    let _ = forwarding.recv_timeout(FORWARD_GRACE);
    let status = status?;
    let watched = watched.unwrap_or_else(|| Watcher::new(pid, watch, false, false));
    let after = sys::children().unwrap_or_default();
    let usage = if watched.external {
        // The figures of what the wrapper waited for are the intermediary's, not rustc's.
        sys::ChildUsage {
            max_rss_kib: watched.rss_peak,
            cpu_ms: watched.external_cpu_ms,
            cpu_us: watched.external_cpu_ms * 1000,
        }
    } else {
        let cpu_us = after.cpu_us.saturating_sub(before.cpu_us);
        sys::ChildUsage {
            max_rss_kib: if before.max_rss_kib > 0 {
                watched.rss_peak
            } else {
                after.max_rss_kib
            },
            cpu_ms: cpu_us / 1000,
            cpu_us,
        }
    };
    Ok(Outcome {
        status,
        start_ms,
        wall_ms: started.elapsed().as_millis() as u64,
        anon_kib: watched.peak,
        usage,
        gave_way: watched.gave_way,
        announced: replay.metadata_announced(),
        external: watched.external,
        found: watched.found_at.is_some(),
        samples: watched.samples,
        sampler_us: watched.sampler_us,
    })
}

/// The sampler thread's state: what it measured and what it did.
struct Watcher<'w> {
    watch: &'w Watch<'w>,
    /// The root of the sampled tree: the wrapper's child, or rustc found elsewhere.
    root: u32,
    tree: sample::Tree,
    /// When rustc was found (the start, unless it runs behind another wrapper).
    found_at: Option<Instant>,
    /// rustc is not in the wrapper's own tree (sccache's server runs it).
    external: bool,
    /// It may be stopped: the wrapper's own child, made to die with it.
    can_stop: bool,
    keep_timeline: bool,
    peak: u64,
    rss_peak: u64,
    external_cpu_ms: u64,
    gave_way: bool,
    stopped: Option<Instant>,
    samples: Vec<crate::timeline::Sample>,
    sampler_us: u64,
}

impl<'w> Watcher<'w> {
    fn new(pid: u32, watch: &'w Watch<'w>, can_stop: bool, keep_timeline: bool) -> Watcher<'w> {
        Watcher {
            watch,
            root: pid,
            tree: sample::Tree::new(pid),
            found_at: watch.wanted.is_none().then(Instant::now),
            external: false,
            can_stop,
            keep_timeline,
            peak: 0,
            rss_peak: 0,
            external_cpu_ms: 0,
            gave_way: false,
            stopped: None,
            samples: Vec::new(),
            sampler_us: 0,
        }
    }

    /// Samples until `done`, giving way when the governor (or a fault) says.
    fn watch(
        &mut self,
        done: &AtomicBool,
        mut slot: Option<&mut Slot<'_>>,
        replay: &Replay,
        fault: &mut Option<Fault>,
    ) {
        let max_interval = std::env::var(SAMPLE_VAR)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .unwrap_or(50);
        // Short at first, so that a rustc of a few milliseconds is seen at all.
        let mut interval = 2;
        let mut checked = Instant::now();
        let mut history = crate::governor::History::default();
        let mut close = false;
        let mut count: u32 = 0;
        let mut notice: Option<Instant> = None;
        while !done.load(Ordering::Relaxed) {
            let find = count % sample::FIND_EVERY == 0 || fault.is_some();
            count = count.wrapping_add(1);
            let memory = self.tree.sample(find);
            if self.found_at.is_none() {
                self.look_behind(slot.as_deref_mut());
            }
            if self.external {
                if let Some(cpu) = sample::cpu_ms(self.root) {
                    self.external_cpu_ms = cpu;
                }
            }
            self.peak = self.peak.max(memory.anon_kib);
            self.rss_peak = self.rss_peak.max(memory.rss_kib);
            if self.keep_timeline {
                let now = crate::governor::now_ms();
                if self
                    .samples
                    .last()
                    .map_or(true, |s| now >= s.t_ms + TIMELINE_EVERY_MS)
                {
                    self.samples.push(crate::timeline::Sample {
                        t_ms: now,
                        rss_kib: memory.rss_kib,
                        anon_kib: memory.anon_kib,
                        children_rss_kib: memory.children_rss_kib,
                    });
                }
            }
            if notice.is_none() && replay.metadata_announced() {
                notice = Some(Instant::now());
            }
            // Behind a wrapper, until rustc is found there is nothing to act on: the client
            // holds a few MiB, and killing it would leave sccache's compile running.
            let found = self.found_at.is_some();
            let mut action = fault.as_mut().filter(|_| found).and_then(|f| {
                let dependent = f.moment == crate::fault::Moment::Dependent
                    && notice.is_some()
                    && crate::behind::reading(&self.watch.rmeta, &self.tree.pids());
                f.due(&crate::fault::Seen {
                    running: self.found_at.map_or(Duration::ZERO, |at| at.elapsed()),
                    since_notice: notice.map(|n| n.elapsed()),
                    linking: self.tree.has_descendants(),
                    dependent,
                })
            });
            let forced = action.is_some();
            if let Some(slot) = slot.as_deref() {
                if action.is_none()
                    && found
                    && (close || self.stopped.is_some() || checked.elapsed() >= PRESSURE_EVERY)
                {
                    checked = Instant::now();
                    // Never stopped while it links: a linker left stopped if the wrapper died
                    // would hold its memory for ever (rustc dies with the wrapper; its children
                    // do not).
                    let can_stop = self.can_stop && sample::children(self.root).is_empty();
                    let (decided, tight) = slot.check(&mut history, can_stop);
                    close = tight;
                    action = Some(decided);
                    if self.stopped.is_some_and(|at| at.elapsed() > MAX_STOPPED) {
                        action = Some(Action::Resume);
                    }
                }
            }
            if let Some(action) = action {
                self.act(action, forced, slot.as_deref_mut());
            }
            let wait = if close || self.stopped.is_some() {
                interval.min(CLOSE_EVERY_MS)
            } else {
                interval
            };
            std::thread::park_timeout(Duration::from_millis(wait));
            interval = (interval * 2).min(max_interval);
        }
        if self.stopped.is_some() {
            // The child ended while stopped (killed from outside): nothing to resume.
            self.stopped = None;
        }
        self.sampler_us = sys::thread_cpu_us().unwrap_or(0);
    }

    /// Behind another wrapper: finds rustc in the wrapper's own tree (sccache runs an
    /// incremental compile itself), else anywhere (sccache's server runs it).
    fn look_behind(&mut self, slot: Option<&mut Slot<'_>>) {
        let Some(wanted) = self.watch.wanted else {
            return;
        };
        let own = sample::descendants(self.root);
        if wanted.among(&own).is_some() {
            self.found_at = Some(Instant::now());
        } else if let Some(pid) = wanted.anywhere(&own) {
            self.found_at = Some(Instant::now());
            self.external = true;
            self.root = pid;
            self.tree = sample::Tree::new(pid);
            // What was sampled so far was the client's, not rustc's.
            self.peak = 0;
            self.rss_peak = 0;
            self.samples.clear();
            if let Some(slot) = slot {
                slot.set_child(pid);
            }
        }
    }

    /// Carries out a decision on the sampled tree.
    fn act(&mut self, action: Action, forced: bool, slot: Option<&mut Slot<'_>>) {
        match action {
            Action::Continue => {}
            Action::Kill if !self.gave_way => {
                self.gave_way = true;
                signal_tree(self.root, sys::Signal::Kill);
            }
            Action::Stop if self.stopped.is_none() && (self.can_stop || forced) => {
                signal_tree(self.root, sys::Signal::Stop);
                self.stopped = Some(Instant::now());
                if let Some(slot) = slot {
                    slot.set_stopped(true);
                    let when = match slot.oldest_other() {
                        Some(oldest) => format!("when {oldest} finishes or memory allows"),
                        None => "when memory allows".to_string(),
                    };
                    slot.governor().event(
                        "stopped",
                        slot.krate(),
                        &format!(
                            "~{} KiB held; memory is short: resumes {when}",
                            sample::tree_anon_kib(self.root)
                        ),
                    );
                }
            }
            Action::Resume if self.stopped.is_some() => {
                signal_tree(self.root, sys::Signal::Cont);
                let held = self.stopped.take().map_or(0, |at| at.elapsed().as_millis());
                if let Some(slot) = slot {
                    slot.set_stopped(false);
                    slot.governor().event(
                        "resumed",
                        slot.krate(),
                        &format!("after {:.1} s", held as f64 / 1000.0),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Sends `signal` to `pid` and every process under it (the linker too, so that its memory goes
/// or stays with rustc's), the deepest first.
fn signal_tree(pid: u32, signal: sys::Signal) {
    for p in sample::descendants(pid).into_iter().rev() {
        sys::send(p, signal);
    }
}

/// The kernel's count of OOM kills (`oom_kill` in /proc/vmstat, which memory cgroups' kills
/// raise too); 0 when unreadable.
fn oom_kills() -> u64 {
    std::fs::read_to_string("/proc/vmstat")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs a probe (`rustc -vV`, `--print`) unmeasured: replaced by it on Unix.
fn pass_through(mut command: Command) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = command.exec();
        eprintln!("error: cargo-lowmem: could not run rustc: {e}");
        1
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => exit_code(status),
        Err(e) => {
            eprintln!("error: cargo-lowmem: could not run rustc: {e}");
            1
        }
    }
}

fn signal(status: ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal()
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| signal(status).map(|s| 128 + s))
        .unwrap_or(1)
}

/// The store's `status`: the exit code, `sig<N>`, or how the governor saw it end.
fn status_text(status: ExitStatus, ended: Ended) -> String {
    match ended {
        Ended::GaveWay => return "gave-way".into(),
        Ended::OomKilled => return "oom-killed".into(),
        Ended::CacheHit => return "hit".into(),
        Ended::Exited => {}
    }
    match (status.code(), signal(status)) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("sig{signal}"),
        (None, None) => "-".into(),
    }
}

fn record(unit: &Unit, outcome: &Outcome, ended: Ended) -> Record {
    let out_kib = unit
        .outputs()
        .iter()
        .find_map(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len() / 1024);
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let mut r = Record::default();
    r.start_ms = outcome.start_ms;
    r.krate = unit.krate.clone();
    r.package = env("CARGO_PKG_NAME");
    r.version = env("CARGO_PKG_VERSION");
    r.kind = unit.kind.clone();
    r.target = unit.target.clone();
    r.profile = unit.profile.clone();
    r.opt = unit.opt.clone();
    r.debuginfo = unit.debuginfo.clone();
    r.cgu = unit.cgu.clone();
    r.emit = unit.emit.clone();
    r.anon_kib = outcome.anon_kib;
    r.rss_kib = outcome.usage.max_rss_kib;
    r.wall_ms = outcome.wall_ms;
    r.cpu_ms = outcome.usage.cpu_ms;
    r.status = status_text(outcome.status, ended);
    r.out_kib = out_kib;
    // The hash in the artifact's file name, which is how dependents name it in `--extern`
    // (cargo's `-C metadata` differs from it).
    r.hash = unit
        .extra_filename
        .strip_prefix('-')
        .map_or_else(|| unit.hash.clone(), str::to_string);
    r.features = unit.features.join(",");
    r.deps = unit.deps.join(",");
    r.manifest_dir = env("CARGO_MANIFEST_DIR");
    r
}

/// The store file: `LOWMEM_BUILD_STORE`, else `<target-dir>/lowmem/peaks.tsv` with the target
/// dir found above rustc's `--out-dir`.
fn store_path(unit: &Unit) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(STORE_VAR).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let out_dir = unit.out_dir.as_deref()?;
    Some(store::path_in(&target_dir(
        out_dir,
        &unit.profile,
        &unit.target,
    )?))
}

/// `<target>` from `<target>/[<triple>/]<profile>/deps` or `.../<profile>/build/<pkg>-<hash>`.
fn target_dir(out_dir: &Path, profile: &str, target: &str) -> Option<PathBuf> {
    let profile_dir = out_dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == profile))?;
    let above = profile_dir.parent()?;
    if above.file_name().is_some_and(|n| n == target) {
        above.parent().map(Path::to_path_buf)
    } else {
        Some(above.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_dir_is_found_above_the_out_dir() {
        let t = |out: &str, profile: &str, target: &str| {
            target_dir(Path::new(out), profile, target).map(|p| p.display().to_string())
        };
        assert_eq!(
            t("/w/target/debug/deps", "debug", "host").as_deref(),
            Some("/w/target")
        );
        assert_eq!(
            t(
                "/w/target/x86_64-unknown-linux-gnu/release/deps",
                "release",
                "x86_64-unknown-linux-gnu"
            )
            .as_deref(),
            Some("/w/target")
        );
        assert_eq!(
            t("/w/target/debug/build/app-0123/", "debug", "host").as_deref(),
            Some("/w/target")
        );
        assert_eq!(t("/elsewhere", "debug", "host"), None);
    }
}
