//! The governor's shell, inside each wrapper: the shared directory the wrappers of one build
//! coordinate through, admission with waiting, pressure checks, and events for the parent
//! `cargo lowmem` to print. The decisions themselves are `admission.rs`.
//!
//! The directory (`LOWMEM_GOVERNOR_DIR`, made by `cargo lowmem build` under the target dir):
//! - `lock`: taken with `flock` around every read-decide-write, released by the kernel if a
//!   wrapper dies holding it;
//! - `units/<wrapper pid>`: one line per waiting or running rustc (pid, process start time,
//!   state, since, crate, expected KiB, alone, rustc's pid); a file whose process is gone (or
//!   whose pid was reused: the start time differs) is stale and removed by whoever sees it;
//! - `plan.tsv`: each crate's expected peak, written by the parent from the estimate;
//! - `config`: the budget the user set (0 = none), the margins, and what a build script not
//!   measured before is expected to take (KiB);
//! - `events`: one line per thing worth saying (waiting, killed, retried), for the parent.

use crate::admission::{self, Decision, Room, Running, Waiting};
use crate::sample;
use crate::sys;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The directory variable.
pub const DIR_VAR: &str = "LOWMEM_GOVERNOR_DIR";
/// `off` keeps a wrapper that runs outside `cargo lowmem` to recording (the calibration script).
pub const SWITCH_VAR: &str = "LOWMEM_BUILD_GOVERNOR";
/// Margins of a governor nobody configured, KiB.
const DEFAULT_MARGIN_KIB: u64 = 64 * 1024;
const DEFAULT_KILL_MARGIN_KIB: u64 = 32 * 1024;
/// How long a rustc may wait for memory before it starts anyway (with an event saying so): a
/// machine that never frees memory must not hang the build.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// How often a waiting wrapper looks again.
const POLL: Duration = Duration::from_millis(150);
/// What a crate missing from the plan is expected to take.
pub const UNKNOWN_KIB: u64 = 256 * 1024;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Which part of a package a rustc compiles, for its expected peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Its library (or a binary's crate, not linking).
    Compile,
    /// A binary, test or other target that links.
    Link,
    /// Its build script.
    BuildScript,
}

/// The governor of one build, as one wrapper sees it.
pub struct Governor {
    dir: PathBuf,
    /// Always on (no `cargo lowmem` parent prints the events): the wrapper says them itself.
    implicit: bool,
    /// (package, version, link, expected KiB).
    plan: Vec<(String, String, bool, u64)>,
    budget_kib: u64,
    margin_kib: u64,
    kill_margin_kib: u64,
    script_kib: u64,
}

impl Governor {
    /// The governor of the running build, when `cargo lowmem` set one up.
    pub fn from_env() -> Option<Governor> {
        Governor::at(PathBuf::from(std::env::var_os(DIR_VAR)?))
    }

    /// The governor whose directory is `dir`; `None` until its config is written.
    fn at(dir: PathBuf) -> Option<Governor> {
        let config = fs::read_to_string(dir.join("config")).ok()?;
        let mut numbers = config.split_whitespace().map(|n| n.parse::<u64>().ok());
        let (budget_kib, margin_kib, kill_margin_kib) =
            (numbers.next()??, numbers.next()??, numbers.next()??);
        let script_kib = numbers.next().flatten().unwrap_or(UNKNOWN_KIB);
        let plan = fs::read_to_string(dir.join("plan.tsv"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                Some((
                    f.first()?.to_string(),
                    f.get(1)?.to_string(),
                    *f.get(2)? == "1",
                    f.get(3)?.parse().ok()?,
                ))
            })
            .collect();
        fs::create_dir_all(dir.join("units")).ok()?;
        Some(Governor {
            dir,
            implicit: false,
            plan,
            budget_kib,
            margin_kib,
            kill_margin_kib,
            script_kib,
        })
    }

