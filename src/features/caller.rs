//! Who is being built: the calling package, its active features and target, from cargo's
//! build-script environment (or a manifest path given outside a build script).

use crate::env::Env;
use crate::graph::manifest::{dependency_tables, DepKind};
use crate::settings::toml::{self, Table, Value};
use crate::workspace::read_toml;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The package whose resolved features are checked, and how cargo is building it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Caller {
    /// The package's name, from its manifest.
    pub(crate) name: String,
    /// Its version when the manifest states it (not when inherited from the workspace).
    pub(crate) version: Option<String>,
    /// Its `Cargo.toml`.
    pub(crate) manifest: PathBuf,
    /// The active features to pass to cargo, exact names, sorted: those not implied by another
    /// one (`default` among them when active), so that cargo shows as requested only what was.
    pub(crate) features: Vec<String>,
    /// The target being built for; `None` means the host (outside a build script).
    pub(crate) target: Option<String>,
    /// The parsed manifest.
    pub(crate) table: Table,
}

/// Why the check does not run: a verbose-only note (nothing is wrong) or a problem (one
/// warning: the user asked for a check that could not be done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotRun {
    Note(String),
    Problem(String),
}

impl Caller {
    /// The caller described by `env`; `manifest` overrides it (the `#[test]` pattern): then the
    /// package at that manifest with its default features, for `TARGET` when set, else the host.
    pub(crate) fn from_env(env: &Env, manifest: Option<&Path>) -> Result<Caller, NotRun> {
        let env_manifest = env
            .text("CARGO_MANIFEST_PATH")
            .map(PathBuf::from)
            .or_else(|| {
                env.text("CARGO_MANIFEST_DIR")
                    .map(|dir| Path::new(dir).join("Cargo.toml"))
            });
        let (path, own_build) = match (manifest, &env_manifest) {
            (Some(given), Some(own)) => (given.to_path_buf(), same_file(given, own)),
            (Some(given), None) => (given.to_path_buf(), false),
            (None, Some(own)) => (own.clone(), true),
            (None, None) => {
                return Err(NotRun::Problem(
                    "feature check skipped: not run from a build script (CARGO_MANIFEST_DIR is not set) and no manifest path was given".to_string(),
                ))
            }
        };
        let path = absolute(&path);
        let dir = path.parent().unwrap_or(Path::new("/"));
        if let Some(why) = not_local(dir, env) {
            return Err(NotRun::Note(why));
        }
        let table = read_toml(&path).map_err(|e| {
            NotRun::Problem(format!("feature check skipped: {}: {e}", path.display()))
        })?;
        let package = toml::get_path(&table, &["package"]).and_then(Value::as_table);
        let name = package
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                own_build
                    .then(|| env.text("CARGO_PKG_NAME").map(str::to_string))
                    .flatten()
            })
            .ok_or_else(|| {
                NotRun::Problem(format!(
                    "feature check skipped: {} has no [package] name (a virtual manifest? give a member's)",
                    path.display()
                ))
            })?;
        let version = package
            .and_then(|p| p.get("version"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let features = if own_build {
            reduce(&active_features(env, &table), &table)
        } else {
            default_features(&table)
        };
        Ok(Caller {
            name,
            version,
            manifest: path,
            features,
            target: env.text("TARGET").map(str::to_string),
            table,
        })
    }

    /// The package's directory.
    pub(crate) fn dir(&self) -> &Path {
        self.manifest.parent().unwrap_or(Path::new("/"))
    }

    /// The arguments that select this package with its features for its target:
    /// `-p name@version --no-default-features [--features a,b] [--target T]`.
    pub(crate) fn selection_args(&self) -> Vec<String> {
        let mut args = vec![
            "-p".to_string(),
            match &self.version {
                Some(v) => format!("{}@{v}", self.name),
                None => self.name.clone(),
            },
            "--no-default-features".to_string(),
        ];
        if !self.features.is_empty() {
            args.push("--features".to_string());
            args.push(self.features.join(","));
        }
        if let Some(target) = &self.target {
            args.push("--target".to_string());
            args.push(target.clone());
        }
        args
    }
}

