//! A polars-like graph with its own table and model, for tests of what is computed from a graph
//! (the estimate, the tiers, the advice and the split plan) that do not move when the shipped
//! data is regenerated.

use super::{Estimator, Knobs, PeakSource, Phase};
use crate::graph::{Graph, Package, SourceKind};
use crate::settings::{Debuginfo, Lto};
use crate::size::MIB;

/// Peaks (MiB) for the crates of [`polars_like`]: d0, lt, d2, release, then artifacts (KiB).
pub(crate) const TABLE: &str = "\
polars-core\t0.55.2\t*\tlib\t1400\t1600\t2000\t1700\t60000\t90000\t400000\t30000
polars-ops\t0.55.2\t*\tlib\t700\t780\t900\t800\t30000\t50000\t200000\t15000
polars-io\t0.55.2\t*\tlib\t600\t650\t700\t650\t25000\t40000\t150000\t12000
polars-arrow\t0.55.2\t*\tlib\t500\t550\t650\t600\t20000\t30000\t120000\t10000
polars\t0.55.2\t*\tlib\t100\t110\t120\t110\t1000\t1500\t5000\t800
serde_derive\t1.0.200\t*\tproc-macro\t140\t-\t-\t-\t4000\t-\t-\t-
syn\t2.0.100\t*\tlib\t200\t-\t-\t-\t9000\t-\t-\t-
";

/// A model: 50 MiB for a crate of 100 KB and no dependencies; links of 100 MiB plus half their
/// inputs; a pipelined dependent shows 80% of its peak beside a crate's, an independent crate
/// 20%; 20 MiB for cargo and the rest.
pub(crate) const MODEL: &str = "\
crate\td0\t-1.8444\t0.5\t0
crate\tlt\t-1.8444\t0.5\t0
crate\td2\t-1.8444\t0.5\t0
crate\trelease\t-1.8444\t0.5\t0
out\td0\t0\t1\t0
out\tlt\t0\t1\t0
out\td2\t0\t1\t0
out\trelease\t0\t1\t0
link\td0\t100\t0.5
link\tlt\t100\t0.5
link\td2\t100\t0.5
link\trelease\t100\t0.5
build\t-\t0.8\t0.2\t20
script\t-\t30
";

fn package(name: &str, version: &str, deps: &[usize], host: bool) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        source: SourceKind::Registry,
        dir: None,
        crate_name: name.replace('-', "_"),
        proc_macro: false,
        has_build_script: false,
        links: false,
        for_host: host,
        for_target: !host,
        features: Vec::new(),
        features_known: true,
        deps: deps.to_vec(),
        size: Some(crate::graph::SourceSize {
            bytes: 100_000,
            files: 10,
            root_bytes: 1000,
        }),
    }
}

/// app -> polars -> {polars-ops, polars-io} -> polars-core -> {polars-arrow, hashbrown,
/// serde_derive (host) -> syn (host)}, and app -> regex (on its own); `app` links and is the
/// root.
pub(crate) fn polars_like() -> Graph {
    let mut app = package("app", "0.1.0", &[1, 9], false);
    app.links = true;
    app.source = SourceKind::Path;
    let mut serde_derive = package("serde_derive", "1.0.200", &[8], true);
    serde_derive.proc_macro = true;
    Graph::from_packages(
        vec![
            app,                                                 // 0
            package("polars", "0.55.2", &[2, 4], false),         // 1
            package("polars-ops", "0.55.2", &[3], false),        // 2
            package("polars-core", "0.55.2", &[6, 7, 5], false), // 3
            package("polars-io", "0.55.2", &[3], false),         // 4
            serde_derive,                                        // 5
            package("polars-arrow", "0.55.2", &[], false),       // 6
            package("hashbrown", "0.15.0", &[], false),          // 7
            package("syn", "2.0.100", &[], true),                // 8
            package("regex", "1.11.0", &[], false),              // 9
        ],
        vec![0],
    )
}

pub(crate) fn dev_knobs(jobs: u32) -> Knobs {
    Knobs {
        jobs,
        debuginfo: Debuginfo::Full,
        codegen_units: 256,
        lto: Lto::Off,
        optimised: false,
        split_debuginfo: false,
    }
}

