//! The governor's shell, inside each wrapper: the directory of the build it belongs to, admission
//! with waiting, pressure checks, and events for the parent `cargo lowmem` to print. The
//! decisions themselves are `admission.rs`; the entries of every rustc that shares this memory,
//! whichever build it belongs to, are in the pool (`pool.rs`).
//!
//! The build's directory (`LOWMEM_GOVERNOR_DIR`, made by `cargo lowmem build` under the target
//! dir):
//! - `plan.tsv`: each crate's expected peak, written by the parent from the estimate;
//! - `config`: the budget the user set (0 = none), the margins, and what a build script not
//!   measured before is expected to take (KiB);
//! - `rule-manifests`: the manifests whose feature rules apply (`rules.rs`);
//! - `events`: one line per thing worth saying (waiting, stopped, killed, retried), for the
//!   parent.

use crate::admission::{self, Action, Decision, Pressure, Room, Running, Waiting};
use crate::pool::{self, Entry, Pool, State};
use crate::sample;
use std::fs::{self, OpenOptions};
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
/// How long a rustc may stay stopped before it resumes anyway (with an event saying so).
pub const MAX_STOPPED: Duration = Duration::from_secs(1800);
/// How often a waiting wrapper looks again.
const POLL: Duration = Duration::from_millis(150);
/// What a crate missing from the plan is expected to take.
pub const UNKNOWN_KIB: u64 = 256 * 1024;
/// A rustc is stopped when free memory is projected under this many kill margins.
const STOP_MARGINS: u64 = 4;

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
    pool: Pool,
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
        let pool = Pool::shared_or(&dir);
        Some(Governor {
            dir,
            pool,
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
    /// default margins, no plan (expected peaks come from the store) and the feature rules of
    /// the workspace cargo runs in. Directories of cargo processes that are gone are removed.
    /// `None` with `LOWMEM_BUILD_GOVERNOR=off`.
    pub fn implicit(target_dir: &Path) -> Option<Governor> {
        if std::env::var(SWITCH_VAR).is_ok_and(|v| v.trim() == "off") {
            return None;
        }
        let cargo = parent_pid()?;
        let base = target_dir.join("lowmem").join("governor");
        let dir = base.join(format!("cargo-{cargo}-{}", pool::start_time(cargo)?));
        if !dir.join("config").is_file() {
            if let Ok(entries) = fs::read_dir(&base) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let alive = name
                        .strip_prefix("cargo-")
                        .and_then(|rest| rest.split_once('-'))
                        .and_then(|(pid, start)| Some((pid.parse().ok()?, start.parse().ok()?)))
                        .is_some_and(|(pid, start): (u32, u64)| {
                            pool::start_time(pid) == Some(start)
                        });
                    if name.starts_with("cargo-") && !alive {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
            // The rules of the workspace cargo was started in: the manifest it found from its
            // working directory, as it finds one (the nearest `Cargo.toml` upwards).
            let rules = fs::read_link(format!("/proc/{cargo}/cwd"))
                .ok()
                .and_then(|cwd| {
                    cwd.ancestors()
                        .map(|d| d.join("Cargo.toml"))
                        .find(|m| m.is_file())
                })
                .map(|manifest| crate::rules::manifests(&manifest))
                .unwrap_or_default();
            prepare(
                &dir,
                0,
                DEFAULT_MARGIN_KIB,
                DEFAULT_KILL_MARGIN_KIB,
                UNKNOWN_KIB,
                &[],
                &rules,
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

    /// The build's name in the pool.
    fn build(&self) -> String {
        self.dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
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
        let start = pool::start_time(me)?;
        let since = now_ms();
        let waited = Instant::now();
        let mut said = false;
        let mut entry = Entry {
            pid: me,
            start,
            state: State::Waiting,
            since_ms: since,
            krate: krate.to_string(),
            expected_kib,
            alone,
            child: 0,
            build: self.build(),
        };
        loop {
            let lock = self.pool.lock()?;
            let entries = self.pool.entries();
            let (running, waiting) = split(&entries);
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
                    entry.state = State::Running;
                    entry.since_ms = now_ms();
                    self.pool.write(&entry).ok()?;
                    drop(lock);
                    return Some(Slot {
                        governor: self,
                        entry,
                    });
                }
                Decision::Wait { behind } => {
                    self.pool.write(&entry).ok()?;
                    drop(lock);
                    if !said {
                        said = true;
                        let blocker = entries.iter().find(|e| e.krate == behind);
                        let heaviest = running.iter().find(|r| r.krate == behind);
                        let other_build = blocker.is_some_and(|b| b.build != entry.build);
                        let detail = format!(
                            "~{} KiB until {behind}{} (~{} KiB) {}",
                            expected_kib,
                            if other_build { " of another build" } else { "" },
                            heaviest.map_or_else(
                                || blocker.map_or(0, |b| b.expected_kib),
                                |r| r.expected_kib.max(r.current_kib)
                            ),
                            match blocker.map(|b| b.state) {
                                Some(State::Stopped) => "resumes",
                                Some(State::Waiting) => "has run alone",
                                _ => "finishes",
                            }
                        );
                        self.event("waiting", krate, &detail);
                    }
                    std::thread::sleep(POLL);
                }
            }
        }
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

/// The running (and stopped) entries with what their rustc holds now, and the waiting ones.
fn split(entries: &[Entry]) -> (Vec<Running>, Vec<Waiting>) {
    let mut running = Vec::new();
    let mut waiting = Vec::new();
    for e in entries {
        if e.state == State::Waiting {
            waiting.push(Waiting {
                pid: e.pid,
                krate: e.krate.clone(),
                since_ms: e.since_ms,
                expected_kib: e.expected_kib,
                alone: e.alone,
            });
        } else {
            running.push(Running {
                pid: e.pid,
                krate: e.krate.clone(),
                start_ms: e.since_ms,
                expected_kib: e.expected_kib,
                current_kib: if e.child > 0 {
                    sample::tree_anon_kib(e.child)
                } else {
                    0
                },
                alone: e.alone,
                stopped: e.state == State::Stopped,
            });
        }
    }
    (running, waiting)
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

/// An admitted rustc's place in the pool, given up when dropped.
pub struct Slot<'g> {
    governor: &'g Governor,
    entry: Entry,
}

impl Slot<'_> {
    /// The governor this slot belongs to.
    pub fn governor(&self) -> &Governor {
        self.governor
    }

    /// The crate it compiles.
    pub fn krate(&self) -> &str {
        &self.entry.krate
    }

    /// Records the process whose tree holds rustc's memory, so that others see what it holds.
    pub fn set_child(&mut self, child: u32) {
        self.entry.child = child;
        self.save();
    }

    /// Records that rustc is stopped (or running again).
    pub fn set_stopped(&mut self, stopped: bool) {
        self.entry.state = if stopped {
            State::Stopped
        } else {
            State::Running
        };
        self.save();
    }

    fn save(&self) {
        if let Some(_lock) = self.governor.pool.lock() {
            let _ = self.governor.pool.write(&self.entry);
        }
    }

    /// One pressure check: what this rustc does now (see `admission::give_way`), and whether
    /// memory is close to running out (then checks come at every sample, not every 250 ms).
    /// `history` is what earlier checks saw; this check adds to it.
    pub fn check(&self, history: &mut History, can_stop: bool) -> (Action, bool) {
        let Some(lock) = self.governor.pool.lock() else {
            return (Action::Continue, false);
        };
        let entries = self.governor.pool.entries();
        let (running, _) = split(&entries);
        let room = self.governor.room(&running);
        drop(lock);
        let before = history.last.map(|(_, free)| free);
        let elapsed_ms = history
            .last
            .map_or(0, |(at, _)| at.elapsed().as_millis() as u64);
        history.last = Some((Instant::now(), room.free_kib));
        let settled = if self.entry.state == State::Stopped {
            let mut pids: Vec<u32> = running.iter().map(|r| r.pid).collect();
            pids.sort_unstable();
            match &mut history.floor {
                Some((same, floor)) if *same == pids => *floor = (*floor).min(room.free_kib),
                other => *other = Some((pids, room.free_kib)),
            }
            history.floor.as_ref().map_or(room.free_kib, |(_, f)| *f)
        } else {
            history.floor = None;
            room.free_kib
        };
        let kill_margin = self.governor.kill_margin_kib;
        let stop_margin = kill_margin.saturating_mul(STOP_MARGINS);
        let soon = admission::projected_free_kib(before, room.free_kib, elapsed_ms, CLOSE_AHEAD_MS);
        let later = admission::projected_free_kib(before, room.free_kib, elapsed_ms, FAR_AHEAD_MS);
        let close = running.len() > 1 && later < stop_margin;
        let pressure = Pressure {
            soon_free_kib: soon,
            later_free_kib: later,
            settled_free_kib: settled,
            kill_margin_kib: kill_margin,
            stop_margin_kib: stop_margin,
            margin_kib: self.governor.margin_kib,
            // The kernel's stall figures are the whole machine's (and linger for seconds after
            // a stall): read only when memory is tight here.
            stalling: close && stalling(),
        };
        let action = admission::give_way(std::process::id(), &running, &pressure, can_stop);
        (action, close)
    }

    /// The oldest crate running (or stopped) beside this one, for the events.
    pub fn oldest_other(&self) -> Option<String> {
        let entries = self.governor.pool.entries();
        entries
            .iter()
            .filter(|e| e.pid != self.entry.pid && e.state != State::Waiting)
            .min_by_key(|e| (e.since_ms, e.pid))
            .map(|e| e.krate.clone())
    }
}

/// What a rustc's earlier pressure checks saw.
#[derive(Debug, Default)]
pub struct History {
    /// The last check's time and free memory (KiB).
    last: Option<(Instant, u64)>,
    /// While stopped: the wrappers running at the checks since it stopped (or since they last
    /// changed), and the least free memory seen then (KiB).
    floor: Option<(Vec<u32>, u64)>,
}

/// Looking ahead when checks are close together (every sample, at most 50 ms apart), ms: the
/// time to the next check and for the kill to free memory.
const CLOSE_AHEAD_MS: u64 = 100;
/// Looking ahead from one relaxed check (every 250 ms) to the next, and the kill, ms.
const FAR_AHEAD_MS: u64 = 300;

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.governor.pool.remove(self.entry.pid);
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
    fs::create_dir_all(dir)?;
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
        // An entry being written is not an entry (nor garbage to remove).
        let pool = Pool::at(&dir);
        fs::write(dir.join("units").join("123.4.tmp"), "garbage").unwrap();
        assert!(pool.entries().is_empty());
        assert!(dir.join("units").join("123.4.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A wrapper killed while it held a slot leaves an entry behind; the next wrapper sees its
    /// process gone and removes it, so it blocks nobody.
    #[test]
    fn a_stale_entry_is_removed_and_blocks_nobody() {
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
        let mut governor = Governor::at(dir.clone()).unwrap();
        // A private pool, so that no other test's wrappers share it.
        governor.pool = Pool::at(&dir.join("pool"));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let ghost = Entry {
            pid: dead,
            start: 1,
            state: State::Running,
            since_ms: 0,
            krate: "ghost".into(),
            expected_kib: 10_000_000,
            alone: true,
            child: 0,
            build: "gone".into(),
        };
        governor.pool.write(&ghost).unwrap();
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
        let mine = dir
            .join("pool")
            .join("units")
            .join(std::process::id().to_string());
        let slot = governor
            .admit("small", 10, false)
            .expect("admitted at once");
        assert!(!dir
            .join("pool")
            .join("units")
            .join(dead.to_string())
            .exists());
        assert!(mine.exists());
        assert_eq!(
            slot.check(&mut History::default(), true).0,
            Action::Continue,
            "alone, it never gives way"
        );
        drop(slot);
        assert!(!mine.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