/// Why the package at `dir` is not one to check: a registry, git or vendored source. Run from
/// such a build script, cargo would see the dependency as its own workspace, not the one using
/// it, and could write a Cargo.lock into its source.
fn not_local(dir: &Path, env: &Env) -> Option<String> {
    crate::workspace::is_dependency_source(dir, env.cargo_home().as_deref()).then(|| {
        format!(
            "feature check skipped: {} is a registry, git or vendored package (its build script cannot see the workspace that uses it)",
            dir.display()
        )
    })
}

/// The features active in this build: `CARGO_CFG_FEATURE` (exact names) where cargo sets it,
/// else each `CARGO_FEATURE_<NAME>` mapped back to the manifest's names.
fn active_features(env: &Env, manifest: &Table) -> Vec<String> {
    if let Ok(Some(list)) = env.get("CARGO_CFG_FEATURE") {
        let mut features: Vec<String> = list
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        features.sort_unstable();
        features.dedup();
        return features;
    }
    let mut features: Vec<String> = feature_names(manifest)
        .into_iter()
        .filter(|name| env.is_set(&feature_var(name)))
        .collect();
    features.sort_unstable();
    features.dedup();
    features
}

/// The fewest of `active` that turn all of them on: a feature implied by one kept (through the
/// manifest's `[features]`, widest first, so `default` goes before what it lists) is left out.
/// Cargo then resolves the same, and marks as requested on the command line only those kept.
fn reduce(active: &[String], manifest: &Table) -> Vec<String> {
    let names = feature_names(manifest);
    let mut order: Vec<(BTreeSet<String>, &String)> = active
        .iter()
        .map(|f| (implied(f, manifest, &names), f))
        .collect();
    order.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.1.cmp(b.1)));
    let mut covered: BTreeSet<String> = BTreeSet::new();
    let mut kept: Vec<String> = Vec::new();
    for (closure, feature) in order {
        if !covered.contains(feature) {
            kept.push(feature.clone());
            covered.extend(closure);
        }
    }
    kept.sort_unstable();
    kept
}

/// `feature` and every feature of the same package it turns on, directly or not: values naming
/// a feature, and `dep/x` turning on the implicit feature of an optional dependency `dep`.
fn implied(feature: &str, manifest: &Table, names: &[String]) -> BTreeSet<String> {
    let table = toml::get_path(manifest, &["features"]).and_then(Value::as_table);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo = vec![feature.to_string()];
    while let Some(next) = todo.pop() {
        if !seen.insert(next.clone()) {
            continue;
        }
        let values = table
            .and_then(|t| t.get(&next))
            .and_then(Value::as_array)
            .unwrap_or_default();
        for value in values.iter().filter_map(Value::as_str) {
            if value.starts_with("dep:") {
                continue;
            }
            let own = match value.split_once('/') {
                Some((dep, _)) if !dep.ends_with('?') => dep,
                Some(_) => continue,
                None => value,
            };
            if names.iter().any(|n| n == own) {
                todo.push(own.to_string());
            }
        }
    }
    seen
}

/// The features a plain build turns on: `default` (when the manifest has it). Cargo expands the
/// rest itself.
fn default_features(manifest: &Table) -> Vec<String> {
    if toml::get_path(manifest, &["features", "default"]).is_some() {
        vec!["default".to_string()]
    } else {
        Vec::new()
    }
}

/// `CARGO_FEATURE_<NAME>` for a feature (so `a-b` and `a_b` share one).
pub(crate) fn feature_var(feature: &str) -> String {
    format!("CARGO_FEATURE_{}", crate::env::envify(feature))
}

