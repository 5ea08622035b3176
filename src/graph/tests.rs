//! Tests of the whole read: real lock files of small projects and a fake cargo home under
//! `tests/fixtures/graphs/`, and the real polars graph when its sources are on the machine.

use crate::files::scratch_dir;
use std::path::PathBuf;

use super::{measure_all, read, CfgSet, Graph, Inputs, Package, Root, SourceKind, SourceSize};
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

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/graphs")
}

/// The graph of fixture project `project`, read with the fixtures' fake cargo home.
fn fixture(project: &str, roots: &[Root], target: &CfgSet, dev_deps: bool) -> Graph {
    read(&Inputs {
        workspace: &fixtures().join(project),
        roots,
        root_features: None,
        target,
        host: &linux(),
        dev_deps,
        measure: &measure_all,
        cargo_home: Some(&fixtures().join("cargo-home")),
        cache_dir: None,
    })
}

fn package<'g>(graph: &'g Graph, name: &str) -> &'g Package {
    let found = graph.find(name).map(|i| &graph.packages[i]);
    found.unwrap_or_else(|| panic!("{name} is not in the graph"))
}

fn names(graph: &Graph) -> Vec<&str> {
    graph.packages.iter().map(|p| p.name.as_str()).collect()
}

/// The app fixture: tokio with all features, serde with derive, a renamed Windows-only winapi,
/// two optional dependencies (one renamed) and cc as a build dependency.
#[test]
fn linux_drops_the_windows_closure_and_builds_macros_and_build_deps_for_the_host() {
    let graph = fixture("app", &[Root::Name("app".into())], &linux(), false);
    assert!(graph.problems.is_empty(), "{:#?}", graph.problems);
    for windows_only in [
        "winapi",
        "winapi-x86_64-pc-windows-gnu",
        "windows-sys",
        "windows-link",
        "wasi",
        "redox_syscall",
        "bitflags",
    ] {
        assert!(graph.find(windows_only).is_none(), "{windows_only}");
    }
    let app = package(&graph, "app");
    assert_eq!(graph.roots, [graph.find("app").unwrap()]);
    assert!(app.links && app.has_build_script && app.for_target && !app.for_host);
    assert_eq!(app.source, SourceKind::Path);
    assert_eq!(app.dir.as_deref(), Some(fixtures().join("app").as_path()));

    for host_only in [
        "tokio-macros",
        "serde_derive",
        "proc-macro2",
        "quote",
        "syn",
        "unicode-ident",
        "cc",
        "shlex",
        "find-msvc-tools",
    ] {
        let p = package(&graph, host_only);
        assert!(p.for_host && !p.for_target, "{host_only}");
    }
    for macro_crate in ["tokio-macros", "serde_derive"] {
        assert!(package(&graph, macro_crate).proc_macro, "{macro_crate}");
    }
    for target_only in ["tokio", "mio", "serde", "serde_core", "parking_lot_core"] {
        let p = package(&graph, target_only);
        assert!(p.for_target && !p.for_host, "{target_only}");
    }
    // cc's `libc` is optional and off in this lock, so libc is built for the target only.
    let libc = package(&graph, "libc");
    assert!(libc.for_target && !libc.for_host);

    // Features as resolved: tokio's `full` and what it turns on (mio through `net`'s
    // `mio/os-poll`, ...), serde's `derive` bringing serde_derive; the app's optional `num`
    // (itoa, renamed) and `bytes` only come with its `extra`, but tokio's `io-util` turns on
    // its own optional bytes.
    assert!(
        graph.find("itoa").is_none(),
        "only the app's `extra` enables it"
    );
    assert_eq!(package(&graph, "app").features, Vec::<String>::new());
    assert_eq!(
        package(&graph, "mio").features,
        ["net", "os-ext", "os-poll"]
    );
    assert_eq!(
        package(&graph, "serde").features,
        ["default", "derive", "serde_derive", "std"]
    );
    let tokio_features = &package(&graph, "tokio").features;
    for on in [
        "full",
        "macros",
        "net",
        "tokio-macros",
        "bytes",
        "rt-multi-thread",
    ] {
        assert!(tokio_features.iter().any(|f| f == on), "{on}");
    }
    assert!(
        !tokio_features.iter().any(|f| f == "tracing"),
        "{tokio_features:?}"
    );
    assert!(graph.packages.iter().all(
        |p| p.features_known || ["unicode-ident", "find-msvc-tools"].contains(&p.name.as_str())
    ));
    let extra = read(&Inputs {
        workspace: &fixtures().join("app"),
        roots: &[Root::Name("app".into())],
        root_features: Some(&["extra".to_string()]),
        target: &linux(),
        host: &linux(),
        dev_deps: false,
        measure: &measure_all,
        cargo_home: Some(&fixtures().join("cargo-home")),
        cache_dir: None,
    });
    assert!(extra.find("itoa").is_some());
    assert_eq!(package(&extra, "app").features, ["extra"]);

    let tokio = package(&graph, "tokio");
    assert_eq!(tokio.crate_name, "tokio");
    assert_eq!(
        tokio.size,
        Some(SourceSize {
            bytes: 1000 + 2000 + 300,
            files: 3,
            root_bytes: 1000
        }),
        "tests, benches, examples, hidden and target directories and other files are skipped"
    );
    // An older cargo's index directory is looked in too.
    let shlex = package(&graph, "shlex").dir.as_ref().unwrap();
    assert!(
        shlex.ends_with("index.crates.io-6f17d22bba15001f/shlex-2.0.1"),
        "{shlex:?}"
    );
    // A manifest naming neither lib nor build script: the files decide.
    assert!(libc.has_build_script && libc.size.is_some_and(|s| s.root_bytes == 1000));
    assert!(!tokio.has_build_script && package(&graph, "serde").has_build_script);
    // Sources missing from the registry: kept, without a directory or size.
    let missing = package(&graph, "unicode-ident");
    assert_eq!((missing.dir.as_ref(), missing.size), (None, None));

    let at = |name: &str| graph.find(name).unwrap();
    assert!(graph.depends_on(at("app"), at("syn")) && !graph.depends_on(at("syn"), at("app")));
    assert!(graph.comparable(at("tokio"), at("mio")));
    assert!(
        !graph.comparable(at("tokio"), at("serde")),
        "independent: may build together"
    );
    for (index, p) in graph.packages.iter().enumerate() {
        for &dep in &p.deps {
            assert!(graph.depends_on(index, dep), "{} -> {dep}", p.name);
        }
    }
}

