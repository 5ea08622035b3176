//! What the feature check costs: one `cargo tree` on the fixture workspace (local stand-ins for
//! polars and polars-core, 9 members), and on a generated graph of polars' size (320 local
//! packages with 30 features each, polars and polars-core among them), cold and with the verdict
//! cached in OUT_DIR. The budget is 600 ms cold on the polars-sized graph.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lowmem_build::Config;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Packages in the generated graph, as many as polars 0.55.2 with lazy and ipc resolves.
const PACKAGES: usize = 320;
const FEATURES: usize = 30;

/// Writes a workspace whose `app` member reaches 320 local packages, each with 30 features that
/// forward to its dependencies' features, and locks it (offline: everything is local).
fn generated_graph() -> PathBuf {
    let root = std::env::temp_dir().join("lowmem_build-bench-graph");
    let _ = std::fs::remove_dir_all(&root);
    let name = |i: usize| match i {
        0 => "polars-core".to_string(),
        1 => "polars".to_string(),
        i => format!("pkg{i:03}"),
    };
    for i in 0..PACKAGES {
        // Each package depends on up to three earlier ones, so the graph is deep and shared.
        let deps: Vec<usize> = [i / 2, i / 3, i.saturating_sub(7)]
            .into_iter()
            .filter(|&d| d < i)
            .fold(Vec::new(), |mut v, d| {
                if !v.contains(&d) {
                    v.push(d);
                }
                v
            });
        let mut manifest = format!(
            "[package]\nname = \"{}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
            name(i)
        );
        for d in &deps {
            let _ = writeln!(manifest, "{} = {{ path = \"../{}\" }}", name(*d), name(*d));
        }
        manifest.push_str("\n[features]\n");
        for f in 0..FEATURES {
            let forwards: Vec<String> = deps
                .iter()
                .map(|d| format!("\"{}/f{f:02}\"", name(*d)))
                .collect();
            let _ = writeln!(manifest, "f{f:02} = [{}]", forwards.join(", "));
        }
        for dtype in ["dtype-i8", "dtype-date", "dtype-full"] {
            let forwards = if i == 1 {
                format!("\"polars-core/{dtype}\"")
            } else {
                String::new()
            };
            let _ = writeln!(manifest, "{dtype} = [{forwards}]");
        }
        let dir = root.join(name(i));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    }
    let app_deps: String = (PACKAGES - 10..PACKAGES)
        .map(|i| {
            format!(
                "{} = {{ path = \"../{}\", features = [\"f{:02}\"] }}\n",
                name(i),
                name(i),
                i % FEATURES
            )
        })
        .collect();
    let app = format!(
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n\
         polars = {{ path = \"../polars\", features = [\"dtype-i8\", \"dtype-date\"] }}\n{app_deps}"
    );
    std::fs::create_dir_all(root.join("app/src")).unwrap();
    std::fs::write(root.join("app/Cargo.toml"), app).unwrap();
    std::fs::write(root.join("app/src/lib.rs"), "").unwrap();
    let members: Vec<String> = std::iter::once("\"app\"".to_string())
        .chain((0..PACKAGES).map(|i| format!("\"{}\"", name(i))))
        .collect();
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    )
    .unwrap();
    let locked = Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--offline", "--quiet"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(locked.success(), "could not lock the generated graph");
    root.join("app/Cargo.toml")
}

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

    let app = generated_graph();
    let mut big = cold.clone();
    big.manifest_path(&app);
    let report = big.check();
    assert!(report.features.checked, "{:?}", report.features);
    assert!(
        report.features.violations.is_empty(),
        "{:?}",
        report.features.violations
    );
    group.bench_function("cold, polars-sized graph (320 packages)", |b| {
        b.iter(|| black_box(big.check()))
    });
    let mut big_cached = big.clone();
    big_cached.env_var("OUT_DIR", Some(out_dir.to_str().unwrap()));
    big_cached.check();
    group.bench_function("cached, polars-sized graph", |b| {
        b.iter(|| black_box(big_cached.check()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
