//! What reading a build's dependency graph costs, optimised (build scripts run it unoptimised:
//! the graph test `the_calibration_graphs_timing` prints those figures, `cargo test --lib
//! the_calibration_graphs_timing -- --nocapture`).
//!
//! The graphs of `calibration/projects/polars-min` (146 packages built of 272 locked) and
//! `calibration/projects/datafusion` (253) against this machine's real cargo registry: cold (no
//! cache at all: every manifest read and the features resolved), without and with measuring
//! every package's sources, and cached (the whole graph read back from the cache directory).
//! And the small fixture graph of `tests/fixtures/graphs/app` with its fake cargo home, which
//! needs nothing fetched. A project whose sources are not in the registry (`cargo fetch` in its
//! directory) is skipped with a message.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lowmem_build::fuzz::read_graph;
use std::path::{Path, PathBuf};

/// This machine's cargo home.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

/// Whether the registry holds `package` (`name-version`).
fn fetched(home: &Path, package: &str) -> bool {
    let indexes = std::fs::read_dir(home.join("registry/src"));
    indexes
        .into_iter()
        .flatten()
        .flatten()
        .any(|index| index.path().join(package).join("Cargo.toml").is_file())
}

fn bench_graph(c: &mut Criterion, name: &str, workspace: &Path, root: &str, home: &Path) {
    let cache = std::env::temp_dir().join(format!("lowmem_build-bench-graph-cache-{name}"));
    let _ = std::fs::remove_dir_all(&cache);
    let packages = read_graph(workspace, root, home, Some(&cache), true);
    println!("{name} graph: {packages} packages");
    let mut group = c.benchmark_group(format!("{name} graph"));
    group.sample_size(20);
    group.bench_function("cold, no sizes", |b| {
        b.iter(|| black_box(read_graph(workspace, root, home, None, false)))
    });
    group.bench_function("cold, every size", |b| {
        b.iter(|| black_box(read_graph(workspace, root, home, None, true)))
    });
    group.bench_function("cached", |b| {
        b.iter(|| black_box(read_graph(workspace, root, home, Some(&cache), true)))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&cache);
}

fn bench(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let projects = repo.join("calibration/projects");
    let home = cargo_home();
    for (project, root, probe) in [
        ("polars-min", "cal-polars-min", "polars-core-0.55.2"),
        ("datafusion", "cal-datafusion", "datafusion-51.0.0"),
    ] {
        match &home {
            Some(home) if fetched(home, probe) => {
                bench_graph(c, project, &projects.join(project), root, home)
            }
            _ => println!(
                "{project} graph skipped: its sources are not in the cargo registry (run `cargo fetch` in {})",
                projects.join(project).display()
            ),
        }
    }
    let fixtures = repo.join("tests/fixtures/graphs");
    let fake_home = fixtures.join("cargo-home");
    bench_graph(c, "app", &fixtures.join("app"), "app", &fake_home);
}

criterion_group!(benches, bench);
criterion_main!(benches);