#[test]
fn windows_keeps_the_windows_closure_and_plain_triples_decide() {
    let roots = [Root::Name("app".into())];
    let msvc = fixture("app", &roots, &windows(), false);
    assert!(msvc.problems.is_empty(), "{:#?}", msvc.problems);
    for kept in ["winapi", "windows-sys", "windows-link"] {
        let p = package(&msvc, kept);
        assert!(p.for_target && !p.for_host, "{kept}");
    }
    // winapi's helper crates are keyed by `*-pc-windows-gnu` triples.
    assert!(msvc.find("winapi-x86_64-pc-windows-gnu").is_none());
    assert!(msvc.find("mio").is_some());
    assert!(
        msvc.find("libc").is_none(),
        "only unix targets depend on libc here"
    );

    let gnu = CfgSet::from_rustc_print(
        Some("x86_64-pc-windows-gnu"),
        WINDOWS.replace("msvc", "gnu").as_str(),
    );
    let gnu = fixture("app", &roots, &gnu, false);
    assert!(gnu.find("winapi-x86_64-pc-windows-gnu").is_some());
    assert!(gnu.find("winapi-i686-pc-windows-gnu").is_none());
}

/// A workspace of two members, a path dependency outside `members`, a renamed path
/// dependency, a dependency inherited from `[workspace.dependencies]` under a rename, and a
/// dev-dependency.
#[test]
fn workspace_members_and_path_dependencies() {
    let ws = fixtures().join("ws");
    let by_dir = [Root::Dir(ws.join("crates/app"))];
    let graph = fixture("ws", &by_dir, &linux(), false);
    assert!(graph.problems.is_empty(), "{:#?}", graph.problems);
    assert_eq!(names(&graph), ["itoa", "util", "ws-app", "ws-core"]);
    assert_eq!(graph.roots, [graph.find("ws-app").unwrap()]);
    let core = package(&graph, "ws-core");
    assert_eq!(core.crate_name, "core_of_ws");
    assert_eq!(core.dir.as_deref(), Some(ws.join("crates/core").as_path()));
    let util = package(&graph, "util");
    assert_eq!(util.dir.as_deref(), Some(ws.join("vendor/util").as_path()));
    assert!(util.has_build_script && !util.links);
    assert!(package(&graph, "ws-app").links);
    let at = |name: &str| graph.find(name).unwrap();
    assert!(
        graph.packages[at("ws-core")].deps.contains(&at("util")),
        "cfg(unix) on Linux"
    );

    let with_dev = fixture("ws", &by_dir, &linux(), true);
    assert!(
        with_dev.find("ryu").is_some(),
        "a root's dev-dependency when asked"
    );

    let on_windows = fixture("ws", &[Root::Name("ws-core".into())], &windows(), false);
    assert_eq!(names(&on_windows), ["ws-core"]);

    let unknown = fixture("ws", &[Root::Name("nope".into())], &linux(), false);
    assert_eq!(
        unknown.problems,
        ["root package `nope` is not in Cargo.lock"]
    );
    assert!(unknown.packages.is_empty());
}

