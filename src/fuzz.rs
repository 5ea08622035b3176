//! Entry points for fuzzing and property tests, one per parser: each runs the parser on any
//! input, uses the result the way the crate does, and asserts what must hold for every input.
//!
//! Internal and unstable: compiled for this crate's tests and with the `unstable-internals` feature, which
//! exists only for the cargo-fuzz targets in `fuzz/` and the crate's own benches (its
//! dev-dependency on itself turns it on; [`read_graph`] is for `benches/graph.rs`). Input is bytes, read as UTF-8 with invalid
//! sequences replaced; entry points that read several texts take them separated by NUL bytes.

use crate::features::{advice, chain, rules, tree, workspace};
use crate::graph::{cache, cfg, lock, manifest, prune, scan};
use crate::probe::{cgroup, meminfo};
use crate::settings::discover::Loaded;
use crate::settings::profile::{Profiles, MAX_CHAIN};
use crate::settings::{read, rustc, rustflags, toml};
use crate::size::{self, Bytes, GIB, MIB};
use crate::{Debuginfo, Lto, Policy};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[cfg(test)]
mod properties;

/// The input as text, invalid UTF-8 replaced.
fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The first `N` NUL-separated parts of `text`; missing parts are empty, the last takes the rest.
fn parts<const N: usize>(text: &str) -> [&str; N] {
    let mut out = [""; N];
    let mut rest = text;
    for (index, slot) in out.iter_mut().enumerate() {
        if index + 1 == N {
            *slot = rest;
            break;
        }
        let (part, after) = rest.split_once('\0').unwrap_or((rest, ""));
        *slot = part;
        rest = after;
    }
    out
}

/// Size strings (`LOWMEM_BUILD_MEMORY`): a parsed size is printed and parsed back.
pub fn size(data: &[u8]) {
    let text = text(data);
    let Some(bytes) = size::parse_size(&text) else {
        return;
    };
    assert_eq!(size::parse_size(&bytes.to_string()), Some(bytes));
    assert_eq!(size::parse_size(&format!(" {text}\t")), Some(bytes));
    shown_size_round_trips(bytes);
}

/// How far a size printed by [`Bytes`] may be from the size it was printed from, once parsed
/// back: exact below 1 KiB; half a KiB below 1 MiB, half a MiB below 1 GiB (whole units shown);
/// above, 0.05 GiB (one decimal shown) plus 4 KiB for the two f64 conversions.
pub(crate) fn shown_size_tolerance(bytes: u64) -> u64 {
    match bytes {
        0..=1023 => 0,
        1024..=0xF_FFFF => 512,
        0x10_0000..=0x3FFF_FFFF => MIB / 2,
        _ => GIB / 20 + 4096,
    }
}

/// Asserts that `Bytes(bytes)`, printed and parsed, is within [`shown_size_tolerance`]; it may
/// fail to parse only when rounding up took it past `u64::MAX`.
pub(crate) fn shown_size_round_trips(bytes: u64) {
    let tolerance = shown_size_tolerance(bytes);
    let shown = Bytes(bytes).to_string();
    match size::parse_size(&shown) {
        Some(parsed) => assert!(
            parsed.abs_diff(bytes) <= tolerance,
            "{bytes} shown as {shown:?} parsed as {parsed}"
        ),
        None => assert!(
            bytes > u64::MAX - tolerance,
            "{bytes} shown as {shown:?} does not parse"
        ),
    }
    let mib = size::to_mib(bytes);
    assert!(mib.abs_diff(bytes / MIB) <= 1);
}

/// `/proc/meminfo`: the budget's "available" is `MemAvailable` or, without it, the estimate.
pub fn meminfo(data: &[u8]) {
    let info = meminfo::parse_meminfo(&text(data));
    match info.available_or_estimate() {
        Some((available, false)) => assert_eq!(info.available, Some(available)),
        Some((estimate, true)) => {
            assert_eq!(info.available, None);
            assert!(info.free.is_some_and(|free| estimate >= free));
        }
        None => assert!(info.available.is_none() && info.free.is_none()),
    }
}