    /// The governor of a build that runs with this program as its `RUSTC_WRAPPER` but not
    /// under `cargo lowmem` (`[build] rustc-wrapper = "cargo-lowmem"`, always on): one directory
    /// per cargo process under `<target>/lowmem/governor/`, made by the first wrapper, with the
    /// default margins and no plan (expected peaks come from the store). Directories of cargo
    /// processes that are gone are removed. `None` with `LOWMEM_BUILD_GOVERNOR=off`.
    pub fn implicit(target_dir: &Path) -> Option<Governor> {
        if std::env::var(SWITCH_VAR).is_ok_and(|v| v.trim() == "off") {
            return None;
        }
        let cargo = parent_pid()?;
        let base = target_dir.join("lowmem").join("governor");
        let dir = base.join(format!("cargo-{cargo}-{}", start_time(cargo)?));
        if !dir.join("config").is_file() {
            if let Ok(entries) = fs::read_dir(&base) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let alive = name
                        .strip_prefix("cargo-")
                        .and_then(|rest| rest.split_once('-'))
                        .and_then(|(pid, start)| Some((pid.parse().ok()?, start.parse().ok()?)))
                        .is_some_and(|(pid, start): (u32, u64)| start_time(pid) == Some(start));
                    if name.starts_with("cargo-") && !alive {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
            prepare(
                &dir,
                0,
                DEFAULT_MARGIN_KIB,
                DEFAULT_KILL_MARGIN_KIB,
                UNKNOWN_KIB,
                &[],
                &[],
            )
            .ok()?;
        }
        std::env::set_var(DIR_VAR, &dir);
        let mut governor = Governor::from_env()?;
        governor.implicit = true;
        Some(governor)
    }

    /// The governor's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest the build was started with (for `cargo tree`), when the parent wrote it.
    pub fn workspace_manifest(&self) -> Option<PathBuf> {
        fs::read_to_string(self.dir.join(crate::rules::MANIFESTS))
            .ok()?
            .lines()
            .next()
            .map(PathBuf::from)
    }

    /// What compiling `part` of `package` is expected to take, KiB: the plan's figure, else
    /// the largest measured in the store for this package, version and settings, else a
    /// default. A build script is never the plan's figure (that is its package's library):
    /// measured, else what the parent said build scripts take.
    pub fn expected_for(
        &self,
        package: &str,
        version: &str,
        part: Part,
        measured: impl FnOnce() -> Option<u64>,
    ) -> u64 {
        if part == Part::BuildScript {
            // The plan's figures are the package's library or binary, not its build script.
            return measured().unwrap_or(self.script_kib);
        }
        let planned = self.expected_kib(package, version, part == Part::Link);
        if planned != UNKNOWN_KIB {
            return planned;
        }
        measured().unwrap_or(UNKNOWN_KIB)
    }

    /// What compiling `package` (linking, for `links`) is expected to take, KiB.
    pub fn expected_kib(&self, package: &str, version: &str, links: bool) -> u64 {
        let find = |link: bool| {
            self.plan
                .iter()
                .find(|(p, v, l, _)| p == package && v == version && *l == link)
                .map(|e| e.3)
        };
        if links {
            find(true).or_else(|| find(false))
        } else {
            find(false)
        }
        .unwrap_or(UNKNOWN_KIB)
    }

    /// Whether this is the always-on mode (`build.rustc-wrapper`), with no `cargo lowmem`
    /// parent.
    pub fn is_implicit(&self) -> bool {
        self.implicit
    }

    /// Appends an event line: `ms kind crate detail` (and, always on, says it on stderr).
    pub fn event(&self, kind: &str, krate: &str, detail: &str) {
        if self.implicit {
            eprintln!("{}", crate::governed::event_line(kind, krate, detail));
        }
        if let Ok(mut file) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("events"))
        {
            let _ = file.write_all(format!("{}\t{kind}\t{krate}\t{detail}\n", now_ms()).as_bytes());
        }
    }