/// A git dependency on a workspace of two packages; the checkouts hold another revision too.
#[test]
fn git_packages_are_found_in_their_checkout() {
    let graph = fixture("git", &[Root::Name("git-user".into())], &linux(), false);
    assert!(graph.problems.is_empty(), "{:#?}", graph.problems);
    let checkout = fixtures().join("cargo-home/git/checkouts/gtools-a8d275c50fdddc9e/fb71990");
    let gtool = package(&graph, "gtool");
    assert_eq!(gtool.source, SourceKind::Git);
    assert_eq!(gtool.dir.as_deref(), Some(checkout.join("gtool").as_path()));
    let derive = package(&graph, "gtool-derive");
    assert_eq!(
        derive.dir.as_deref(),
        Some(checkout.join("derive").as_path())
    );
    assert!(derive.proc_macro && derive.for_host && !derive.for_target);
}

#[test]
fn sources_missing_from_the_machine_are_kept_without_a_directory() {
    let empty = scratch_dir("empty-home");
    let graph = read(&Inputs {
        workspace: &fixtures().join("app"),
        roots: &[Root::Name("app".into())],
        root_features: None,
        target: &linux(),
        host: &linux(),
        dev_deps: false,
        measure: &measure_all,
        cargo_home: Some(&empty),
        cache_dir: None,
    });
    assert!(graph.problems.is_empty(), "{:#?}", graph.problems);
    let tokio = package(&graph, "tokio");
    assert_eq!((tokio.dir.as_ref(), tokio.size), (None, None));
    // Without tokio's manifest its every lock edge is kept, Windows ones too: too many packages
    // rather than too few.
    assert!(graph.find("windows-sys").is_some());
    assert!(
        graph.find("winapi").is_none(),
        "the app's own manifest still filters"
    );
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn garbage_lock_files_and_manifests_are_one_problem_each() {
    let dir = scratch_dir("garbage");
    std::fs::write(dir.join("Cargo.lock"), "[[package]\nname = ").unwrap();
    let (roots, platform) = ([Root::Name("app".into())], linux());
    let read_with = |home: &Path| {
        read(&Inputs {
            workspace: &dir,
            roots: &roots,
            root_features: None,
            target: &platform,
            host: &platform,
            dev_deps: false,
            measure: &measure_all,
            cargo_home: Some(home),
            cache_dir: None,
        })
    };
    let graph = read_with(&dir);
    assert_eq!(graph.problems.len(), 1, "{:#?}", graph.problems);
    let problem = &graph.problems[0];
    assert!(
        problem.starts_with(&format!(
            "{}: not valid TOML (line 1:",
            dir.join("Cargo.lock").display()
        )),
        "{problem}"
    );
    assert!(graph.packages.is_empty());

    let registry = "registry+https://github.com/rust-lang/crates.io-index";
    let lock = format!("version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"broken\",\n \"nameless\",\n]\n\n[[package]]\nname = \"broken\"\nversion = \"1.0.0\"\nsource = \"{registry}\"\n\n[[package]]\nname = \"nameless\"\nversion = \"1.0.0\"\nsource = \"{registry}\"\n");
    std::fs::write(dir.join("Cargo.lock"), lock).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\nbroken = \"1\"\nnameless = \"1\"\n").unwrap();
    let index = dir.join("home/registry/src/index.crates.io-1949cf8c6b5b557f");
    for (name, manifest) in [
        ("broken", "[package\nname = \"broken\"\n"),
        ("nameless", "[package]\nversion = \"1.0.0\"\n"),
    ] {
        std::fs::create_dir_all(index.join(format!("{name}-1.0.0"))).unwrap();
        std::fs::write(index.join(format!("{name}-1.0.0/Cargo.toml")), manifest).unwrap();
    }
    let graph = read_with(&dir.join("home"));
    let broken = index.join("broken-1.0.0/Cargo.toml");
    let nameless = index.join("nameless-1.0.0/Cargo.toml");
    assert_eq!(graph.problems.len(), 2, "{:#?}", graph.problems);
    assert!(
        graph.problems[0].starts_with(&format!(
            "{}: not valid TOML (line 1: expected `]`",
            broken.display()
        )),
        "{}",
        graph.problems[0]
    );
    assert_eq!(
        graph.problems[1],
        format!("{}: expected `[package]` with a `name`", nameless.display())
    );
    assert_eq!(
        names(&graph),
        ["app", "broken", "nameless"],
        "kept, facts unknown"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cache_gives_the_same_graph_and_a_corrupt_one_is_rewritten() {
    let cache = scratch_dir("cache-read");
    let (ws_dir, app_dir, home) = (
        fixtures().join("ws"),
        fixtures().join("app"),
        fixtures().join("cargo-home"),
    );
    let (ws_roots, app_roots, platform) = (
        [Root::Name("ws-app".into())],
        [Root::Name("app".into())],
        linux(),
    );
    let inputs = Inputs {
        workspace: &ws_dir,
        roots: &ws_roots,
        root_features: None,
        target: &platform,
        host: &platform,
        dev_deps: true,
        measure: &measure_all,
        cargo_home: Some(&home),
        cache_dir: Some(&cache),
    };
    let app = Inputs {
        workspace: &app_dir,
        roots: &app_roots,
        ..inputs
    };
    let uncached = read(&Inputs {
        cache_dir: None,
        ..app
    });
    let cold = read(&app);
    let file = cache.join(super::cache::FILE);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("lowmem_build graph cache 2\n"));
    assert!(written.contains("\ntokio\t1.54.1\tregistry+https://github.com/rust-lang/crates.io-index\tregistry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1\ttokio\tsrc/lib.rs\t---\t3300\t3\t1000\tn?+backtrace|t=cfg(all(tokio_unstable, target_os = \"linux\"))\tn?+bytes\t"), "{written}");
    assert!(written.contains("\t:full=fs,io-util,"), "{written}");
    assert!(
        !written.contains("\napp\t"),
        "path packages are never cached"
    );
    let cached = read(&app);
    assert_eq!(cold, uncached);
    assert_eq!(cached, uncached);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        written,
        "nothing new: not rewritten"
    );

    for corrupt in [
        "garbage",
        "lowmem_build graph cache 1\n",
        &written.replace("\t3300\t", "\tmany\t"),
    ] {
        std::fs::write(&file, corrupt).unwrap();
        assert_eq!(read(&app), uncached);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            written,
            "rewritten"
        );
    }
    // Another lock with the same cache: its packages replace the others'.
    let ws = read(&inputs);
    assert_eq!(
        ws,
        read(&Inputs {
            cache_dir: None,
            ..inputs
        })
    );
    let listed: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(listed, [super::cache::FILE], "nothing else is written");
    let _ = std::fs::remove_dir_all(&cache);
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
        root_features: None,
        target,
        host: &linux(),
        dev_deps: false,
        measure: &measure_all,
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

