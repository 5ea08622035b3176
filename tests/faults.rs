//! The give-way step at every moment of a rustc's life, in real cargo builds: the governor
//! kills (or stops) one rustc before its metadata notice, after it while a dependent compiles
//! against the `.rmeta`, during codegen, and while it links. cargo never panics, the build
//! finishes, and the program it built runs. The faults are injected through the wrapper's
//! internal `LOWMEM_BUILD_FAULT` (`src/bin/cargo-lowmem/fault.rs`), which acts through the same
//! code as the governor's own decisions.
//!
//! Before the fix this guards, a rustc killed after its notice and run again sent cargo a second
//! notice, and cargo 1.95 panicked in `dependency_queue.rs` (`mid:codegen:kill` and
//! `mid:dependent:kill` below, every time).

mod common;

use common::{generate_lockfile, generated_source, isolated_command, temp_dir, write_files};
use std::path::Path;

const LOWMEM: &str = env!("CARGO_BIN_EXE_cargo-lowmem");

/// A workspace of three: `mid` (a library heavy enough to take seconds), `top` (a library that
/// depends on it, so it starts as soon as mid's metadata is out) and `app` (a binary using both,
/// which links).
fn workspace() -> std::path::PathBuf {
    let dir = temp_dir("faults");
    let mid = generated_source(4_000, "f");
    let top = format!("pub use mid::f1;\n{}", generated_source(2_500, "g"));
    write_files(
        &dir,
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"mid\", \"top\", \"app\"]\nresolver = \"2\"\n",
            ),
            (
                "mid/Cargo.toml",
                "[package]\nname = \"mid\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("mid/src/lib.rs", &mid),
            (
                "top/Cargo.toml",
                "[package]\nname = \"top\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmid = { path = \"../mid\" }\n",
            ),
            ("top/src/lib.rs", &top),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmid = { path = \"../mid\" }\ntop = { path = \"../top\" }\n",
            ),
            (
                "app/src/main.rs",
                "fn main() { println!(\"{} {}\", top::g5(3), mid::f7(4)); }\n",
            ),
        ],
    );
    generate_lockfile(&dir);
    dir
}

/// One governed build from clean with `fault` injected: its stderr, after checking that cargo
/// did not panic, the build finished and the program prints what it should.
fn build_with(dir: &Path, fault: &str) -> String {
    let target = dir.join("target");
    let _ = std::fs::remove_dir_all(&target);
    let out = isolated_command(LOWMEM, dir, &target, &["lowmem", "build", "-j2"])
        .env("LOWMEM_BUILD_FAULT", fault)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "{fault}: cargo panicked\n{stderr}"
    );
    assert!(out.status.success(), "{fault}: the build failed\n{stderr}");
    let run = std::process::Command::new(target.join("debug/app"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "254 2854\n",
        "{fault}: the program"
    );
    stderr
}

#[test]
fn a_rustc_killed_at_any_moment_is_retried_and_cargo_carries_on() {
    let dir = workspace();
    for (fault, when) in [
        ("mid:start:kill", "before its metadata was announced"),
        ("mid:dependent:kill", "after its metadata was announced"),
        ("mid:codegen:kill", "after its metadata was announced"),
        ("app:link:kill", ""),
    ] {
        let stderr = build_with(&dir, fault);
        let krate = fault.split(':').next().unwrap();
        let retried = format!("Retrying {krate}: killed to make room ({when}");
        assert!(
            stderr.contains(&retried),
            "{fault}: no `{retried}`\n{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rustc_stopped_at_any_moment_resumes_and_cargo_carries_on() {
    let dir = workspace();
    for fault in [
        "mid:start:stop",
        "mid:dependent:stop",
        "mid:codegen:stop",
        "app:link:stop",
    ] {
        let stderr = build_with(&dir, fault);
        let krate = fault.split(':').next().unwrap();
        assert!(
            stderr.contains(&format!("Stopped {krate} (")),
            "{fault}\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("Resumed {krate} (after 2.")),
            "{fault}\n{stderr}"
        );
        assert!(!stderr.contains("Retrying"), "{fault}\n{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rustc killed by something else than the governor or the OOM killer (here: this test) is
/// not retried, and the post-mortem says so, without claiming an OOM kill.
#[test]
fn a_rustc_killed_from_outside_is_named_as_such() {
    let dir = workspace();
    let target = dir.join("target");
    let child = isolated_command(LOWMEM, &dir, &target, &["lowmem", "build", "-j2"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let killed = loop {
        assert!(started.elapsed().as_secs() < 60, "mid's rustc never seen");
        if let Some(pid) = rustc_of("mid", &target) {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let status = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap();
            break status.success();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(killed);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("Retrying"), "{stderr}");
    assert!(
        stderr.contains("error: cargo-lowmem: rustc compiling mid (it held ")
            && stderr.contains("cargo-lowmem did not kill it: something else did"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pid of a rustc compiling `krate` into `target`.
fn rustc_of(krate: &str, target: &Path) -> Option<u32> {
    let target = target.to_str()?;
    common::processes()
        .into_iter()
        .find(|p| p.compiles(krate) && p.argv.iter().any(|a| a.starts_with(target)))
        .map(|p| p.pid)
}
