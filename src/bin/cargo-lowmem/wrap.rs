//! `cargo-lowmem` as cargo's `RUSTC_WRAPPER`: runs rustc (or the wrapper it chains), measures
//! its peaks and appends them to the store. Whatever goes wrong in the measuring, rustc runs
//! and its exit status is the wrapper's.

use crate::sample;
use crate::sys;
use crate::unit::Unit;
use lowmem_build::store::{self, Record};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where records go when set: a store file path (the calibration script and tests use it).
pub const STORE_VAR: &str = "LOWMEM_BUILD_STORE";
/// A wrapper to run rustc through (sccache), chained behind this one.
pub const INNER_VAR: &str = "LOWMEM_BUILD_INNER_WRAPPER";
/// The sampling interval's upper bound in ms (default 50).
pub const SAMPLE_VAR: &str = "LOWMEM_BUILD_SAMPLE_MS";

/// Runs `rustc` with `args` as cargo asked, measured. Returns the exit code to exit with.
pub fn run(rustc: OsString, args: Vec<OsString>) -> i32 {
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut command = match std::env::var_os(INNER_VAR).filter(|w| !w.is_empty()) {
        Some(inner) => {
            let mut c = Command::new(inner);
            c.arg(&rustc);
            c
        }
        None => Command::new(&rustc),
    };
    command.args(&args);
    let Some(unit) = Unit::from_args(&text) else {
        return pass_through(command);
    };
    let start_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!(
                "error: cargo-lowmem: could not run `{}`: {e}",
                rustc.to_string_lossy()
            );
            return 1;
        }
    };
    let sampler = Sampler::start(child.id());
    let status = child.wait();
    let anon_kib = sampler.stop();
    let wall_ms = started.elapsed().as_millis() as u64;
    let Ok(status) = status else {
        return 1;
    };
    let usage = sys::children().unwrap_or_default();
    if let Some(path) = store_path(&unit) {
        let record = record(&unit, start_ms, anon_kib, usage, wall_ms, status);
        if let Err(e) = store::append(&path, &record) {
            if std::env::var_os("LOWMEM_BUILD_DEBUG").is_some() {
                eprintln!("cargo-lowmem: cannot write {}: {e}", path.display());
            }
        }
    }
    exit_code(status)
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

fn exit_code(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    1
}

fn status_text(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("sig{signal}");
        }
    }
    status.code().map_or_else(|| "-".into(), |c| c.to_string())
}

fn record(
    unit: &Unit,
    start_ms: u64,
    anon_kib: u64,
    usage: sys::ChildUsage,
    wall_ms: u64,
    status: ExitStatus,
) -> Record {
    let out_kib = unit
        .outputs()
        .iter()
        .find_map(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len() / 1024);
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let mut r = Record::default();
    r.start_ms = start_ms;
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
    r.anon_kib = anon_kib;
    r.rss_kib = usage.max_rss_kib;
    r.wall_ms = wall_ms;
    r.cpu_ms = usage.cpu_ms;
    r.status = status_text(status);
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

/// Samples the anonymous memory of a process tree on its own thread until stopped.
struct Sampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let max_interval = std::env::var(SAMPLE_VAR)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .unwrap_or(50);
        let thread = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::Builder::new()
                .name("sampler".into())
                .spawn(move || {
                    // Short at first, so that a rustc of a few milliseconds is seen at all.
                    let mut interval = 2;
                    while !stop.load(Ordering::Relaxed) {
                        peak.fetch_max(sample::tree_anon_kib(pid), Ordering::Relaxed);
                        std::thread::park_timeout(Duration::from_millis(interval));
                        interval = (interval * 2).min(max_interval);
                    }
                })
                .ok()
        };
        Sampler { peak, stop, thread }
    }

    /// Stops sampling and returns the peak seen, KiB.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
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