/// What reading a build's graph costs in this build (unoptimised under `cargo test`, as in a
/// build script), on the calibration projects polars-min and datafusion: medians of several
/// runs, cold (no cache at all) without and with measuring every package's sources, and cached
/// (the whole graph read back). Printed with the machine's load average, not asserted.
#[test]
fn the_calibration_graphs_timing() {
    let Some(home) = crate::env::Env::process(&[]).cargo_home() else {
        println!("skipped: no cargo home");
        return;
    };
    let median = |mut runs: Vec<f64>| {
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "optimised"
    };
    println!(
        "graph read timing ({build}), load average {} on {cpus} CPUs",
        load.split(' ').next().unwrap_or("?")
    );
    for project in ["polars-min", "datafusion"] {
        let dir = repo().join("calibration/projects").join(project);
        let roots = [Root::Dir(dir.clone())];
        let platform = linux();
        let cache = scratch_dir("timing");
        let inputs = Inputs {
            workspace: &dir,
            roots: &roots,
            root_features: None,
            target: &platform,
            host: &platform,
            dev_deps: false,
            measure: &|_, _| false,
            cargo_home: Some(&home),
            cache_dir: None,
        };
        let graph = read(&inputs);
        if graph.packages.is_empty() || graph.packages.iter().any(|p| !p.features_known) {
            println!("{project}: skipped, its sources are not in the cargo registry");
            continue;
        }
        let time = |runs: usize, inputs: &Inputs<'_>| {
            let times = (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    read(inputs);
                    started.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            median(times)
        };
        let cold = time(9, &inputs);
        let sized = Inputs {
            measure: &measure_all,
            ..inputs
        };
        let cold_sized = time(9, &sized);
        let cached_inputs = Inputs {
            cache_dir: Some(&cache),
            ..sized
        };
        read(&cached_inputs);
        let cached = time(31, &cached_inputs);
        println!(
            "{project} ({} packages): cold {cold:.1} ms, cold with every size {cold_sized:.1} ms, cached {cached:.1} ms",
            graph.packages.len()
        );
        let _ = std::fs::remove_dir_all(&cache);
    }
}

