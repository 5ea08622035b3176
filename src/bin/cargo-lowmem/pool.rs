//! The pool: where the wrappers of every governed build that shares one memory limit see each
//! other. Two builds at once (an editor's `cargo check` through the always-on wrapper beside a
//! build in a terminal, two workspaces, maturin beside `cargo test`) draw on the same memory,
//! so they share one queue and one budget: each rustc waiting, running or stopped has an entry
//! here, whichever build it belongs to.
//!
//! The pool of a memory limit is `<base>/<key>/`: the base is `LOWMEM_BUILD_POOL_DIR` when set,
//! else `/tmp/lowmem-build-<uid>` (a directory of this user's, mode 0700, refused when someone
//! else owns it); the key names the memory cgroup whose limit applies (the smallest over the
//! process's cgroup and its ancestors), or `machine` when no cgroup limits memory. Where no pool
//! can be had, each build has its own (in its governor directory), as before pools existed.
//!
//! Inside:
//! - `lock`: taken with `flock` around every read-decide-write, released by the kernel if a
//!   wrapper dies holding it;
//! - `units/<wrapper pid>`: one line per rustc (pid, process start time, state, since, crate,
//!   expected KiB, alone, the pid whose memory is sampled, the build); a file whose process is
//!   gone (or whose pid was reused: the start time differs) is stale and removed by whoever sees
//!   it.

use crate::sys;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

/// Overrides where pools are made.
pub const BASE_VAR: &str = "LOWMEM_BUILD_POOL_DIR";

/// A pool directory.
#[derive(Debug, Clone)]
pub struct Pool {
    dir: PathBuf,
}

/// Where a rustc is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Waiting,
    Running,
    /// Stopped by the governor to make room.
    Stopped,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Running => "running",
            State::Stopped => "stopped",
        }
    }

    fn parse(word: &str) -> Option<State> {
        match word {
            "waiting" => Some(State::Waiting),
            "running" => Some(State::Running),
            "stopped" => Some(State::Stopped),
            _ => None,
        }
    }
}

/// One entry of `units/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The wrapper's pid.
    pub pid: u32,
    /// The wrapper's start time (with the pid, names the process).
    pub start: u64,
    pub state: State,
    /// Since when it waits, or when it was admitted, ms since the epoch.
    pub since_ms: u64,
    pub krate: String,
    pub expected_kib: u64,
    pub alone: bool,
    /// The process whose tree holds its memory (rustc, or the wrapper it runs rustc through),
    /// 0 until it starts.
    pub child: u32,
    /// The build it belongs to (its governor directory's name).
    pub build: String,
}

impl Entry {
    pub fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            self.pid,
            self.start,
            self.state.word(),
            self.since_ms,
            self.krate,
            self.expected_kib,
            u8::from(self.alone),
            self.child,
            self.build
        )
    }

    pub fn parse(text: &str) -> Option<Entry> {
        let f: Vec<&str> = text.trim_end().split('\t').collect();
        Some(Entry {
            pid: f.first()?.parse().ok()?,
            start: f.get(1)?.parse().ok()?,
            state: State::parse(f.get(2)?)?,
            since_ms: f.get(3)?.parse().ok()?,
            krate: f.get(4)?.to_string(),
            expected_kib: f.get(5)?.parse().ok()?,
            alone: *f.get(6)? == "1",
            child: f.get(7)?.parse().ok()?,
            build: f.get(8).map_or_else(String::new, |b| b.to_string()),
        })
    }
}

impl Pool {
    /// The pool of the memory limit this process is under (see the module docs), or `own` (a
    /// build's private directory) where none can be had.
    pub fn shared_or(own: &Path) -> Pool {
        let made = |dir: &Path| fs::create_dir_all(dir.join("units")).is_ok();
        let dir = base()
            .map(|base| base.join(key()))
            .filter(|dir| made(dir))
            .unwrap_or_else(|| {
                made(own);
                own.to_path_buf()
            });
        Pool { dir }
    }

    /// The pool in `dir`.
    #[cfg(test)]
    pub fn at(dir: &Path) -> Pool {
        let _ = fs::create_dir_all(dir.join("units"));
        Pool {
            dir: dir.to_path_buf(),
        }
    }

