//! Tests of the whole read: fixture lock files and registry trees under
//! `tests/fixtures/graphs/`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty directory for one test.
pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lowmem-graph-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

use super::{read, CfgSet, Graph, Inputs, Root};
use std::path::Path;
use std::time::Instant;

/// `rustc --print cfg` on x86_64 Linux, debug profile.
const LINUX: &str = "debug_assertions\noverflow_checks\npanic=\"unwind\"\nrelocation_model=\"pic\"\ntarget_abi=\"\"\ntarget_arch=\"x86_64\"\ntarget_endian=\"little\"\ntarget_env=\"gnu\"\ntarget_family=\"unix\"\ntarget_feature=\"fxsr\"\ntarget_feature=\"sse\"\ntarget_feature=\"sse2\"\ntarget_has_atomic=\"16\"\ntarget_has_atomic=\"32\"\ntarget_has_atomic=\"64\"\ntarget_has_atomic=\"8\"\ntarget_has_atomic=\"ptr\"\ntarget_os=\"linux\"\ntarget_pointer_width=\"64\"\ntarget_vendor=\"unknown\"\nunix\n";

/// `rustc --print cfg --target x86_64-pc-windows-msvc`.
const WINDOWS: &str = "debug_assertions\noverflow_checks\npanic=\"unwind\"\ntarget_abi=\"\"\ntarget_arch=\"x86_64\"\ntarget_endian=\"little\"\ntarget_env=\"msvc\"\ntarget_family=\"windows\"\ntarget_feature=\"fxsr\"\ntarget_feature=\"sse\"\ntarget_feature=\"sse2\"\ntarget_has_atomic=\"16\"\ntarget_has_atomic=\"32\"\ntarget_has_atomic=\"64\"\ntarget_has_atomic=\"8\"\ntarget_has_atomic=\"ptr\"\ntarget_os=\"windows\"\ntarget_pointer_width=\"64\"\ntarget_vendor=\"pc\"\nwindows\n";

pub(crate) fn linux() -> CfgSet {
    CfgSet::from_rustc_print(Some("x86_64-unknown-linux-gnu"), LINUX)
}