/// The fast ways of reading a manifest must never change what it says: pruning then parsing,
/// and reading it straight from the text, each against the TOML reader on the whole text, on
/// every manifest in this machine's registry (hundreds after a `cargo fetch` of the polars
/// graph). Every one of them must take a fast way.
#[test]
fn the_fast_ways_keep_the_entries_of_every_registry_manifest() {
    use super::manifest::{entries, Entries};
    use crate::settings::toml::parse;
    let Some(home) = crate::env::Env::process(&[]).cargo_home() else {
        return;
    };
    let (mut checked, mut unpruned, mut unscanned) = (0, Vec::new(), Vec::new());
    for index in std::fs::read_dir(home.join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
    {
        // A developer's registry may hold thousands; a few hundred per index make the point.
        for package in std::fs::read_dir(index.path())
            .into_iter()
            .flatten()
            .flatten()
            .take(1000)
        {
            let path = package.path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(whole) = parse(&text) else {
                continue;
            };
            let slow = entries(&whole, None);
            match super::prune::prune(&text) {
                Some(pruned) => {
                    let pruned =
                        parse(&pruned).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    assert_eq!(entries(&pruned, None), slow, "{}", path.display());
                }
                None => unpruned.push(path.clone()),
            }
            match super::scan::entries(&text) {
                Some(fast) => assert_eq!(
                    Ok(fast.sorted()),
                    slow.clone().map(Entries::sorted),
                    "{}",
                    path.display()
                ),
                None => unscanned.push(path),
            }
            checked += 1;
        }
    }
    println!(
        "checked {checked} registry manifests; not pruned: {unpruned:?}; not read straight: {unscanned:?}"
    );
    assert!(unpruned.is_empty() && unscanned.is_empty());
}

/// One node of `cargo tree -f '{p} {f}' --prefix none`: `name vVERSION [(path)] [(proc-macro)]
/// features`, with ` (*)` after a repeated one. `None` for other lines.
fn tree_line(line: &str) -> Option<(String, String, Vec<String>)> {
    let line = line.trim_end().trim_end_matches(" (*)");
    let (name, rest) = line.split_once(' ')?;
    let (version, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let version = version.strip_prefix('v')?;
    // A path in parentheses may hold spaces: skip to its closing one.
    while let Some(inner) = rest.strip_prefix('(') {
        rest = inner
            .split_once(')')
            .map_or("", |(_, after)| after)
            .trim_start();
    }
    let features = rest
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    Some((name.to_string(), version.to_string(), features))
}

/// A package as `cargo tree` shows it: name, version, the union of its feature sets, and how
/// many distinct sets it has (two when resolver 2 builds it for host and target apart).
type TreeNode = (String, String, Vec<String>, usize);

/// `cargo tree` of the project in `dir` for x86_64 Linux with `args` (feature options), normal
/// and build edges; `Err` says why it could not run. Each repeated node is shown once with
/// ` (*)`; the set of distinct lines was checked to equal `--no-dedupe`'s on the calibration
/// projects (which runs for minutes and writes gigabytes on polars-full).
fn cargo_tree(dir: &Path, args: &[&str]) -> Result<Vec<TreeNode>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = std::process::Command::new(&cargo)
        .args(["tree", "--locked", "--offline", "-e", "normal,build"])
        .args(["--target", "x86_64-unknown-linux-gnu", "--prefix", "none"])
        .args(["-f", "{p} {f}", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .args(args)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr);
        return Err(format!("cargo tree failed: {}", why.trim()));
    }
    let mut nodes: Vec<TreeNode> = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((package, version, features)) = tree_line(line) else {
            continue;
        };
        match nodes.iter_mut().find(|n| n.0 == package && n.1 == version) {
            Some(node) => {
                if node.2 != features {
                    node.3 += 1;
                }
                node.2.extend(features);
                node.2.sort();
                node.2.dedup();
            }
            None => nodes.push((package, version, features, 1)),
        }
    }
    nodes.sort();
    Ok(nodes)
}