    /// Waits until this rustc may start, then holds its slot. `None` when coordinating failed
    /// (the caller then runs rustc at once).
    pub fn admit(&self, krate: &str, expected_kib: u64, alone: bool) -> Option<Slot<'_>> {
        let me = std::process::id();
        let start = own_start_time()?;
        let since = now_ms();
        let waited = Instant::now();
        let mut said = false;
        loop {
            let lock = self.lock()?;
            let units = self.units();
            let (running, waiting) = split(&units);
            let mine = Waiting {
                pid: me,
                krate: krate.to_string(),
                since_ms: since,
                expected_kib,
                alone,
            };
            let room = self.room(&running);
            let decision = if waited.elapsed() > MAX_WAIT {
                self.event("gave-up-waiting", krate, "started after an hour's wait");
                Decision::Admit
            } else {
                admission::admit(&mine, &running, &waiting, room)
            };
            match decision {
                Decision::Admit => {
                    let line = unit_line(
                        me,
                        start,
                        "running",
                        now_ms(),
                        krate,
                        expected_kib,
                        alone,
                        0,
                    );
                    crate::files::write_whole(&self.unit_path(me), &line).ok()?;
                    drop(lock);
                    return Some(Slot {
                        governor: self,
                        krate: krate.to_string(),
                        start,
                        admitted_ms: now_ms(),
                        expected_kib,
                        alone,
                    });
                }
                Decision::Wait { behind } => {
                    let line =
                        unit_line(me, start, "waiting", since, krate, expected_kib, alone, 0);
                    crate::files::write_whole(&self.unit_path(me), &line).ok()?;
                    drop(lock);
                    if !said {
                        said = true;
                        let heaviest = running.iter().find(|r| r.krate == behind);
                        let detail = format!(
                            "~{} KiB until {behind} (~{} KiB) finishes",
                            expected_kib,
                            heaviest.map_or(0, |r| r.expected_kib.max(r.current_kib))
                        );
                        self.event("waiting", krate, &detail);
                    }
                    std::thread::sleep(POLL);
                }
            }
        }
    }

    fn lock(&self) -> Option<File> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("lock"))
            .ok()?;
        sys::lock_exclusive(&file).then_some(file)
    }

    fn unit_path(&self, pid: u32) -> PathBuf {
        self.dir.join("units").join(pid.to_string())
    }

    /// Every live unit; stale files (their process gone or replaced) are removed.
    fn units(&self) -> Vec<Unit> {
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(self.dir.join("units")) else {
            return out;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(".tmp") {
                continue; // being written (see `files::write_whole`)
            }
            let Some(unit) = fs::read_to_string(entry.path())
                .ok()
                .and_then(|t| Unit::parse(&t))
            else {
                let _ = fs::remove_file(entry.path());
                continue;
            };
            if start_time(unit.pid) != Some(unit.start) {
                let _ = fs::remove_file(entry.path());
                continue;
            }
            out.push(unit);
        }
        out
    }

    /// Free memory now for the build: the smaller of the cgroup's headroom and available
    /// memory, and of the user's budget less what the running rustcs hold.
    fn room(&self, running: &[Running]) -> Room {
        let snapshot = lowmem_build::MemorySnapshot::probe_free();
        let headroom = snapshot.cgroup.as_ref().and_then(|c| c.headroom);
        let mut free = [snapshot.available, headroom]
            .into_iter()
            .flatten()
            .min()
            .map_or(u64::MAX, |b| b / 1024);
        if self.budget_kib > 0 {
            let held: u64 = running.iter().map(|r| r.current_kib).sum();
            free = free.min(self.budget_kib.saturating_sub(held));
        }
        Room {
            free_kib: free,
            margin_kib: self.margin_kib,
        }
    }
}

/// One line of `units/`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unit {
    pid: u32,
    start: u64,
    running: bool,
    since_ms: u64,
    krate: String,
    expected_kib: u64,
    alone: bool,
    child: u32,
}