/// Every feature name the manifest defines: the `[features]` keys and the optional
/// dependencies that no feature names as `dep:<name>` (those are implicit features).
pub(crate) fn feature_names(manifest: &Table) -> Vec<String> {
    let table = toml::get_path(manifest, &["features"]).and_then(Value::as_table);
    let mut names: Vec<String> = table
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    let explicit_deps: Vec<&str> = table
        .into_iter()
        .flat_map(|t| t.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|v| v.strip_prefix("dep:"))
        .collect();
    // Optional dependencies can be normal or build ones, never dev ones.
    for deps in dependency_tables(manifest, &[DepKind::Normal, DepKind::Build]) {
        for (key, spec) in deps {
            let optional = spec
                .as_table()
                .and_then(|s| s.get("optional"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if optional && !explicit_deps.contains(&key.as_str()) && !names.contains(key) {
                names.push(key.clone());
            }
        }
    }
    names
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::scratch_dir;

    fn manifest(text: &str) -> Table {
        toml::parse(text).unwrap()
    }

    const OPT_IN: &str = r#"
[package]
name = "opt-in"
version = "0.1.0"

[dependencies]
polars = { path = "../polars", default-features = false }
serde = { version = "1", optional = true }
simd-json = { version = "0.13", optional = true }
rayon = { version = "1", optional = true }

[target.'cfg(unix)'.dependencies]
nix_sys = { version = "1", optional = true }

[features]
default = ["fast-math"]
fast-math = []
full = ["polars/dtype-full"]
json = ["dep:simd-json"]
with_rayon = ["rayon"]
"#;

    #[test]
    fn feature_names_include_implicit_optional_dependencies() {
        let names = feature_names(&manifest(OPT_IN));
        assert_eq!(
            names,
            [
                "default",
                "fast-math",
                "full",
                "json",
                "with_rayon",
                "rayon",
                "serde",
                "nix_sys"
            ]
        );
    }

    #[test]
    fn feature_vars_follow_cargo() {
        assert_eq!(feature_var("fast-math"), "CARGO_FEATURE_FAST_MATH");
        assert_eq!(feature_var("with_rayon"), "CARGO_FEATURE_WITH_RAYON");
        assert_eq!(feature_var("dtype-i8"), "CARGO_FEATURE_DTYPE_I8");
    }

    #[test]
    fn cargo_cfg_feature_wins_and_is_exact() {
        let env = Env::from_pairs(&[
            ("CARGO_CFG_FEATURE", "full,default,fast-math"),
            ("CARGO_FEATURE_SERDE", "1"),
        ]);
        assert_eq!(
            active_features(&env, &manifest(OPT_IN)),
            ["default", "fast-math", "full"]
        );
        let none = Env::from_pairs(&[("CARGO_CFG_FEATURE", "")]);
        assert!(active_features(&none, &manifest(OPT_IN)).is_empty());
    }

    #[test]
    fn cargo_feature_variables_map_back_to_the_manifests_names() {
        let env = Env::from_pairs(&[
            ("CARGO_FEATURE_DEFAULT", "1"),
            ("CARGO_FEATURE_FAST_MATH", "1"),
            ("CARGO_FEATURE_WITH_RAYON", "1"),
            ("CARGO_FEATURE_RAYON", "1"),
            ("CARGO_FEATURE_UNKNOWN", "1"),
        ]);
        assert_eq!(
            active_features(&env, &manifest(OPT_IN)),
            ["default", "fast-math", "rayon", "with_rayon"]
        );
    }

    #[test]
    fn implied_features_are_left_to_cargo() {
        let table = manifest(OPT_IN);
        let all = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // `default` brings `fast-math`; `with_rayon` brings the implicit `rayon`.
        assert_eq!(
            reduce(&all(&["default", "fast-math", "full"]), &table),
            ["default", "full"]
        );
        assert_eq!(
            reduce(&all(&["rayon", "with_rayon"]), &table),
            ["with_rayon"]
        );
        assert_eq!(reduce(&all(&["fast-math"]), &table), ["fast-math"]);
        assert!(reduce(&[], &table).is_empty());
        // Features that turn each other on: one is kept.
        let cycle = manifest("[features]\na = [\"b\"]\nb = [\"a\"]\nc = [\"x?/y\", \"dep:z\"]\n");
        assert_eq!(reduce(&all(&["a", "b", "c"]), &cycle), ["a", "c"]);
        // Without a readable table nothing is left out.
        assert_eq!(
            reduce(&all(&["default", "x"]), &Table::new()),
            ["default", "x"]
        );
    }

    #[test]
    fn selection_arguments() {
        let caller = Caller {
            name: "opt-in".into(),
            version: Some("0.1.0".into()),
            manifest: PathBuf::from("/ws/opt-in/Cargo.toml"),
            features: vec!["default".into(), "full".into()],
            target: Some("x86_64-unknown-linux-gnu".into()),
            table: Table::new(),
        };
        assert_eq!(
            caller.selection_args(),
            [
                "-p",
                "opt-in@0.1.0",
                "--no-default-features",
                "--features",
                "default,full",
                "--target",
                "x86_64-unknown-linux-gnu"
            ]
        );
        let host = Caller {
            version: None,
            features: Vec::new(),
            target: None,
            ..caller
        };
        assert_eq!(
            host.selection_args(),
            ["-p", "opt-in", "--no-default-features"]
        );
        assert_eq!(host.dir(), Path::new("/ws/opt-in"));
    }

    #[test]
    fn registry_git_and_vendored_packages_are_skipped_with_a_note() {
        let home = scratch_dir("caller-home");
        let registry = home.join("registry/src/index.crates.io-xyz/dep-1.0.0");
        std::fs::create_dir_all(&registry).unwrap();
        std::fs::write(registry.join("Cargo.toml"), "[package]\nname = \"dep\"\n").unwrap();
        let git = home.join("git/checkouts/dep-abc/0123");
        std::fs::create_dir_all(&git).unwrap();
        let vendored = scratch_dir("caller-vendor");
        std::fs::write(vendored.join(".cargo-checksum.json"), "{}").unwrap();
        let local = scratch_dir("caller-local");
        std::fs::write(
            local.join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"1.2.3\"\n[features]\ndefault = []\n",
        )
        .unwrap();

        let home_text = home.display().to_string();
        for dir in [&registry, &git, &vendored] {
            let dir_text = dir.display().to_string();
            let env = Env::from_pairs(&[
                ("CARGO_HOME", home_text.as_str()),
                ("CARGO_MANIFEST_DIR", dir_text.as_str()),
            ]);
            match Caller::from_env(&env, None) {
                Err(NotRun::Note(note)) => {
                    assert!(note.contains("registry, git or vendored"), "{note}")
                }
                other => panic!("{}: {other:?}", dir.display()),
            }
        }
        // HOME/.cargo when CARGO_HOME is unset.
        let dot_cargo = scratch_dir("caller-dothome");
        let nested = dot_cargo.join(".cargo/registry/src/x/dep-1.0.0");
        std::fs::create_dir_all(&nested).unwrap();
        let env = Env::from_pairs(&[
            ("HOME", dot_cargo.to_str().unwrap()),
            ("CARGO_MANIFEST_DIR", nested.to_str().unwrap()),
        ]);
        assert!(matches!(Caller::from_env(&env, None), Err(NotRun::Note(_))));

        // A local package in a build script: its env features; outside one: defaults, host.
        let local_text = local.display().to_string();
        let env = Env::from_pairs(&[
            ("CARGO_HOME", home_text.as_str()),
            ("CARGO_MANIFEST_DIR", local_text.as_str()),
            ("CARGO_CFG_FEATURE", ""),
            ("TARGET", "aarch64-unknown-linux-gnu"),
        ]);
        let caller = Caller::from_env(&env, None).unwrap();
        assert_eq!(caller.name, "app");
        assert_eq!(caller.version.as_deref(), Some("1.2.3"));
        assert!(caller.features.is_empty());
        assert_eq!(caller.target.as_deref(), Some("aarch64-unknown-linux-gnu"));
        let given = local.join("Cargo.toml");
        let outside = Env::from_pairs(&[("CARGO_HOME", home_text.as_str())]);
        let caller = Caller::from_env(&outside, Some(&given)).unwrap();
        assert_eq!(caller.features, ["default"]);
        assert_eq!(caller.target, None);
        assert!(matches!(
            Caller::from_env(&outside, None),
            Err(NotRun::Problem(_))
        ));
        let missing = local.join("nope/Cargo.toml");
        assert!(matches!(
            Caller::from_env(&outside, Some(&missing)),
            Err(NotRun::Problem(_))
        ));
        for dir in [home, vendored, local, dot_cargo] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