/// `/proc/self/cgroup`, then `/proc/self/mountinfo` after a NUL: the lines and mounts found,
/// the hierarchy picked from them and the directories walked up from the process's cgroup.
pub fn cgroup(data: &[u8]) {
    let text = text(data);
    let [proc_cgroup, mountinfo] = parts(&text);
    let lines = cgroup::parse_proc_cgroup(proc_cgroup);
    assert!(lines.len() <= proc_cgroup.lines().count());
    for line in &lines {
        assert!(line.path.starts_with('/'), "{line:?}");
        assert!(line.controllers.iter().all(|c| !c.is_empty()));
    }
    let mounts = cgroup::parse_mountinfo(mountinfo);
    assert!(mounts.len() <= mountinfo.lines().count());
    for mount in &mounts {
        assert!(mount.fstype == "cgroup" || mount.fstype == "cgroup2");
    }
    let Some(hierarchy) = cgroup::find_hierarchy(&lines, &mounts) else {
        return;
    };
    let levels = cgroup::levels(&hierarchy.mount, &hierarchy.path);
    let top = hierarchy.mount.mount_point.trim_end_matches('/');
    let depth = hierarchy.path.split('/').filter(|p| !p.is_empty()).count();
    assert!(!levels.is_empty() && levels.len() <= depth + 1);
    assert_eq!(levels.last().map(|l| l.dir.as_str()), Some(top));
    for level in &levels {
        assert!(level.dir.starts_with(top), "{} under {top}", level.dir);
        assert!(level.cgroup.starts_with('/'), "{}", level.cgroup);
    }
}

/// A cgroup value file (`memory.max`) and the same text as `memory.stat`.
pub fn cgroup_value(data: &[u8]) {
    let text = text(data);
    if let Some(cgroup::CgroupValue::Bytes(bytes)) = cgroup::parse_value(&text) {
        assert!(bytes < cgroup::UNLIMITED_FLOOR);
    }
    let stat = cgroup::parse_stat(&text);
    assert!(stat.len() <= text.lines().count());
    for key in stat.keys() {
        assert!(
            !key.is_empty() && !key.contains(char::is_whitespace),
            "{key:?}"
        );
    }
}

/// `CARGO_ENCODED_RUSTFLAGS`, and the same text as space-separated arguments.
pub fn rustflags(data: &[u8]) {
    let text = text(data);
    for flags in [
        rustflags::parse_encoded(&text),
        rustflags::parse_args(text.split_whitespace()),
    ] {
        // Numbers and names are taken from the flags, never made up.
        for number in [flags.codegen_units, flags.threads].into_iter().flatten() {
            assert!(text.contains(&number.to_string()), "{number}");
        }
        let names = [&flags.linker, &flags.fuse_ld, &flags.split_debuginfo];
        for name in names.into_iter().flatten() {
            assert!(text.contains(name.as_str()), "{name:?}");
        }
        if let Some(level) = &flags.opt_level {
            assert!(text.contains(level.as_str()) || level == "2", "{level:?}");
        }
    }
}

/// A TOML document: every value of a parsed table is found again by its path; an error names a
/// line of the document.
pub fn toml(data: &[u8]) {
    let text = text(data);
    match toml::parse(&text) {
        Ok(table) => {
            let mut path = Vec::new();
            every_path_leads_back(&table, &table, &mut path);
        }
        Err(error) => {
            let lines = text.matches('\n').count() + 1;
            assert!((1..=lines).contains(&error.line), "{error} of {lines}");
            assert!(!error.to_string().is_empty());
        }
    }
}

/// Asserts that [`toml::get_path`] finds each value under `table` (reached from `root` by
/// `path`) at its own path.
fn every_path_leads_back<'a>(root: &toml::Table, table: &'a toml::Table, path: &mut Vec<&'a str>) {
    for (key, value) in table {
        path.push(key);
        let found = toml::get_path(root, path);
        assert!(
            found.is_some_and(|found| std::ptr::eq(found, value)),
            "{path:?}"
        );
        if let Some(inner) = value.as_table() {
            every_path_leads_back(root, inner, path);
        }
        path.pop();
    }
}

/// Keys every profile lookup asks for, besides those the documents set.
const PROFILE_KEYS: &[&str] = &[
    "debug",
    "codegen-units",
    "lto",
    "opt-level",
    "incremental",
    "split-debuginfo",
    "inherits",
];

