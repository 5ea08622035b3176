//! What reading a build's dependency graph costs: the polars 0.55.2 graph of
//! `tests/fixtures/graphs/polars` (about 270 packages reached) against this machine's real cargo
//! registry, cold (no cache: every manifest parsed and every source directory listed) and with
//! the cache of registry packages' facts; and the small fixture graph of
//! `tests/fixtures/graphs/app` with its fake cargo home, which needs nothing fetched.
//!
//! The polars part needs its sources: `cargo fetch` in `tests/fixtures/graphs/polars` first;
//! without them it is skipped with a message. Build scripts run the reader unoptimised; the
//! graph test `the_real_polars_graph_timing` prints those figures (`cargo test --lib
//! the_real_polars_graph_timing -- --nocapture`).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lowmem_build::fuzz::read_graph;
use std::path::{Path, PathBuf};

/// This machine's cargo home when the polars graph's sources are in its registry.
fn fetched_cargo_home() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let indexes = std::fs::read_dir(home.join("registry/src")).ok()?;
    let fetched = indexes
        .flatten()
        .any(|index| index.path().join("polars-core-0.55.2/Cargo.toml").is_file());
    fetched.then_some(home)
}

fn bench_graph(c: &mut Criterion, name: &str, workspace: &Path, root: &str, home: &Path) {
    let cache = std::env::temp_dir().join(format!("lowmem_build-bench-graph-cache-{name}"));
    let _ = std::fs::remove_dir_all(&cache);
    let packages = read_graph(workspace, root, home, Some(&cache));
    println!("{name} graph: {packages} packages");
    let mut group = c.benchmark_group(format!("{name} graph"));
    group.sample_size(20);
    group.bench_function("cold (no cache)", |b| {
        b.iter(|| black_box(read_graph(workspace, root, home, None)))
    });
    group.bench_function("cached", |b| {
        b.iter(|| black_box(read_graph(workspace, root, home, Some(&cache))))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&cache);
}

fn bench(c: &mut Criterion) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graphs");
    match fetched_cargo_home() {
        Some(home) => bench_graph(c, "polars", &fixtures.join("polars"), "polars-graph", &home),
        None => println!(
            "polars graph skipped: its sources are not in the cargo registry (run `cargo fetch` in {})",
            fixtures.join("polars").display()
        ),
    }
    let fake_home = fixtures.join("cargo-home");
    bench_graph(c, "app", &fixtures.join("app"), "app", &fake_home);
}

criterion_group!(benches, bench);
criterion_main!(benches);