impl Unit {
    fn parse(text: &str) -> Option<Unit> {
        let f: Vec<&str> = text.trim_end().split('\t').collect();
        Some(Unit {
            pid: f.first()?.parse().ok()?,
            start: f.get(1)?.parse().ok()?,
            running: *f.get(2)? == "running",
            since_ms: f.get(3)?.parse().ok()?,
            krate: f.get(4)?.to_string(),
            expected_kib: f.get(5)?.parse().ok()?,
            alone: *f.get(6)? == "1",
            child: f.get(7)?.parse().ok()?,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn unit_line(
    pid: u32,
    start: u64,
    state: &str,
    since_ms: u64,
    krate: &str,
    expected_kib: u64,
    alone: bool,
    child: u32,
) -> String {
    format!(
        "{pid}\t{start}\t{state}\t{since_ms}\t{krate}\t{expected_kib}\t{}\t{child}\n",
        u8::from(alone)
    )
}

/// The running units with what their rustc holds now, and the waiting ones.
fn split(units: &[Unit]) -> (Vec<Running>, Vec<Waiting>) {
    let mut running = Vec::new();
    let mut waiting = Vec::new();
    for u in units {
        if u.running {
            running.push(Running {
                pid: u.pid,
                krate: u.krate.clone(),
                start_ms: u.since_ms,
                expected_kib: u.expected_kib,
                current_kib: if u.child > 0 {
                    sample::tree_anon_kib(u.child)
                } else {
                    0
                },
                alone: u.alone,
            });
        } else {
            waiting.push(Waiting {
                pid: u.pid,
                krate: u.krate.clone(),
                since_ms: u.since_ms,
                expected_kib: u.expected_kib,
                alone: u.alone,
            });
        }
    }
    (running, waiting)
}

/// A process's start time (clock ticks since boot, field 22 of /proc/<pid>/stat): with the pid,
/// it names a process uniquely.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn own_start_time() -> Option<u64> {
    start_time(std::process::id())
}

/// The parent's pid (field 4 of /proc/self/stat).
fn parent_pid() -> Option<u32> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// An admitted rustc's place in the governor, given up when dropped.
pub struct Slot<'g> {
    governor: &'g Governor,
    krate: String,
    start: u64,
    admitted_ms: u64,
    expected_kib: u64,
    alone: bool,
}

impl Slot<'_> {
    /// Records rustc's pid, so that others see what it holds.
    pub fn set_child(&self, child: u32) {
        let line = unit_line(
            std::process::id(),
            self.start,
            "running",
            self.admitted_ms,
            &self.krate,
            self.expected_kib,
            self.alone,
            child,
        );
        let _ = crate::files::write_whole(&self.governor.unit_path(std::process::id()), &line);
    }

    /// One pressure check: whether this rustc must give way now (memory is short, or will be by
    /// the time of the next check at the rate it is falling, and this is the newest running),
    /// and how fast to check next. `last` is the previous check's time and free memory; this
    /// check's replaces it.
    pub fn pressure(&self, last: &mut Option<(Instant, u64)>) -> Pressure {
        let Some(lock) = self.governor.lock() else {
            return Pressure::default();
        };
        let units = self.governor.units();
        let (running, _) = split(&units);
        let room = self.governor.room(&running);
        drop(lock);
        let before = last.map(|(_, free)| free);
        let elapsed_ms = last.map_or(0, |(at, _)| at.elapsed().as_millis() as u64);
        *last = Some((Instant::now(), room.free_kib));
        let margin = self.governor.kill_margin_kib;
        let soon = admission::projected_free_kib(before, room.free_kib, elapsed_ms, CLOSE_AHEAD_MS);
        let later = admission::projected_free_kib(before, room.free_kib, elapsed_ms, FAR_AHEAD_MS);
        // Memory close to running out: the kernel's stall figures count too. They are the whole
        // machine's (and linger for seconds after a stall), so with room to spare they say
        // nothing about this build.
        let close = running.len() > 1 && later < margin.saturating_mul(4);
        let victim = admission::victim(&running, soon, margin, close && stalling());
        Pressure {
            must_yield: victim == Some(std::process::id()),
            close,
        }
    }
}

/// Looking ahead when checks are close together (every sample, at most 50 ms apart), ms: the
/// time to the next check and for the kill to free memory.
const CLOSE_AHEAD_MS: u64 = 100;
/// Looking ahead from one relaxed check (every 250 ms) to the next, and the kill, ms.
const FAR_AHEAD_MS: u64 = 300;

/// What a pressure check found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pressure {
    /// Kill this rustc now (it will be retried alone).
    pub must_yield: bool,
    /// Memory is close to running out: check on every sample, not every 250 ms.
    pub close: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.governor.unit_path(std::process::id()));
    }
}

/// Whether the kernel is stalling tasks on memory: `full avg10` of /proc/pressure/memory at 20%
/// or more (every runnable task waited on memory a fifth of the last ten seconds).
fn stalling() -> bool {
    let Ok(text) = fs::read_to_string("/proc/pressure/memory") else {
        return false;
    };
    text.lines()
        .filter(|l| l.starts_with("full "))
        .filter_map(|l| l.split_whitespace().find_map(|f| f.strip_prefix("avg10=")))
        .filter_map(|v| v.parse::<f64>().ok())
        .any(|avg| avg >= 20.0)
}