/// Asserts that `graph` has exactly cargo's packages, each with the union of cargo's feature
/// sets; the packages whose sets cargo keeps apart for host and target.
fn assert_matches_cargo(what: &str, graph: &Graph, cargo: &[TreeNode]) -> Vec<String> {
    assert!(graph.problems.is_empty(), "{what}: {:#?}", graph.problems);
    let mut ours: Vec<(&str, &str, &[String])> = graph
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.features.as_slice()))
        .collect();
    ours.sort();
    let theirs: Vec<(&str, &str, &[String])> = cargo
        .iter()
        .map(|n| (n.0.as_str(), n.1.as_str(), n.2.as_slice()))
        .collect();
    let named = |list: &[(&str, &str, &[String])], other: &[(&str, &str, &[String])]| {
        list.iter()
            .filter(|a| !other.iter().any(|b| (a.0, a.1) == (b.0, b.1)))
            .map(|a| format!("{} {}", a.0, a.1))
            .collect::<Vec<_>>()
    };
    let (only_ours, only_cargo) = (named(&ours, &theirs), named(&theirs, &ours));
    assert!(
        only_ours.is_empty() && only_cargo.is_empty(),
        "{what}: packages only in the graph {only_ours:?}, only in cargo's tree {only_cargo:?}"
    );
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t, "{what}: features of {} {}", o.0, o.1);
    }
    cargo
        .iter()
        .filter(|n| n.3 > 1)
        .map(|n| n.0.clone())
        .collect()
}

/// The `feat` fixture: a workspace of path packages with one case of each feature rule (see
/// its Cargo.toml), read with the features a build script would be given.
fn feat(features: Option<&[&str]>, target: &CfgSet) -> Graph {
    let features: Option<Vec<String>> =
        features.map(|list| list.iter().map(|f| f.to_string()).collect());
    let dir = fixtures().join("feat");
    read(&Inputs {
        workspace: &dir,
        roots: &[Root::Dir(dir.clone())],
        root_features: features.as_deref(),
        target,
        host: &linux(),
        dev_deps: false,
        measure: &measure_all,
        cargo_home: None,
        cache_dir: None,
    })
}

/// The packages and their features, for compact assertions.
fn with_features(graph: &Graph) -> Vec<(&str, String)> {
    graph
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.features.join(",")))
        .collect()
}

#[test]
fn each_feature_rule_as_cargo_resolves_it() {
    let owned = |list: &[(&'static str, &'static str)]| -> Vec<(&'static str, String)> {
        list.iter().map(|&(n, f)| (n, f.to_string())).collect()
    };
    // Default features: `fast` = `engine/simd` (x/f on a plain dependency) turns on engine's
    // `simd` = `dep:simdlib`; engine without its defaults (`default-features = false`), so
    // helper has no `std` on the target, but codegen (a build dependency) asks for helper's
    // defaults on the host: one package, two feature sets, their union kept. Optional plugin,
    // logger, net-kit and wincompat stay out though Cargo.lock lists them.
    let default = feat(None, &linux());
    assert!(default.problems.is_empty(), "{:#?}", default.problems);
    assert_eq!(
        with_features(&default),
        owned(&[
            ("codegen", "default"),
            ("engine", "core,simd"),
            ("feat-app", "default,fast"),
            ("helper", "default,std"),
            ("simdlib", ""),
        ])
    );
    let helper = package(&default, "helper");
    assert!(helper.for_host && helper.for_target && helper.features_known);
    let codegen = package(&default, "codegen");
    assert!(codegen.for_host && !codegen.for_target);
    let at = |g: &Graph, name: &str| g.find(name).unwrap();
    assert!(default.packages[at(&default, "engine")]
        .deps
        .contains(&at(&default, "simdlib")));

    // CARGO_CFG_FEATURE of `--features extra,logs,trace,net,gen`: `dep:plugin`; the implicit
    // feature `logger`, which also lets the weak `logger?/trace` through; `transport/tls` on
    // the renamed optional net-kit, with its implicit feature `transport`; `codegen/wide` on a
    // build dependency; `dep:wincompat` names a Windows-only one.
    let all = [
        "default",
        "extra",
        "fast",
        "gen",
        "logger",
        "logs",
        "net",
        "trace",
        "transport",
    ];
    let everything = feat(Some(&all), &linux());
    assert_eq!(
        with_features(&everything),
        owned(&[
            ("codegen", "default,wide"),
            ("engine", "core,simd"),
            (
                "feat-app",
                "default,extra,fast,gen,logger,logs,net,trace,transport"
            ),
            ("helper", "default,std"),
            ("logger", "trace"),
            ("net-kit", "tls"),
            ("plugin", ""),
            ("simdlib", ""),
        ])
    );
    // The same from the explicit features alone: the rest follows.
    let explicit = feat(
        Some(&["fast", "extra", "logs", "trace", "net", "gen"]),
        &linux(),
    );
    assert_eq!(explicit.packages.len(), everything.packages.len());
    assert_eq!(
        package(&explicit, "feat-app").features,
        [
            "extra",
            "fast",
            "gen",
            "logger",
            "logs",
            "net",
            "trace",
            "transport"
        ]
    );

    // Older cargo's `CARGO_FEATURE_<NAME>` names stand for the same features.
    let upper = feat(
        Some(&["DEFAULT", "FAST", "EXTRA", "LOGS", "TRACE", "NET", "GEN"]),
        &linux(),
    );
    assert_eq!(with_features(&upper), with_features(&everything));

    // Weak alone: logger stays out, and so does its feature.
    let weak = feat(Some(&["default", "fast", "trace"]), &linux());
    assert!(weak.find("logger").is_none());
    assert_eq!(
        package(&weak, "feat-app").features,
        ["default", "fast", "trace"]
    );

    // No features at all: engine without `simd`, so no simdlib.
    let none = feat(Some(&[]), &linux());
    assert_eq!(
        with_features(&none),
        owned(&[
            ("codegen", "default"),
            ("engine", "core"),
            ("feat-app", ""),
            ("helper", "default,std"),
        ])
    );

    // On Windows `dep:wincompat` applies.
    let windows = feat(Some(&all), &windows());
    assert!(windows.find("wincompat").is_some());
}

