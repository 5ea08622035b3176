//! `cargo-lowmem` as cargo's `RUSTC_WRAPPER`: runs rustc (or the wrapper it chains), measures
//! its peaks and appends them to the store; under `cargo lowmem build` it also waits for memory
//! before starting rustc, gives way under pressure and retries alone. Whatever goes wrong in the
//! measuring or the coordination, rustc runs and its exit status is the wrapper's.

use crate::governor::{Governor, Slot};
use crate::sample;
use crate::sys;
use crate::unit::Unit;
use lowmem_build::store::{self, Record};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// Runs `rustc` with `args` as cargo asked, measured (and governed under `cargo lowmem`).
/// Returns the exit code to exit with.
pub fn run(rustc: OsString, args: Vec<OsString>) -> i32 {
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let command = || {
        let mut command = match std::env::var_os(INNER_VAR).filter(|w| !w.is_empty()) {
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
    let artifacts = Arc::new(Mutex::new(Vec::new()));
    let mut alone = false;
    loop {
        let slot = governor
            .as_ref()
            .and_then(|g| g.admit(&unit.krate, expected, alone));
        let kills_before = oom_kills();
        let outcome = match run_once(command(), slot.as_ref(), &artifacts) {
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
        if let Some(path) = store_path(&unit) {
            let record = record(&unit, &outcome);
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
            );
        }
        let oom_killed = signal(outcome.status) == Some(9) && oom_kills() > kills_before;
        if let Some(g) = governor.as_ref() {
            if oom_killed {
                g.event(
                    "oom-killed",
                    &unit.krate,
                    &format!("{} KiB at its last sample", outcome.anon_kib),
                );
            }
            if !alone && (outcome.yielded || oom_killed) {
                alone = true;
                g.event(
                    "retrying",
                    &unit.krate,
                    if outcome.yielded {
                        "killed to make room; again, alone"
                    } else {
                        "OOM-killed; again, alone"
                    },
                );
                continue;
            }
        }
        return exit_code(outcome.status);
    }
}

/// Writes this rustc run's memory timeline for the report (nothing when it cannot).
fn write_timeline(
    dir: &Path,
    unit: &Unit,
    package: &str,
    version: &str,
    expected_kib: u64,
    outcome: &Outcome,
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
        status: status_text(outcome.status),
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
    status: ExitStatus,
    start_ms: u64,
    wall_ms: u64,
    anon_kib: u64,
    usage: sys::ChildUsage,
    /// The governor killed it to make room.
    yielded: bool,
    /// Its memory over time, under `cargo lowmem build --report`.
    samples: Vec<crate::timeline::Sample>,
    /// CPU time of the sampler thread (sampling and pressure checks), µs.
    sampler_us: u64,
}

/// Runs rustc once: its stderr forwarded line by line (artifact notices cargo has already seen
/// from an earlier, killed run are dropped: cargo would count the crate's metadata twice), its
/// process tree sampled, and, holding a slot, checked for having to give way.
fn run_once(
    mut command: Command,
    slot: Option<&Slot<'_>>,
    artifacts: &Arc<Mutex<Vec<String>>>,
) -> std::io::Result<Outcome> {
    let start_ms = crate::governor::now_ms();
    let started = Instant::now();
    let mut child = command.stderr(Stdio::piped()).spawn()?;
    if let Some(slot) = slot {
        slot.set_child(child.id());
    }
    let forwarder = child.stderr.take().map(|stderr| {
        let artifacts = artifacts.clone();
        std::thread::spawn(move || forward(stderr, &artifacts))
    });
    let pid = child.id();
    let yielded = AtomicBool::new(false);
    let peak = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let keep_timeline = std::env::var_os(TIMELINE_VAR).is_some();
    let sampler_us = AtomicU64::new(0);
    let (status, samples) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let max_interval = std::env::var(SAMPLE_VAR)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&ms| ms > 0)
                .unwrap_or(50);
            // Short at first, so that a rustc of a few milliseconds is seen at all.
            let mut interval = 2;
            let mut checked = Instant::now();
            let mut last = None;
            let mut close = false;
            let mut samples: Vec<crate::timeline::Sample> = Vec::new();
            let mut tree = sample::Tree::new(pid);
            let mut count: u32 = 0;
            while !done.load(Ordering::Relaxed) {
                let memory = tree.sample(count % sample::FIND_EVERY == 0);
                count = count.wrapping_add(1);
                peak.fetch_max(memory.anon_kib, Ordering::Relaxed);
                if keep_timeline {
                    let now = crate::governor::now_ms();
                    if samples
                        .last()
                        .map_or(true, |s| now >= s.t_ms + TIMELINE_EVERY_MS)
                    {
                        samples.push(crate::timeline::Sample {
                            t_ms: now,
                            rss_kib: memory.rss_kib,
                            anon_kib: memory.anon_kib,
                            children_rss_kib: memory.children_rss_kib,
                        });
                    }
                }
                if let Some(slot) = slot {
                    if close || checked.elapsed() >= PRESSURE_EVERY {
                        checked = Instant::now();
                        let pressure = slot.pressure(&mut last);
                        close = pressure.close;
                        if !yielded.load(Ordering::Relaxed) && pressure.must_yield {
                            yielded.store(true, Ordering::Relaxed);
                            kill_tree(pid);
                        }
                    }
                }
                let wait = if close {
                    interval.min(CLOSE_EVERY_MS)
                } else {
                    interval
                };
                std::thread::park_timeout(Duration::from_millis(wait));
                interval = (interval * 2).min(max_interval);
            }
            sampler_us.store(sys::thread_cpu_us().unwrap_or(0), Ordering::Relaxed);
            samples
        });
        let status = child.wait();
        done.store(true, Ordering::Relaxed);
        sampler.thread().unpark();
        let samples = sampler.join().unwrap_or_default();
        (status, samples)
    });
    let status = status?;
    if let Some(forwarder) = forwarder {
        let _ = forwarder.join();
    }
    Ok(Outcome {
        status,
        start_ms,
        wall_ms: started.elapsed().as_millis() as u64,
        anon_kib: peak.load(Ordering::Relaxed),
        usage: sys::children().unwrap_or_default(),
        yielded: yielded.load(Ordering::Relaxed),
        samples,
        sampler_us: sampler_us.load(Ordering::Relaxed),
    })
}