/// Profiles as the settings reader resolves them: a manifest, a config file and environment
/// lines (`KEY=value`), NUL-separated. Every profile named anywhere, and dev, release and a
/// custom one, resolves through `inherits` to dev or release; every key is looked up and read
/// as the settings reader reads it.
pub fn profile(data: &[u8]) {
    let text = text(data);
    let [manifest, config, env] = parts(&text);
    let load = |name: &str, text: &str| {
        toml::parse(text).ok().map(|table| Loaded {
            path: PathBuf::from(name),
            table,
        })
    };
    let manifest = load("Cargo.toml", manifest);
    let configs: Vec<Loaded> = load(".cargo/config.toml", config).into_iter().collect();
    let env = crate::env::Env::from_vars(
        env.lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_string(), OsString::from(value)))
            .collect(),
    );
    let profiles = Profiles {
        env: &env,
        configs: &configs,
        manifest: manifest.as_ref(),
    };
    let mut names: BTreeSet<&str> = ["dev", "release", "test", "bench", "custom"].into();
    let mut keys: BTreeSet<&str> = PROFILE_KEYS.iter().copied().collect();
    for file in manifest.iter().chain(&configs) {
        let Some(tables) = toml::get_path(&file.table, &["profile"]).and_then(|v| v.as_table())
        else {
            continue;
        };
        for (name, table) in tables {
            names.insert(name);
            for section in [
                Some(table),
                toml::get_path(&file.table, &["profile", name, "package", "*"]),
            ] {
                keys.extend(
                    section
                        .and_then(|t| t.as_table())
                        .into_iter()
                        .flat_map(|t| t.keys().map(String::as_str)),
                );
            }
        }
    }
    for name in names {
        let (chain, problem) = profiles.chain(name);
        assert_eq!(chain.first().map(String::as_str), Some(name));
        assert!(matches!(
            chain.last().map(String::as_str),
            Some("dev" | "release")
        ));
        assert!(chain.len() <= MAX_CHAIN + 1, "{chain:?}");
        if problem.is_none() {
            let distinct: BTreeSet<&String> = chain.iter().collect();
            assert_eq!(distinct.len(), chain.len(), "{chain:?}");
        }
        for &key in &keys {
            let found = [
                profiles.get(&chain, key),
                profiles.get_for_dependencies(&chain, key),
            ];
            for (raw, origin) in found.into_iter().flatten() {
                let raw = raw.text();
                let _ = (Debuginfo::parse(&raw), Lto::parse(&raw), raw.parse::<u32>());
                assert!(!origin.to_string().is_empty());
            }
        }
    }
}

/// `cargo tree -e features` output: a forward tree, then an inverted one after a NUL. The
/// graph's features are read, and every enabled feature is explained as the feature check
/// explains the offending ones.
pub fn cargo_tree(data: &[u8]) {
    let text = text(data);
    let [forward, inverted] = parts(&text);
    let mut graph = tree::Graph::default();
    assert!(graph.add_forward(forward) <= forward.lines().count());
    assert!(graph.add_inverted(inverted) <= inverted.lines().count());
    let nodes: Vec<&tree::Node> = (0..).map_while(|id| graph.node(id)).collect();
    let enabled = graph.enabled();
    for (id, node) in nodes.iter().enumerate() {
        if let tree::Node::Package { name, .. } = node {
            assert!(enabled.contains_key(&rules::crate_key(name)), "{name:?}");
        }
        for &parent in graph.parents(id) {
            assert!(parent != id && parent < nodes.len());
        }
    }
    assert!(graph.root().map_or(true, |root| root < nodes.len()));
    let _ = graph.local_dirs();
    let findings: Vec<rules::Finding> = enabled
        .iter()
        .map(|(key, features)| {
            assert!(graph.packages_of(key).next().is_some(), "{key}");
            assert!(features.iter().all(|f| !f.is_empty() && !f.contains(',')));
            rules::Finding {
                krate: key.clone(),
                key: key.clone(),
                features: features.iter().cloned().collect(),
                missing: false,
            }
        })
        .collect();
    let offending = rules::offending(&findings);
    // Every path package counts as the workspace's under `/`.
    let workspace = workspace::Workspace {
        root: "/".into(),
        members: Vec::new(),
        excluded: Vec::new(),
    };
    for finding in &findings {
        let explanation = chain::explain(&graph, finding, &offending);
        let explained: usize = explanation.causes.iter().map(|c| c.features.len()).sum();
        assert_eq!(
            explained + explanation.unexplained.len(),
            finding.features.len()
        );
        for cause in &explanation.causes {
            assert_eq!(cause.path.last(), cause.entered.first());
            assert!(!chain::describe(&graph, finding, cause, true).is_empty());
            let advice = advice::advise(&graph, &workspace, &offending, cause);
            let (advice::Advice::Fix(text) | advice::Advice::Choices(text)) = advice;
            assert!(!text.is_empty() && !text.contains('\n'));
            let _ = chain::chain_labels(&graph, &cause.path);
        }
    }
}

