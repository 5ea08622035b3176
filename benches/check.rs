//! What one `check()` costs in a build script, and its parts.
//!
//! The environment is set as cargo sets it for a build script (dev profile, two jobs). The
//! graph-sized cases estimate calibration/projects/polars-min (polars 0.55.2, 146 crates built
//! of 272 locked) and need its sources in the local cargo registry (`cargo fetch
//! --manifest-path calibration/projects/polars-min/Cargo.toml`); they are skipped with a message
//! without them. "nothing cached" removes the target directory's `lowmem/` cache before every
//! run; "cached" keeps it. `rustc -vV` runs once per process (memoised), as in a real
//! build-script run, so a build script's cost is `check` plus `rustc -vV`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use lowmem_build::{BuildSettings, Config, MemorySnapshot};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Sets the variables cargo gives a build script of the package at `manifest_dir`, with its
/// target directory at `target`.
fn cargo_like_env(manifest_dir: &Path, target: &Path) {
    let out_dir = target.join("debug/build/bench-0/out");
    std::fs::create_dir_all(&out_dir).unwrap();
    for (key, value) in [
        ("OUT_DIR", out_dir.to_str().unwrap()),
        ("NUM_JOBS", "2"),
        ("TARGET", "x86_64-unknown-linux-gnu"),
        ("HOST", "x86_64-unknown-linux-gnu"),
        ("PROFILE", "debug"),
        ("OPT_LEVEL", "0"),
        ("DEBUG", "true"),
        ("CARGO_MANIFEST_DIR", manifest_dir.to_str().unwrap()),
        ("CARGO_ENCODED_RUSTFLAGS", ""),
        ("CARGO_PKG_NAME", "bench"),
        ("CARGO_CFG_UNIX", ""),
        ("CARGO_CFG_TARGET_OS", "linux"),
        ("CARGO_CFG_TARGET_FAMILY", "unix"),
        ("CARGO_CFG_TARGET_ARCH", "x86_64"),
        ("CARGO_CFG_TARGET_ENV", "gnu"),
        ("CARGO_CFG_TARGET_VENDOR", "unknown"),
        ("CARGO_CFG_TARGET_POINTER_WIDTH", "64"),
        ("CARGO_CFG_TARGET_ENDIAN", "little"),
    ] {
        std::env::set_var(key, value);
    }
}

/// Whether the polars project's sources are in the local registry.
fn polars_sources() -> bool {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else {
        return false;
    };
    std::fs::read_dir(src)
        .map(|dirs| {
            dirs.flatten()
                .any(|d| d.path().join("polars-core-0.55.2/Cargo.toml").is_file())
        })
        .unwrap_or(false)
}

fn bench(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::temp_dir().join("lowmem_build-bench/target");
    let mut config = Config::new();
    config.cargo_directives(false);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());

    c.bench_function("rustc -vV (once per build-script run)", |b| {
        b.iter(|| Command::new(&rustc).arg("-vV").output().unwrap())
    });

    if polars_sources() {
        cargo_like_env(&repo.join("calibration/projects/polars-min"), &target);
        let cache = target.join("lowmem");
        c.bench_function("check, polars graph, nothing cached", |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_dir_all(&cache);
                },
                |()| black_box(config.check()),
                BatchSize::PerIteration,
            )
        });
        c.bench_function("check, polars graph, cached", |b| {
            b.iter(|| black_box(config.check()))
        });
    } else {
        eprintln!("skipped the polars graph: its sources are not in the local cargo registry (cargo fetch --manifest-path calibration/projects/polars-min/Cargo.toml)");
    }

    cargo_like_env(repo, &target);
    c.bench_function("check, this repository's graph, cached", |b| {
        b.iter(|| black_box(config.check()))
    });
    c.bench_function("memory probe", |b| {
        b.iter(|| black_box(MemorySnapshot::probe()))
    });
    c.bench_function("build settings (env + manifests)", |b| {
        b.iter(|| black_box(BuildSettings::from_env(None)))
    });
    let report = config.check();
    c.bench_function("directives", |b| b.iter(|| black_box(report.directives())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
