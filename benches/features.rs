//! What the feature check costs: one `cargo tree` on the fixture workspace (local stand-ins for
//! polars and polars-core, 9 members), cold and with the verdict cached in OUT_DIR.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lowmem_build::Config;
use std::path::Path;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let member = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features/ws/minimal");
    let manifest = member.join("Cargo.toml");
    let out_dir = std::env::temp_dir().join("lowmem_build-bench-features/out");
    std::fs::create_dir_all(&out_dir).unwrap();

    let mut cold = Config::new();
    cold.cargo_directives(false)
        .polars_minimal_dtypes()
        .manifest_path(&manifest)
        .env_var("OUT_DIR", None);
    assert!(
        cold.check().features.checked,
        "the fixture must be checkable"
    );

    let mut cached = cold.clone();
    cached.env_var("OUT_DIR", Some(out_dir.to_str().unwrap()));
    cached.check();
    assert!(
        cached.check().features.cached,
        "the second run must hit the cache"
    );

    let mut group = c.benchmark_group("feature check");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("cold (one cargo tree)", |b| {
        b.iter(|| black_box(cold.check()))
    });
    group.bench_function("cached in OUT_DIR", |b| {
        b.iter(|| black_box(cached.check()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