/// The same fixture against cargo itself, when it can run here (the fixture needs no registry).
#[test]
fn the_feature_fixture_matches_cargo_tree() {
    let dir = fixtures().join("feat");
    for (args, features) in [
        (&[][..], None),
        (
            &["--features", "extra,logs,trace,net,gen"][..],
            Some(&["default", "extra", "fast", "gen", "logs", "net", "trace"][..]),
        ),
        (
            &["--features", "trace"][..],
            Some(&["default", "trace"][..]),
        ),
        (&["--no-default-features"][..], Some(&[][..])),
    ] {
        let cargo = match cargo_tree(&dir, args) {
            Ok(nodes) => nodes,
            Err(why) => {
                println!("skipped: {why}");
                return;
            }
        };
        let graph = feat(features, &linux());
        assert_matches_cargo(&format!("feat {args:?}"), &graph, &cargo);
    }
}

/// The packages and features of each calibration project as this module resolves them, against
/// `cargo tree` (which, FACTS.md says, matches what rustc receives): the same packages, and per
/// package the same features, taken as the union over host and target (resolver 2 gives a
/// package built for both a feature set for each; the graph keeps their union). Skipped, with a
/// message, for a project whose sources are not all in this machine's registry.
#[test]
fn the_calibration_projects_match_cargo_tree() {
    let env = crate::env::Env::process(&[]);
    let Some(home) = env.cargo_home() else {
        println!("skipped: no cargo home");
        return;
    };
    let projects = repo().join("calibration/projects");
    let mut names: Vec<String> = std::fs::read_dir(&projects)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("Cargo.lock").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut compared = 0;
    for name in names {
        let dir = projects.join(&name);
        let graph = read(&Inputs {
            workspace: &dir,
            roots: &[Root::Dir(dir.clone())],
            root_features: None,
            target: &linux(),
            host: &linux(),
            dev_deps: false,
            measure: &|_, _| false,
            cargo_home: Some(&home),
            cache_dir: None,
        });
        let missing: Vec<&str> = graph
            .packages
            .iter()
            .filter(|p| !p.features_known)
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            println!("{name}: skipped, sources not in the registry: {missing:?}");
            continue;
        }
        let cargo = match cargo_tree(&dir, &[]) {
            Ok(nodes) => nodes,
            Err(why) => {
                println!("{name}: skipped, {why}");
                continue;
            }
        };
        let split = assert_matches_cargo(&name, &graph, &cargo);
        println!(
            "{name}: {} packages and their features as cargo tree has them (cargo's host and target sets differ for {split:?})",
            graph.packages.len()
        );
        compared += 1;
    }
    println!("compared {compared} projects with cargo tree");
}