impl<'g> Estimator<'g> {
    /// The estimator of `graph` with the test table and model, nothing measured.
    pub(crate) fn for_tests(graph: &'g Graph) -> Estimator<'g> {
        Estimator::with(graph, &[], None, TABLE, MODEL)
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

#[test]
fn the_heaviest_crate_and_what_can_run_beside_it() {
    let graph = polars_like();
    let e = Estimator::for_tests(&graph);
    // One job: polars-core alone (2000) + 20.
    let one = e.estimate(&dev_knobs(1));
    assert_eq!(one.together.len(), 1);
    assert_eq!(one.together[0].name, "polars-core");
    assert_eq!(one.together[0].source, PeakSource::Table);
    assert!((mib(one.peak) - 2020.0).abs() < 1.0, "{}", mib(one.peak));
    // Two jobs: beside polars-core cargo pipelines its library dependents; polars-ops (900)
    // shows 80%, more than polars-io's 80% of 700 or regex's 20% of 50 (independent). Its
    // dependencies and the linking app cannot run then. 2000 + 720 + 20.
    let two = e.estimate(&dev_knobs(2));
    let names: Vec<&str> = two.together.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["polars-core", "polars-ops"]);
    assert!((mib(two.peak) - 2740.0).abs() < 1.0, "{}", mib(two.peak));
    assert_eq!(two.phase, Phase::Compile);
    assert_eq!(two.heaviest[0].name, "polars-core");
    assert_eq!(two.crates, 10);
}

#[test]
fn debuginfo_and_opt_level_pick_the_columns() {
    let graph = polars_like();
    let e = Estimator::for_tests(&graph);
    let d0 = e.estimate(&Knobs {
        debuginfo: Debuginfo::None,
        ..dev_knobs(1)
    });
    assert!((mib(d0.peak) - 1420.0).abs() < 1.0, "{}", mib(d0.peak));
    let release = e.estimate(&Knobs {
        debuginfo: Debuginfo::None,
        optimised: true,
        ..dev_knobs(1)
    });
    assert!((mib(release.peak) - 1720.0).abs() < 1.0);
    // Release with full debuginfo: the release figure scaled as debuginfo scales dev (2000/1400).
    let release_debug = e.estimate(&Knobs {
        optimised: true,
        ..dev_knobs(1)
    });
    let want = 1700.0 * 2000.0 / 1400.0 + 20.0;
    assert!(
        (mib(release_debug.peak) - want).abs() < 1.0,
        "{}",
        mib(release_debug.peak)
    );
    let one_unit = e.estimate(&Knobs {
        codegen_units: 1,
        ..dev_knobs(1)
    });
    assert!(one_unit.peak > 2 * d0.peak);
}

#[test]
fn the_link_is_modelled_from_the_artifacts_it_links() {
    let graph = polars_like();
    let e = Estimator::for_tests(&graph);
    let two = e.estimate(&dev_knobs(2));
    // Inputs: every target crate app depends on (not serde_derive or syn): 400000 + 200000 +
    // 150000 + 120000 + 5000 KiB + hashbrown's and regex's modelled 100000 KiB each.
    let link_mib = 100.0 + 0.5 * 1_075_000.0 / 1024.0;
    assert!(
        (mib(two.link) - (link_mib + 20.0)).abs() < 2.0,
        "{}",
        mib(two.link)
    );
    let host_only = graph
        .packages
        .iter()
        .filter(|p| p.for_host && !p.for_target)
        .count();
    assert_eq!(host_only, 2);
}

#[test]
fn a_measured_peak_wins_over_the_table() {
    let graph = polars_like();
    let mut record = crate::store::Record {
        package: "polars-core".into(),
        version: "0.55.2".into(),
        kind: "lib".into(),
        opt: "0".into(),
        debuginfo: "2".into(),
        emit: "link".into(),
        status: "0".into(),
        anon_kib: 1000 * 1024,
        krate: "polars_core".into(),
        ..Default::default()
    };
    let e = Estimator::with(&graph, &[record.clone()], None, TABLE, MODEL);
    let one = e.estimate(&dev_knobs(1));
    assert_eq!(
        one.heaviest[0].source,
        PeakSource::Measured,
        "{:?}",
        one.heaviest
    );
    assert_eq!(one.heaviest[0].name, "polars-core");
    assert!((mib(one.heaviest[0].peak) - 1000.0).abs() < 1.0);
    // A failed run says nothing.
    record.status = "sig9".into();
    let e = Estimator::with(&graph, &[record], None, TABLE, MODEL);
    assert_eq!(
        e.estimate(&dev_knobs(1)).heaviest[0].source,
        PeakSource::Table
    );
}

#[test]
fn unknown_crates_come_from_the_size_model() {
    let graph = polars_like();
    let e = Estimator::for_tests(&graph);
    let all = e.estimate(&Knobs {
        jobs: 9,
        ..dev_knobs(9)
    });
    let regex = all.together.iter().find(|c| c.name == "regex");
    let regex = regex.expect("regex can compile beside polars-core");
    assert_eq!(regex.source, PeakSource::Model);
    assert!((mib(regex.peak) - 50.0).abs() < 1.0, "{}", mib(regex.peak));
}

/// A build script's environment (dev, two jobs, x86_64 Linux) for the package of
/// `tests/fixtures/graphs/polars`, whose Cargo.lock is polars 0.55.2's real graph; `CARGO_HOME`
/// is the fixture one, which has none of its sources, so every figure comes from the table or,
/// for crates it lacks, the size model at the default size. `extra` is laid on top.
pub(crate) fn polars_build_script_env(extra: &[(&str, &str)]) -> crate::env::Env {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graphs");
    let manifest_dir = fixtures.join("polars").display().to_string();
    let cargo_home = fixtures.join("cargo-home").display().to_string();
    let mut pairs: Vec<(&str, &str)> = vec![
        (
            "OUT_DIR",
            "/nonexistent/target/debug/build/polars-graph-1/out",
        ),
        ("NUM_JOBS", "2"),
        ("TARGET", "x86_64-unknown-linux-gnu"),
        ("HOST", "x86_64-unknown-linux-gnu"),
        ("OPT_LEVEL", "0"),
        ("DEBUG", "true"),
        ("PROFILE", "debug"),
        ("CARGO_PKG_NAME", "polars-graph"),
        ("CARGO_MANIFEST_DIR", &manifest_dir),
        ("CARGO_HOME", &cargo_home),
        ("CARGO_CFG_UNIX", ""),
        ("CARGO_CFG_TARGET_OS", "linux"),
        ("CARGO_CFG_TARGET_FAMILY", "unix"),
        ("CARGO_CFG_TARGET_ARCH", "x86_64"),
        ("CARGO_CFG_TARGET_ENV", "gnu"),
        ("CARGO_CFG_TARGET_VENDOR", "unknown"),
        ("CARGO_CFG_TARGET_POINTER_WIDTH", "64"),
        ("CARGO_CFG_TARGET_ENDIAN", "little"),
        ("CARGO_CFG_TARGET_HAS_ATOMIC", "8,16,32,64,ptr"),
        ("CARGO_CFG_PANIC", "unwind"),
    ];
    pairs.extend_from_slice(extra);
    crate::env::Env::from_pairs(&pairs)
}

/// Where `check()`'s time goes on the polars-min calibration project (its sources must be in the
/// local registry), printed; run with `--ignored --nocapture`.
#[test]
#[ignore]
fn time_the_parts_on_polars() {
    use std::time::Instant;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/projects/polars-min");
    let target = std::env::temp_dir().join("lowmem-time-parts/target");
    let out = target.join("debug/build/x-1/out");
    std::fs::create_dir_all(&out).unwrap();
    let env = polars_build_script_env(&[
        ("CARGO_MANIFEST_DIR", dir.to_str().unwrap()),
        ("OUT_DIR", out.to_str().unwrap()),
        (
            "CARGO_HOME",
            &format!("{}/.cargo", std::env::var("HOME").unwrap()),
        ),
        ("CARGO_PKG_NAME", "cal-polars-min"),
    ]);
    for round in 0..3 {
        let t = Instant::now();
        let settings = crate::settings::read::read_settings(&env, None, None);
        let t_settings = t.elapsed();
        let t = Instant::now();
        let root = crate::probe::fs::SystemRoot::new("/");
        let rows = super::table::rows(super::table::SHIPPED);
        let inputs = super::read::read(&env, &root, &settings, None, &rows).unwrap();
        let t_graph = t.elapsed();
        let t = Instant::now();
        let e = Estimator::new(&inputs.graph, &inputs.store, None, &rows);
        let t_new = t.elapsed();
        let t = Instant::now();
        let knobs = Knobs::from_settings(&settings);
        for _ in 0..10 {
            let _ = e.estimate(&knobs);
        }
        let t_ten = t.elapsed();
        let t = Instant::now();
        let _ = crate::probe::probe(&root);
        let t_probe = t.elapsed();
        println!(
            "round {round}: settings {t_settings:?} graph {t_graph:?} ({} packages) estimator {t_new:?} ten estimates {t_ten:?} probe {t_probe:?}",
            inputs.graph.packages.len()
        );
    }
}