/// Writes a governor directory for a build (the parent's half, or the first wrappers' of an
/// always-on build): rule manifests, plan, and last the config, whose presence says the
/// directory is ready. Each file is written whole under another name and renamed into place, so
/// a wrapper reading it while another writes it (two wrappers of one cargo start together)
/// never sees it empty or cut short.
pub fn prepare(
    dir: &Path,
    budget_kib: u64,
    margin_kib: u64,
    kill_margin_kib: u64,
    script_kib: u64,
    plan: &[(String, String, bool, u64)],
    rule_manifests: &[PathBuf],
) -> std::io::Result<()> {
    fs::create_dir_all(dir.join("units"))?;
    let mut manifests = String::new();
    for m in rule_manifests {
        manifests.push_str(&format!("{}\n", m.display()));
    }
    crate::files::write_whole(&dir.join(crate::rules::MANIFESTS), &manifests)?;
    let mut text = String::new();
    for (package, version, link, kib) in plan {
        text.push_str(&format!(
            "{package}\t{version}\t{}\t{kib}\n",
            u8::from(*link)
        ));
    }
    crate::files::write_whole(&dir.join("plan.tsv"), &text)?;
    crate::files::write_whole(
        &dir.join("config"),
        &format!("{budget_kib} {margin_kib} {kill_margin_kib} {script_kib}\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lines_read_back() {
        let line = unit_line(12, 345, "running", 1000, "polars_core", 2_000_000, true, 99);
        let unit = Unit::parse(&line).unwrap();
        assert_eq!(
            unit,
            Unit {
                pid: 12,
                start: 345,
                running: true,
                since_ms: 1000,
                krate: "polars_core".into(),
                expected_kib: 2_000_000,
                alone: true,
                child: 99
            }
        );
        assert_eq!(Unit::parse("garbage"), None);
    }

    #[test]
    fn this_process_has_a_start_time_and_a_dead_one_has_none() {
        assert!(own_start_time().is_some());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(start_time(pid), None);
    }

    /// The first wrappers of an always-on build prepare the directory together while others
    /// read it: a reader never finds it half written.
    #[test]
    fn a_directory_being_prepared_is_never_read_half_written() {
        let dir = crate::files::scratch_dir("gov-race");
        let plan: Vec<(String, String, bool, u64)> = (0..200)
            .map(|i| (format!("crate-{i}"), "1.0.0".to_string(), false, i))
            .collect();
        prepare(&dir, 0, 64, 32, 40, &plan, &[]).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..300 {
                        prepare(&dir, 0, 64, 32, 40, &plan, &[]).unwrap();
                    }
                });
            }
            for _ in 0..300 {
                let governor = Governor::at(dir.clone()).expect("config readable");
                assert_eq!(governor.script_kib, 40);
                assert_eq!(governor.plan.len(), 200);
            }
        });
        // A unit file being written is not a unit (nor garbage to remove).
        fs::write(dir.join("units").join("123.4.tmp"), "garbage").unwrap();
        let governor = Governor::at(dir.clone()).unwrap();
        assert!(governor.units().is_empty());
        assert!(dir.join("units").join("123.4.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A wrapper killed while it held a slot leaves a file behind; the next wrapper sees its
    /// process gone and removes it, so it blocks nobody.
    #[test]
    fn a_stale_unit_is_removed_and_blocks_nobody() {
        let dir = crate::files::scratch_dir("gov");
        prepare(
            &dir,
            1024,
            64,
            32,
            40,
            &[("big".into(), "1.0.0".into(), false, 900)],
            &[],
        )
        .unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(
            dir.join("units").join(dead.to_string()),
            unit_line(dead, 1, "running", 0, "ghost", 10_000_000, true, 0),
        )
        .unwrap();
        std::env::set_var(DIR_VAR, &dir);
        let governor = Governor::from_env().unwrap();
        assert_eq!(governor.expected_kib("big", "1.0.0", false), 900);
        assert_eq!(governor.expected_kib("big", "1.0.0", true), 900);
        assert_eq!(governor.expected_kib("other", "1.0.0", false), UNKNOWN_KIB);
        // polars-core's build script is not polars-core.
        assert_eq!(
            governor.expected_for("big", "1.0.0", Part::BuildScript, || None),
            40
        );
        assert_eq!(
            governor.expected_for("big", "1.0.0", Part::BuildScript, || Some(25)),
            25
        );
        assert_eq!(
            governor.expected_for("big", "1.0.0", Part::Link, || Some(25)),
            900
        );
        assert_eq!(
            governor.expected_for("other", "1.0.0", Part::Compile, || Some(25)),
            25
        );
        let slot = governor
            .admit("small", 10, false)
            .expect("admitted at once");
        assert!(!dir.join("units").join(dead.to_string()).exists());
        assert!(dir
            .join("units")
            .join(std::process::id().to_string())
            .exists());
        assert!(
            !slot.pressure(&mut None).must_yield,
            "alone, it never yields"
        );
        drop(slot);
        assert!(!dir
            .join("units")
            .join(std::process::id().to_string())
            .exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