/// Copies a fixture tree into a scratch directory, to change its files.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn the_whole_graph_is_kept_while_nothing_it_was_read_from_changes() {
    let scratch = scratch_dir("snapshot");
    let project = scratch.join("feat");
    copy_tree(&fixtures().join("feat"), &project);
    let cache = scratch.join("lowmem");
    let roots = [Root::Dir(project.clone())];
    let platform = linux();
    let inputs = Inputs {
        workspace: &project,
        roots: &roots,
        root_features: None,
        target: &platform,
        host: &platform,
        dev_deps: false,
        measure: &measure_all,
        cargo_home: None,
        cache_dir: Some(&cache),
    };
    let uncached = |inputs: &Inputs<'_>| {
        read(&Inputs {
            cache_dir: None,
            ..*inputs
        })
    };
    let kept_files = || -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    };
    let cold = read(&inputs);
    assert_eq!(cold, uncached(&inputs));
    let files = kept_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("graph-") && name.ends_with(".tsv"),
        "{name}"
    );
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains("\nfile\t") && text.contains("\npackage\tengine\t0.2.0\tp\t"),
        "{text}"
    );
    assert_eq!(read(&inputs), cold, "read back the same");

    // What is read back is the kept file: a planted feature shows.
    std::fs::write(file, text.replace("\tcore,simd\n", "\tcore,planted,simd\n")).unwrap();
    let planted = read(&inputs);
    assert_eq!(
        package(&planted, "engine").features,
        ["core", "planted", "simd"]
    );

    // Sizes follow the measure asked for, whatever was kept.
    let none = read(&Inputs {
        measure: &|_, _| false,
        ..inputs
    });
    assert!(none.packages.iter().all(|p| p.size.is_none()));
    assert!(planted.packages.iter().all(|p| p.size.is_some()));

    // A changed manifest, Cargo.lock or root's features each make it stale.
    let engine = project.join("engine/Cargo.toml");
    let manifest = std::fs::read_to_string(&engine).unwrap();
    std::fs::write(&engine, format!("{manifest}\n# edited\n")).unwrap();
    assert_eq!(read(&inputs), cold, "a changed manifest: read again");
    assert!(!std::fs::read_to_string(file).unwrap().contains("planted"));
    std::fs::write(file, text.replace("\tcore,simd\n", "\tcore,planted,simd\n")).unwrap();
    let lock = project.join("Cargo.lock");
    let locked = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&lock, format!("{locked}\n")).unwrap();
    assert_eq!(read(&inputs), cold, "a changed Cargo.lock: read again");
    let no_default = Inputs {
        root_features: Some(&[]),
        ..inputs
    };
    let without = read(&no_default);
    assert_eq!(without, uncached(&no_default));
    assert!(without.find("simdlib").is_none());
    assert_eq!(kept_files().len(), 2, "each feature set keeps its own");
    assert_eq!(read(&inputs), cold);

    // A corrupt or cut file is ignored and rewritten.
    for broken in [
        "garbage",
        &text[..text.len() / 2],
        &text.replace("package\t", "pkg\t"),
    ] {
        std::fs::write(file, broken).unwrap();
        assert_eq!(read(&inputs), cold);
        assert!(std::fs::read_to_string(file).unwrap().ends_with("\n"));
        assert_eq!(read(&inputs), cold);
    }
    // Nothing is written outside the cache directory.
    assert_eq!(kept_files().len(), 2);
    let mut listed: Vec<String> = std::fs::read_dir(&scratch)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ["feat", "lowmem"]);
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn a_graph_with_missing_sources_or_problems_is_not_kept() {
    let cache = scratch_dir("snapshot-missing");
    // The app fixture's unicode-ident and find-msvc-tools are missing on purpose.
    let graph = read(&Inputs {
        workspace: &fixtures().join("app"),
        roots: &[Root::Name("app".into())],
        root_features: None,
        target: &linux(),
        host: &linux(),
        dev_deps: false,
        measure: &measure_all,
        cargo_home: Some(&fixtures().join("cargo-home")),
        cache_dir: Some(&cache),
    });
    assert!(!package(&graph, "unicode-ident").features_known);
    let listed: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(listed, [super::cache::FILE], "only the per-package cache");
    let _ = std::fs::remove_dir_all(&cache);
}

/// Dev-dependencies: this crate's own graph for `cargo test` (criterion, proptest, and a
/// dev-dependency on itself with more features) against `cargo tree -e normal,build,dev`.
#[test]
fn this_crates_graph_with_dev_dependencies_matches_cargo_tree() {
    let Some(home) = crate::env::Env::process(&[]).cargo_home() else {
        println!("skipped: no cargo home");
        return;
    };
    let dir = repo().to_path_buf();
    let graph = read(&Inputs {
        workspace: &dir,
        roots: &[Root::Dir(dir.clone())],
        root_features: None,
        target: &linux(),
        host: &linux(),
        dev_deps: true,
        measure: &|_, _| false,
        cargo_home: Some(&home),
        cache_dir: None,
    });
    if graph.packages.iter().any(|p| !p.features_known) {
        println!("skipped: this crate's dev-dependencies are not in the cargo registry");
        return;
    }
    match cargo_tree(&dir, &["-e", "dev"]) {
        Ok(cargo) => {
            assert_matches_cargo("lowmem_build with dev-dependencies", &graph, &cargo);
            let root = &graph.packages[graph.roots[0]];
            assert!(
                root.features.iter().any(|f| f == "unstable-internals"),
                "{root:?}"
            );
        }
        Err(why) => println!("skipped: {why}"),
    }
}