pub(crate) fn windows() -> CfgSet {
    CfgSet::from_rustc_print(Some("x86_64-pc-windows-msvc"), WINDOWS)
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The machine's cargo home, when the polars graph's sources have been fetched into it.
fn fetched_cargo_home() -> Option<PathBuf> {
    let env = crate::env::Env::process(&[]);
    let home = env.cargo_home()?;
    let probe = [
        "polars-core-0.55.2",
        "polars-io-0.55.2",
        "windows-sys-0.61.2",
    ];
    let src = std::fs::read_dir(home.join("registry/src")).ok()?;
    let has_all = src
        .flatten()
        .any(|index| probe.iter().all(|p| index.path().join(p).is_dir()));
    has_all.then_some(home)
}

fn polars_graph(home: &Path, target: &CfgSet, cache: Option<&Path>) -> Graph {
    read(&Inputs {
        workspace: &repo().join("tests/fixtures/graphs/polars"),
        roots: &[Root::Name("polars-graph".into())],
        target,
        host: &linux(),
        dev_deps: false,
        cargo_home: Some(home),
        cache_dir: cache,
    })
}

#[test]
fn the_real_polars_graph() {
    let Some(home) = fetched_cargo_home() else {
        println!("skipped: the polars 0.55.2 sources are not in the cargo registry (run `cargo fetch` in tests/fixtures/graphs/polars)");
        return;
    };
    let cache = scratch_dir("polars-cache");
    let cold = polars_graph(&home, &linux(), Some(&cache));
    let cached = polars_graph(&home, &linux(), Some(&cache));
    assert_eq!(cold, cached, "the cache gives the same graph");
    assert!(cold.problems.is_empty(), "{:#?}", cold.problems);
    let core = cold.find("polars-core").unwrap();
    let polars_core = &cold.packages[core];
    assert!(polars_core.for_target && !polars_core.for_host && polars_core.has_build_script);
    let size = polars_core.size.unwrap();
    assert!(size.bytes > 1_000_000 && size.files > 100, "{size:?}");
    assert!(cold.find("windows-sys").is_none() && cold.find("winapi").is_none());
    let root = cold.roots[0];
    assert_eq!(cold.packages[root].name, "polars-graph");
    assert!(cold.packages[root].links);
    for (index, package) in cold.packages.iter().enumerate() {
        if package.proc_macro {
            assert!(package.for_host && !package.for_target, "{}", package.name);
        }
        assert!(package.dir.is_some(), "{}", package.name);
        assert!(
            index == root || cold.depends_on(root, index),
            "{}",
            package.name
        );
    }
    for proc_macro in ["strum_macros", "serde_derive"] {
        let found = cold.find(proc_macro).map(|i| &cold.packages[i]);
        assert!(found.is_some_and(|p| p.proc_macro), "{proc_macro}");
    }
    let polars = cold.find("polars").unwrap();
    assert!(cold.depends_on(polars, core) && !cold.depends_on(core, polars));
    assert!(cold.comparable(core, polars) && cold.comparable(polars, core));

    // Cross-compiled to Windows: the Windows crates come in, for the target only.
    let on_windows = polars_graph(&home, &windows(), None);
    let windows_sys = on_windows
        .find("windows-sys")
        .map(|i| &on_windows.packages[i]);
    assert!(windows_sys.is_some_and(|p| p.for_target && !p.for_host));
    let _ = std::fs::remove_dir_all(&cache);
}

/// What reading the polars graph costs in this build (unoptimised under `cargo test`, as in a
/// build script): printed, not asserted. Wall time and, where Linux tells it, the time this
/// thread was on a CPU (less disturbed by other work on the machine).
#[test]
fn the_real_polars_graph_timing() {
    let Some(home) = fetched_cargo_home() else {
        println!("skipped: the polars 0.55.2 sources are not in the cargo registry");
        return;
    };
    let clock = || {
        let on_cpu = std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split(' ').next()?.parse::<u64>().ok());
        (Instant::now(), on_cpu)
    };
    let report = |what: &str, runs: u32, (wall, cpu): (Instant, Option<u64>)| {
        let wall = wall.elapsed().as_secs_f64() * 1e3 / f64::from(runs);
        let cpu = cpu
            .zip(clock().1)
            .map(|(a, b)| (b - a) as f64 / 1e6 / f64::from(runs));
        let cpu = cpu.map_or(String::new(), |c| format!(", {c:.1} ms on CPU"));
        let build = if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised"
        };
        println!("polars graph, {what} ({build}): {wall:.1} ms wall{cpu}");
    };
    let runs = 5;
    let caches: Vec<PathBuf> = (0..runs).map(|_| scratch_dir("timing")).collect();
    let started = clock();
    for cache in &caches {
        polars_graph(&home, &linux(), Some(cache));
    }
    report("cold", runs, started);
    let runs = 50;
    let started = clock();
    for _ in 0..runs {
        polars_graph(&home, &linux(), Some(&caches[0]));
    }
    report("cached", runs, started);
    for cache in caches {
        let _ = std::fs::remove_dir_all(cache);
    }
}

/// Pruning must never change what a manifest says: checked on every manifest in this machine's
/// registry (hundreds after a `cargo fetch` of the polars graph).
#[test]
fn pruning_keeps_the_facts_of_every_registry_manifest() {
    use super::manifest::{read as facts, Files};
    use crate::settings::toml::parse;
    let Some(home) = crate::env::Env::process(&[]).cargo_home() else {
        return;
    };
    let (mut checked, mut unpruned) = (0, Vec::new());
    for index in std::fs::read_dir(home.join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for package in std::fs::read_dir(index.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = package.path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(whole) = parse(&text) else {
                continue;
            };
            let Some(pruned) = super::prune::prune(&text) else {
                unpruned.push(path);
                continue;
            };
            let pruned = parse(&pruned).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let files = Files::default();
            assert_eq!(
                facts(&pruned, files, None),
                facts(&whole, files, None),
                "{}",
                path.display()
            );
            assert_eq!(
                super::manifest::files_needed(&pruned),
                super::manifest::files_needed(&whole)
            );
            checked += 1;
        }
    }
    println!("pruned {checked} registry manifests; not pruned: {unpruned:?}");
    assert!(unpruned.is_empty());
}