    /// Takes the pool's lock, held until the file is dropped; `None` when it cannot be had.
    pub fn lock(&self) -> Option<File> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("lock"))
            .ok()?;
        sys::lock_exclusive(&file).then_some(file)
    }

    fn path(&self, pid: u32) -> PathBuf {
        self.dir.join("units").join(pid.to_string())
    }

    /// Writes (or replaces) an entry.
    pub fn write(&self, entry: &Entry) -> std::io::Result<()> {
        fs::create_dir_all(self.dir.join("units"))?;
        crate::files::write_whole(&self.path(entry.pid), &entry.line())
    }

    /// Removes this wrapper's entry.
    pub fn remove(&self, pid: u32) {
        let _ = fs::remove_file(self.path(pid));
    }

    /// Every live entry; stale ones (their process gone or replaced) and unreadable ones are
    /// removed.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        let Ok(files) = fs::read_dir(self.dir.join("units")) else {
            return out;
        };
        for file in files.flatten() {
            if file.file_name().to_string_lossy().ends_with(".tmp") {
                continue; // being written (see `files::write_whole`)
            }
            let Some(entry) = fs::read_to_string(file.path())
                .ok()
                .and_then(|t| Entry::parse(&t))
            else {
                let _ = fs::remove_file(file.path());
                continue;
            };
            if start_time(entry.pid) != Some(entry.start) {
                let _ = fs::remove_file(file.path());
                continue;
            }
            out.push(entry);
        }
        out
    }
}

/// Where pools are made: `LOWMEM_BUILD_POOL_DIR`, else `/tmp/lowmem-build-<uid>`, made with
/// mode 0700 and used only when this user owns it and it is a real directory.
fn base() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(BASE_VAR).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        let uid = fs::metadata("/proc/self").ok()?.uid();
        let dir = PathBuf::from(format!("/tmp/lowmem-build-{uid}"));
        let _ = fs::DirBuilder::new().mode(0o700).create(&dir);
        let meta = fs::symlink_metadata(&dir).ok()?;
        (meta.is_dir() && meta.uid() == uid).then_some(dir)
    }
    #[cfg(not(unix))]
    None
}

/// The name of the memory this process draws on: the cgroup whose limit applies, or
/// `machine`.
fn key() -> String {
    let snapshot = lowmem_build::MemorySnapshot::probe_free();
    match snapshot.cgroup.and_then(|c| c.limit) {
        Some(limit) => key_of(&limit.cgroup),
        None => "machine".to_string(),
    }
}

/// A directory name for a cgroup path: its last part, readable, and a hash of the whole.
fn key_of(cgroup: &str) -> String {
    let last: String = cgroup
        .rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or("root")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    // FNV-1a: stable across runs and versions, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in cgroup.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("cgroup-{last}-{hash:016x}")
}

/// A process's start time (clock ticks since boot, field 22 of /proc/<pid>/stat): with the pid,
/// it names a process uniquely.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_back() {
        let entry = Entry {
            pid: 12,
            start: 345,
            state: State::Stopped,
            since_ms: 1000,
            krate: "polars_core".into(),
            expected_kib: 2_000_000,
            alone: true,
            child: 99,
            build: "4242".into(),
        };
        assert_eq!(Entry::parse(&entry.line()), Some(entry));
        assert_eq!(Entry::parse("garbage"), None);
        assert_eq!(
            Entry::parse("1\t2\tpaused\t3\tx\t4\t0\t0\tb"),
            None,
            "an unknown state"
        );
    }

    #[test]
    fn keys_name_the_cgroup_readably_and_uniquely() {
        let a = key_of("/process_api/0cd5f588/lowmem-test-fits-12");
        assert!(a.starts_with("cgroup-lowmem-test-fits-12-"), "{a}");
        assert_ne!(a, key_of("/other/lowmem-test-fits-12"));
        assert_eq!(a, key_of("/process_api/0cd5f588/lowmem-test-fits-12"));
        assert!(key_of("/").starts_with("cgroup-root-"));
        assert!(key_of("/a b/ü").starts_with("cgroup-_-"));
    }

    #[test]
    fn this_process_has_a_start_time_and_a_dead_one_has_none() {
        assert!(start_time(std::process::id()).is_some());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(start_time(pid), None);
    }

    /// The default base is this user's own directory, mode 0700.
    #[cfg(unix)]
    #[test]
    fn the_base_is_private() {
        use std::os::unix::fs::PermissionsExt;
        if std::env::var_os(BASE_VAR).is_some() {
            return;
        }
        let base = base().expect("a base under /tmp");
        let mode = fs::metadata(&base).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", base.display());
    }
}
