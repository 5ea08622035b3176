//! What one `check()` costs in a build script, and its parts.
//!
//! The environment is set as cargo sets it for a build script of this repository (dev profile,
//! two jobs). `rustc -vV` runs once per process (memoised), as in a real build-script run, so
//! the end-to-end figure is `check (warm)` plus `rustc -vV`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lowmem_build::{BuildSettings, Config, MemorySnapshot};
use std::process::Command;

fn cargo_like_env() {
    let repo = env!("CARGO_MANIFEST_DIR");
    let out_dir = std::env::temp_dir().join("lowmem_build-bench/target/debug/build/app-0/out");
    std::fs::create_dir_all(&out_dir).unwrap();
    for (key, value) in [
        ("OUT_DIR", out_dir.to_str().unwrap()),
        ("NUM_JOBS", "2"),
        ("TARGET", "x86_64-unknown-linux-gnu"),
        ("HOST", "x86_64-unknown-linux-gnu"),
        ("PROFILE", "debug"),
        ("OPT_LEVEL", "0"),
        ("DEBUG", "true"),
        ("CARGO_MANIFEST_DIR", repo),
        ("CARGO_ENCODED_RUSTFLAGS", ""),
        ("CARGO_PKG_NAME", "app"),
    ] {
        std::env::set_var(key, value);
    }
}

fn bench(c: &mut Criterion) {
    cargo_like_env();
    let mut config = Config::new();
    config.cargo_directives(false);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());

    c.bench_function("rustc -vV (once per build-script run)", |b| {
        b.iter(|| Command::new(&rustc).arg("-vV").output().unwrap())
    });
    c.bench_function("check (warm: rustc -vV memoised)", |b| {
        b.iter(|| black_box(config.check()))
    });
    c.bench_function("memory probe", |b| {
        b.iter(|| black_box(MemorySnapshot::probe()))
    });
    c.bench_function("build settings (env + manifests)", |b| {
        b.iter(|| black_box(BuildSettings::from_env(None)))
    });
    let memory = MemorySnapshot::probe();
    let settings = BuildSettings::from_env(None);
    c.bench_function("assessment and advice", |b| {
        b.iter(|| black_box(config.report(memory.clone(), settings.clone())))
    });
    let report = config.report(memory.clone(), settings.clone());
    c.bench_function("directives", |b| b.iter(|| black_box(report.directives())));
    let mut short = Config::new();
    short.memory(1 << 30);
    c.bench_function("assessment and advice (1 GiB, all fixes)", |b| {
        b.iter(|| black_box(short.report(memory.clone(), settings.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