/// Copies rustc's stderr to ours, line by line, skipping artifact notices already forwarded.
fn forward(stderr: impl std::io::Read, artifacts: &Mutex<Vec<String>>) {
    let mut out = std::io::stderr();
    for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
        if line.starts_with(b"{\"artifact\":") {
            let text = String::from_utf8_lossy(&line).into_owned();
            let Ok(mut seen) = artifacts.lock() else {
                continue;
            };
            if seen.contains(&text) {
                continue;
            }
            seen.push(text);
        }
        let _ = out.write_all(&line);
        let _ = out.write_all(b"\n");
    }
}

/// Kills rustc and every process under it (the linker too, so that its memory goes as well).
fn kill_tree(pid: u32) {
    let mut pids = vec![pid];
    let mut i = 0;
    while i < pids.len() {
        pids.extend(sample::children(pids[i]));
        i += 1;
    }
    let mut kill = Command::new("kill");
    kill.arg("-KILL");
    kill.args(pids.iter().rev().map(u32::to_string));
    let _ = kill.stderr(Stdio::null()).status();
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

fn status_text(status: ExitStatus) -> String {
    match (status.code(), signal(status)) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("sig{signal}"),
        (None, None) => "-".into(),
    }
}

fn record(unit: &Unit, outcome: &Outcome) -> Record {
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
    r.status = status_text(outcome.status);
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

    #[test]
    fn a_repeated_artifact_notice_is_forwarded_once() {
        let seen = Mutex::new(vec![
            "{\"artifact\":\"/t/libx.rmeta\",\"emit\":\"metadata\"}".to_string(),
        ]);
        let input = b"{\"artifact\":\"/t/libx.rmeta\",\"emit\":\"metadata\"}\nwarning: x\n{\"artifact\":\"/t/liby.rmeta\",\"emit\":\"metadata\"}\n";
        forward(&input[..], &seen);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }
}