/// The one-word settings: `debug`, `lto`, `LOWMEM_BUILD` and `rust-version` values. Those with
/// a canonical spelling parse back from it.
pub fn words(data: &[u8]) {
    let text = text(data);
    let _ = Debuginfo::parse(&text);
    if let Some(lto) = Lto::parse(&text) {
        assert_eq!(Lto::parse(&lto.to_string()), Some(lto));
    }
    if let Some(policy) = Policy::parse(&text) {
        assert_eq!(Policy::parse(&policy.to_string()), Some(policy));
    }
    if let Some((major, minor)) = read::parse_rust_version(&text) {
        let again = read::parse_rust_version(&format!("{major}.{minor}"));
        assert_eq!(again, Some((major, minor)));
    }
}

/// `rustc -vV` output.
pub fn rustc_version(data: &[u8]) {
    let text = text(data);
    if let Ok(version) = rustc::parse(&text) {
        let shown = version.to_string();
        assert!(shown.starts_with(&format!("{}.{}.", version.major, version.minor)));
        assert!(!version.host.contains('\n'));
    }
}

/// The dependency graph's parsers, on four NUL-separated texts: a Cargo.lock (its edges point at
/// its packages), a manifest (pruning it never changes its entries, and reading it straight
/// from the text gives the TOML reader's, when it does), a target condition (an
/// answer or a message, never a panic) and a graph cache file (what it reads, it writes back
/// the same).
pub fn graph(data: &[u8]) {
    let text = text(data);
    let [lock_text, manifest_text, condition, cache_text] = parts::<4>(&text);
    if let Ok(lock) = lock::parse(lock_text) {
        let count = lock.packages.len();
        assert!(lock
            .packages
            .iter()
            .all(|p| p.deps.iter().all(|&d| d < count)));
    }
    if let Ok(whole) = toml::parse(manifest_text) {
        let slow = manifest::entries(&whole, None);
        if let Some(pruned) = prune::prune(manifest_text) {
            let pruned = toml::parse(&pruned).expect("a pruned valid manifest parses");
            assert_eq!(manifest::entries(&pruned, None), slow);
        }
        if let Some(fast) = scan::entries(manifest_text) {
            assert_eq!(Ok(fast.sorted()), slow.map(manifest::Entries::sorted));
        }
    }
    let platform = cfg::CfgSet::from_rustc_print(
        Some("x86_64-unknown-linux-gnu"),
        "unix\ntarget_os=\"linux\"\n",
    );
    if let Err(message) = cfg::holds(condition, &platform) {
        assert!(!message.is_empty());
    }
    if let Some(entries) = cache::parse(cache_text) {
        assert_eq!(cache::parse(&cache::render(&entries)), Some(entries));
    }
}

/// Reads the graph of the workspace at `workspace` from the package named `root` with its
/// default features, for x86_64 Linux, with `cargo_home` and the cache in `cache_dir`, measuring
/// every package's sources when `measure` (else none): how many packages it has.
pub fn read_graph(
    workspace: &Path,
    root: &str,
    cargo_home: &Path,
    cache_dir: Option<&Path>,
    measure: bool,
) -> usize {
    let linux = cfg::CfgSet::from_rustc_print(
        Some("x86_64-unknown-linux-gnu"),
        "debug_assertions\npanic=\"unwind\"\ntarget_arch=\"x86_64\"\ntarget_endian=\"little\"\ntarget_env=\"gnu\"\ntarget_family=\"unix\"\ntarget_os=\"linux\"\ntarget_pointer_width=\"64\"\ntarget_vendor=\"unknown\"\nunix\n",
    );
    let graph = crate::graph::read(&crate::graph::Inputs {
        workspace,
        roots: &[crate::graph::Root::Name(root.to_string())],
        root_features: None,
        target: &linux,
        host: &linux,
        dev_deps: false,
        measure: &|_, _| measure,
        cargo_home: Some(cargo_home),
        cache_dir,
    });
    graph.packages.len()
}
