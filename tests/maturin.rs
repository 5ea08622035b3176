//! maturin, the PyO3 path, for real: `cargo lowmem exec -- maturin build` and `maturin develop`
//! on a PyO3 extension that depends on two heavy crates, in a 1 GiB memory cgroup where a plain
//! `maturin build` is OOM-killed. maturin first runs `$RUSTC_WRAPPER rustc -vV` with a bare
//! `rustc`, which `cargo-lowmem` once took for its own `rustc` subcommand.
//!
//! Needs maturin on PATH (`pip install maturin`; `.ci/run` installs it into a virtualenv), the
//! fixture's crates in the cargo cache (`.ci/run` fetches them), root and a memory cgroup; each
//! missing piece is a printed reason and a pass.

mod common;

use common::{copy_dir, generated_source, temp_dir, tool, Cgroup};

use std::process::Command;

const LOWMEM: &str = env!("CARGO_BIN_EXE_cargo-lowmem");

#[test]
fn maturin_build_and_develop_are_governed() {
    let Some(maturin) = tool("maturin") else {
        return;
    };
    let Some(cgroup) = Cgroup::new("maturin", 1024) else {
        return;
    };
    let dir = temp_dir("maturin");
    copy_dir(&common::repo().join("tests/fixtures/pyo3-heavy"), &dir);
    let target = dir.join("target");
    let maturin = maturin.to_str().unwrap();
    // The crates must be in the cargo cache (offline): otherwise say so and pass.
    let fetched = Command::new(env!("CARGO"))
        .args(["fetch", "--locked", "--offline"])
        .current_dir(&dir)
        .status()
        .unwrap();
    if !fetched.success() {
        eprintln!("skipped: pyo3 is not in the cargo cache (cargo fetch --manifest-path tests/fixtures/pyo3-heavy/Cargo.toml)");
        return;
    }

    // `cargo lowmem exec -- maturin build`, which must finish with no more OOM kills than
    // `kills`: its stderr.
    let governed_build = |kills: u64| {
        let (ok, stderr) = cgroup.run(
            &dir,
            &target,
            LOWMEM,
            &["lowmem", "exec", "--", maturin, "build"],
        );
        assert!(ok, "{stderr}");
        assert!(stderr.contains("Built wheel"), "{stderr}");
        assert_eq!(cgroup.oom_kills(), kills, "{stderr}");
        stderr
    };

    // From clean, governed, with the heavy crates still light: pyo3 and the rest are built.
    governed_build(0);

    // Now heavy: both crates are all that is left to build, so cargo starts them together.
    for c in ["a", "b"] {
        std::fs::write(
            dir.join(format!("heavy-{c}/src/lib.rs")),
            generated_source(11_000, "f"),
        )
        .unwrap();
    }
    // Plain maturin: both heavy crates at once do not fit.
    let (ok, stderr) = cgroup.run(&dir, &target, maturin, &["build"]);
    assert!(!ok, "plain maturin build fitted after all:\n{stderr}");
    assert!(cgroup.oom_kills() >= 1, "{stderr}");
    let kills = cgroup.oom_kills();

    // Governed: one after the other.
    let stderr = governed_build(kills);
    let wheels = std::fs::read_dir(target.join("wheels")).unwrap().count();
    assert_eq!(wheels, 1);
    let records = lowmem_build::store::read(&lowmem_build::store::path_in(&target));
    for krate in ["heavy_a", "heavy_b", "pyheavy"] {
        assert!(
            records.iter().any(|r| r.krate == krate && r.succeeded()),
            "{krate} measured\n{stderr}"
        );
    }

    // `maturin develop` into a virtualenv, governed; the module imports and works.
    let venv = dir.join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = cgroup
        .command(
            &dir,
            &target,
            LOWMEM,
            &["lowmem", "exec", "--", maturin, "develop"],
        )
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(cgroup.oom_kills(), kills, "{stderr}");
    let imported = Command::new(venv.join("bin/python"))
        .args(["-c", "import pyheavy; print(pyheavy.sum_as_string(2, 3))"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&imported.stdout), "5\n");
    let _ = std::fs::remove_dir_all(&dir);
}
