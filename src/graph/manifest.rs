//! What one package's `Cargo.toml` says about building it: its crate, targets, build script,
//! features and dependencies (kind, platform condition, optional, features asked), from a parsed
//! manifest.

use crate::settings::toml::{Table, Value};

/// The facts of one manifest that decide what its build compiles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Manifest {
    /// `package.name`.
    pub(crate) name: String,
    /// The crate name of the lib target (`lib.name`, else the package name with `_` for `-`);
    /// for a package without a lib, that of its first binary.
    pub(crate) crate_name: String,
    /// The root file of the lib target (`lib.path`, else `src/lib.rs`), else of the first
    /// binary, relative to the package directory; `None` when it has neither.
    pub(crate) root_file: Option<String>,
    /// The lib target is a procedural macro (compiled for the host, with its whole closure).
    pub(crate) proc_macro: bool,
    /// It has a build script (`build = "..."`, or `build.rs` present and `build` not false).
    pub(crate) build_script: bool,
    /// Building it links an artifact (a binary, or a lib of crate-type `cdylib`, `dylib` or
    /// `staticlib`), which takes the linker's memory. Not the manifest's `links` key.
    pub(crate) links: bool,
    /// The dependencies, sorted by package name.
    pub(crate) deps: Vec<Dep>,
    /// `[features]` as cargo's feature map has it: the table's entries plus the implicit feature
    /// of each optional dependency that no `dep:` value names; sorted by name.
    pub(crate) features: Vec<Feature>,
}

/// One dependency as a manifest declares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Dep {
    /// The package name (after a `package = "..."` rename; `-` kept), as the lock file names it.
    pub(crate) name: String,
    /// Which table it is in.
    pub(crate) kind: DepKind,
    /// The condition of a `[target.<condition>.*]` table: `cfg(...)` or a target triple.
    pub(crate) target: Option<String>,
    /// `optional = true`: only a feature turns it on.
    pub(crate) optional: bool,
    /// The name the manifest declares it under when that differs from the package name (the
    /// key of a `package = "..."` rename): features name dependencies by it.
    pub(crate) rename: Option<String>,
    /// Asks for the dependency's `default` feature (`default-features` not false).
    pub(crate) default_features: bool,
    /// The dependency's features it asks for (`features = [...]`), as written.
    pub(crate) features: Vec<String>,
    /// The version requirement, kept only when the manifest declares the same package with
    /// different requirements (`rand` and `rand_old = { package = "rand" }`): then it tells which
    /// locked version each declaration is.
    pub(crate) req: Option<String>,
}

impl Dep {
    /// The name features use for it: the manifest's key.
    pub(crate) fn key(&self) -> &str {
        self.rename.as_deref().unwrap_or(&self.name)
    }
}

/// One entry of a package's feature map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Feature {
    /// The feature's name.
    pub(crate) name: String,
    /// What it enables, as written: `other-feature`, `dep:x`, `x/f` or `x?/f`.
    pub(crate) enables: Vec<String>,
}

impl Manifest {
    /// The feature named `name` in the feature map.
    pub(crate) fn feature(&self, name: &str) -> Option<&Feature> {
        let at = self
            .features
            .binary_search_by(|f| f.name.as_str().cmp(name))
            .ok()?;
        self.features.get(at)
    }
}

/// The table a dependency is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DepKind {
    /// `[dependencies]`: built for the same platform as the package.
    Normal,
    /// `[build-dependencies]`: built for the host, for the build script.
    Build,
    /// `[dev-dependencies]`: only for the package's tests, examples and benches.
    Dev,
}

impl DepKind {
    /// The letter the cache writes.
    pub(crate) fn letter(self) -> char {
        match self {
            DepKind::Normal => 'n',
            DepKind::Build => 'b',
            DepKind::Dev => 'd',
        }
    }

    /// The kind a cache letter stands for.
    pub(crate) fn from_letter(letter: char) -> Option<DepKind> {
        match letter {
            'n' => Some(DepKind::Normal),
            'b' => Some(DepKind::Build),
            'd' => Some(DepKind::Dev),
            _ => None,
        }
    }
}

/// Which conventional files exist in the package directory: they decide the targets and the
/// build script when the manifest does not name them (published manifests of older cargo, and
/// every hand-written one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Files {
    /// `src/lib.rs`.
    pub(crate) lib_rs: bool,
    /// `src/main.rs`.
    pub(crate) main_rs: bool,
    /// `src/bin/`.
    pub(crate) bin_dir: bool,
    /// `build.rs`.
    pub(crate) build_rs: bool,
}

/// The entries of a manifest its facts come from: read from a parsed table ([`entries`]), or
/// straight from a published manifest's text (`scan.rs`). Dependencies are complete (workspace
/// inheritance applied) but not yet sorted; features are those of `[features]`, in any order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Entries {
    /// `package.name`.
    pub(crate) name: String,
    /// `package.build`: `false`, or `true` for `true` or a path; `None` when not given.
    pub(crate) build: Option<bool>,
    /// `package.autolib`.
    pub(crate) autolib: Option<bool>,
    /// `package.autobins`.
    pub(crate) autobins: Option<bool>,
    /// The `[lib]` table, when there is one.
    pub(crate) lib: Option<Lib>,
    /// How many `[[bin]]` tables there are.
    pub(crate) bins: usize,
    /// The first `[[bin]]`'s `name` and `path`.
    pub(crate) first_bin: (Option<String>, Option<String>),
    /// The dependencies.
    pub(crate) deps: Vec<Dep>,
    /// `[features]`.
    pub(crate) features: Vec<Feature>,
}

impl Entries {
    /// The entries in one order whatever the text's: dependencies and features sorted, as the
    /// ways of reading them are compared.
    #[cfg(any(test, feature = "unstable-internals"))]
    pub(crate) fn sorted(mut self) -> Entries {
        self.deps.sort();
        self.features.sort();
        self
    }
}

/// What a manifest's `[lib]` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Lib {
    /// `name`.
    pub(crate) name: Option<String>,
    /// `path`.
    pub(crate) path: Option<String>,
    /// `proc-macro = true` (or `proc_macro`), or `crate-type` has `proc-macro`.
    pub(crate) proc_macro: bool,
    /// `crate-type` has `cdylib`, `dylib` or `staticlib`.
    pub(crate) artifact: bool,
}

/// Which of the conventional files [`facts`] needs to know about for these entries: published
/// manifests name their targets and build script, so most need none of them (each one asked is
/// a filesystem call).
pub(crate) fn files_needed(entries: &Entries) -> Files {
    let no_bins = entries.bins == 0;
    Files {
        lib_rs: entries.lib.is_none() && entries.autolib != Some(false),
        main_rs: no_bins,
        bin_dir: no_bins && entries.autobins != Some(false),
        build_rs: entries.build.is_none(),
    }
}

/// The tables dependencies are declared in (the underscore spellings are the old ones cargo still
/// reads in editions before 2024).
const KINDS: [(&str, DepKind); 5] = [
    ("dependencies", DepKind::Normal),
    ("build-dependencies", DepKind::Build),
    ("build_dependencies", DepKind::Build),
    ("dev-dependencies", DepKind::Dev),
    ("dev_dependencies", DepKind::Dev),
];

/// The manifest's dependency tables of the given kinds, the `[target.<cfg>.*]` forms included:
/// the one place that knows which tables hold dependencies.
pub(crate) fn dependency_tables<'a>(manifest: &'a Table, kinds: &[DepKind]) -> Vec<&'a Table> {
    let mut sections = vec![manifest];
    if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
        sections.extend(targets.into_iter().filter_map(|(_, t)| t.as_table()));
    }
    sections
        .into_iter()
        .flat_map(|section| {
            KINDS
                .iter()
                .filter(|(_, kind)| kinds.contains(kind))
                .filter_map(move |(name, _)| section.get(name).and_then(Value::as_table))
        })
        .collect()
}

/// Reads the facts of a manifest: [`entries`], then [`facts`].
#[cfg(test)]
pub(crate) fn read(
    table: &Table,
    files: Files,
    workspace_deps: Option<&Table>,
) -> Result<Manifest, String> {
    Ok(facts(entries(table, workspace_deps)?, files))
}

/// The entries of a parsed manifest. `workspace_deps` is the workspace root's
/// `[workspace.dependencies]`, for what dependencies declared `workspace = true` inherit; `Err`
/// says what was expected when `package.name` is missing or a feature list is not a list of
/// strings.
pub(crate) fn entries(table: &Table, workspace_deps: Option<&Table>) -> Result<Entries, String> {
    let package = table.get("package").and_then(Value::as_table);
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .ok_or("expected `[package]` with a `name`")?
        .to_string();
    let flag = |section: Option<&Table>, key: &str| {
        section.and_then(|s| s.get(key)).and_then(Value::as_bool)
    };
    let text = |section: Option<&Table>, key: &str| {
        section
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let lib = table.get("lib").and_then(Value::as_table).map(|lib| {
        let crate_types = lib
            .get("crate-type")
            .or_else(|| lib.get("crate_type"))
            .and_then(Value::as_array)
            .unwrap_or_default();
        let has_type = |wanted: &[&str]| {
            crate_types
                .iter()
                .filter_map(Value::as_str)
                .any(|t| wanted.contains(&t))
        };
        Lib {
            name: text(Some(lib), "name"),
            path: text(Some(lib), "path"),
            proc_macro: flag(Some(lib), "proc-macro") == Some(true)
                || flag(Some(lib), "proc_macro") == Some(true)
                || has_type(&["proc-macro"]),
            artifact: has_type(&["cdylib", "dylib", "staticlib"]),
        }
    });
    let bins = match table.get("bin") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    let first = bins.first().and_then(Value::as_table);
    let mut entries = Entries {
        name,
        build: match package.and_then(|p| p.get("build")) {
            Some(Value::Boolean(on)) => Some(*on),
            Some(Value::String(_)) => Some(true),
            _ => None,
        },
        autolib: flag(package, "autolib"),
        autobins: flag(package, "autobins"),
        lib,
        bins: bins.len(),
        first_bin: (text(first, "name"), text(first, "path")),
        deps: Vec::new(),
        features: Vec::new(),
    };
    add_deps(&mut entries, table, None, workspace_deps)?;
    if let Some(targets) = table.get("target").and_then(Value::as_table) {
        for (condition, section) in targets {
            if let Some(section) = section.as_table() {
                add_deps(&mut entries, section, Some(condition), workspace_deps)?;
            }
        }
    }
    match table.get("features") {
        None => {}
        Some(Value::Table(features)) => {
            for (name, enables) in features {
                let enables = strings(enables)
                    .ok_or_else(|| format!("expected `features.{name}` to be a list of strings"))?;
                entries.features.push(Feature {
                    name: name.clone(),
                    enables,
                });
            }
        }
        Some(_) => return Err("expected `[features]` to be a table".to_string()),
    }
    Ok(entries)
}

/// The facts of a manifest's entries, with `files` telling which conventional files exist
/// (see [`files_needed`]).
pub(crate) fn facts(entries: Entries, files: Files) -> Manifest {
    let Entries {
        name,
        build,
        autolib,
        autobins,
        lib,
        bins,
        first_bin,
        mut deps,
        features,
    } = entries;
    let has_lib = lib.is_some() || (autolib != Some(false) && files.lib_rs);
    let has_bin = bins > 0 || (autobins != Some(false) && (files.main_rs || files.bin_dir));
    let underscored = || name.replace('-', "_");
    let lib = lib.unwrap_or_default();
    let (crate_name, root_file) = if has_lib {
        let lib_name = lib
            .name
            .as_ref()
            .map_or_else(underscored, |n| n.replace('-', "_"));
        let path = lib.path.clone().unwrap_or_else(|| "src/lib.rs".to_string());
        (lib_name, Some(path))
    } else {
        let (bin_name, bin_path) = first_bin;
        let bin_name = bin_name
            .as_ref()
            .map_or_else(underscored, |n| n.replace('-', "_"));
        let path = bin_path.or_else(|| files.main_rs.then(|| "src/main.rs".to_string()));
        (bin_name, path)
    };
    deps.sort_unstable();
    deps.dedup();
    keep_distinguishing_reqs(&mut deps);
    let features = feature_map(features, &deps);
    Manifest {
        name,
        crate_name,
        root_file,
        proc_macro: has_lib && lib.proc_macro,
        build_script: build.unwrap_or(files.build_rs),
        links: has_bin || (has_lib && lib.artifact),
        deps,
        features,
    }
}

/// The feature map: `[features]` and the implicit features of optional dependencies, sorted, as
/// cargo builds it.
fn feature_map(mut map: Vec<Feature>, deps: &[Dep]) -> Vec<Feature> {
    map.sort_unstable();
    // An optional dependency is a feature of its own name unless some feature says `dep:name`
    // (cargo 1.60's explicit form hides it).
    let mut explicit: Vec<&str> = map
        .iter()
        .flat_map(|f| &f.enables)
        .filter_map(|v| v.strip_prefix("dep:"))
        .collect();
    explicit.sort_unstable();
    let mut implicit: Vec<Feature> = Vec::new();
    for dep in deps.iter().filter(|d| d.optional) {
        let key = dep.key();
        let named = map.binary_search_by(|f| f.name.as_str().cmp(key)).is_ok()
            || implicit.iter().any(|f| f.name == key);
        if !named && explicit.binary_search(&key).is_err() {
            implicit.push(Feature {
                name: key.to_string(),
                enables: vec![format!("dep:{key}")],
            });
        }
    }
    map.append(&mut implicit);
    map.sort_unstable();
    map
}

/// `default-features` (or the old `default_features`) of a dependency's details.
fn default_flag<'t>(field: impl Fn(&str) -> Option<&'t Value>) -> Option<bool> {
    let flag = |key: &str| field(key).and_then(Value::as_bool);
    flag("default-features").or_else(|| flag("default_features"))
}

/// The strings of an array value; `None` when it is not an array of strings.
fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Drops the version requirements that do not tell declarations of one package apart: only a
/// package declared with different requirements needs them, and the cache stays small.
fn keep_distinguishing_reqs(deps: &mut [Dep]) {
    let mut start = 0;
    while start < deps.len() {
        let end = start
            + deps[start..]
                .iter()
                .take_while(|d| d.name == deps[start].name)
                .count();
        let same = deps[start..end].iter().all(|d| d.req == deps[start].req);
        if same {
            for dep in &mut deps[start..end] {
                dep.req = None;
            }
        }
        start = end;
    }
}

/// Adds the dependencies of the dependency tables in `section` (the manifest, or one
/// `[target.<condition>]` table); `Err` names a `features` that is not a list of strings.
fn add_deps(
    manifest: &mut Entries,
    section: &Table,
    condition: Option<&str>,
    workspace_deps: Option<&Table>,
) -> Result<(), String> {
    for (table_name, kind) in KINDS {
        let Some(deps) = section.get(table_name).and_then(Value::as_table) else {
            continue;
        };
        for (key, spec) in deps {
            let detail = spec.as_table();
            let field = |name: &str| detail.and_then(|d| d.get(name));
            let inherited = (field("workspace").and_then(Value::as_bool) == Some(true))
                .then(|| workspace_deps.and_then(|w| w.get(key)))
                .flatten();
            // `workspace.dependencies.x = "1"` is a version alone.
            let inherited_field = |name: &str| match inherited {
                Some(Value::Table(t)) => t.get(name),
                Some(version @ Value::String(_)) if name == "version" => Some(version),
                _ => None,
            };
            let renamed = field("package")
                .or_else(|| inherited_field("package"))
                .and_then(Value::as_str);
            // Cargo: a member may turn default features on over a workspace `false`, never off.
            let default_features = match inherited {
                Some(_) => {
                    default_flag(inherited_field).unwrap_or(true)
                        || default_flag(field) == Some(true)
                }
                None => default_flag(field).unwrap_or(true),
            };
            let wrong =
                || format!("expected `{table_name}.{key}.features` to be a list of strings");
            let mut features = Vec::new();
            for list in [inherited_field("features"), field("features")]
                .into_iter()
                .flatten()
            {
                features.extend(strings(list).ok_or_else(wrong)?);
            }
            let req = match spec {
                Value::String(version) => Some(version.as_str()),
                _ => field("version")
                    .or_else(|| inherited_field("version"))
                    .and_then(Value::as_str),
            };
            let name = renamed.unwrap_or(key).to_string();
            manifest.deps.push(Dep {
                rename: (name != *key).then(|| key.clone()),
                name,
                kind,
                target: condition.map(str::to_string),
                optional: field("optional").and_then(Value::as_bool) == Some(true),
                default_features,
                features,
                req: req.map(str::to_string),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::toml::parse;

    #[test]
    fn dependency_tables_of_the_asked_kinds_with_their_target_forms() {
        let table = parse(
            "[dependencies]\na = \"1\"\n[build_dependencies]\nb = \"1\"\n\
             [dev-dependencies]\nc = \"1\"\n\
             [target.'cfg(unix)'.dependencies]\nd = \"1\"\n\
             [target.'cfg(unix)'.build-dependencies]\ne = \"1\"\n\
             [workspace.dependencies]\nf = \"1\"\n",
        )
        .unwrap();
        let names = |kinds: &[DepKind]| -> Vec<String> {
            dependency_tables(&table, kinds)
                .into_iter()
                .flat_map(|t| t.keys().cloned())
                .collect()
        };
        assert_eq!(names(&[DepKind::Normal]), ["a", "d"]);
        assert_eq!(
            names(&[DepKind::Normal, DepKind::Build]),
            ["a", "b", "d", "e"]
        );
        assert_eq!(
            names(&[DepKind::Normal, DepKind::Build, DepKind::Dev]),
            ["a", "b", "c", "d", "e"]
        );
        assert!(names(&[]).is_empty());
    }

    fn dep(name: &str, kind: DepKind, target: Option<&str>, optional: bool) -> Dep {
        Dep {
            name: name.to_string(),
            kind,
            target: target.map(str::to_string),
            optional,
            rename: None,
            default_features: true,
            features: Vec::new(),
            req: None,
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn feature(name: &str, enables: &[&str]) -> Feature {
        Feature {
            name: name.to_string(),
            enables: strings(enables),
        }
    }

    /// The shape cargo publishes: every table spelled out, targets and build script explicit.
    const NORMALIZED: &str = r#"
[package]
edition = "2021"
name = "net-kit"
version = "1.2.3"
build = "build.rs"
autolib = false
autobins = false

[features]
default = ["std"]
std = ["bytes/std", "serde?/std", "old-rand/std"]
tls = ["dep:rustls"]

[lib]
name = "netkit"
path = "src/netkit.rs"

[dependencies.bytes]
version = "1"
default-features = false
features = ["serde"]

[dependencies.rustls]
version = "0.23"
optional = true

[dependencies.serde]
version = "1"
optional = true
default_features = false

[dependencies.old-rand]
version = "0.7"
package = "rand"
optional = true

[dependencies.rand]
version = "0.8"

[build-dependencies.cc]
version = "1"
features = ["parallel"]

[dev-dependencies.tokio]
version = "1"

[target."cfg(windows)".dependencies.windows-sys]
version = "0.59"

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[target.x86_64-pc-windows-msvc.build-dependencies.winres]
version = "0.1"
"#;

    #[test]
    fn reads_a_normalized_manifest() {
        let table = parse(NORMALIZED).unwrap();
        // The files do not count where the manifest is explicit.
        let files = Files {
            lib_rs: true,
            main_rs: true,
            bin_dir: true,
            build_rs: false,
        };
        let manifest = read(&table, files, None).unwrap();
        use DepKind::*;
        assert_eq!(
            manifest,
            Manifest {
                name: "net-kit".into(),
                crate_name: "netkit".into(),
                root_file: Some("src/netkit.rs".into()),
                proc_macro: false,
                build_script: true,
                links: false,
                deps: vec![
                    Dep {
                        default_features: false,
                        features: strings(&["serde"]),
                        ..dep("bytes", Normal, None, false)
                    },
                    Dep {
                        features: strings(&["parallel"]),
                        ..dep("cc", Build, None, false)
                    },
                    dep("libc", Normal, Some("cfg(unix)"), false),
                    // Two requirements of one package: kept, to tell the locked versions apart.
                    Dep {
                        req: Some("0.8".into()),
                        ..dep("rand", Normal, None, false)
                    },
                    Dep {
                        rename: Some("old-rand".into()),
                        req: Some("0.7".into()),
                        ..dep("rand", Normal, None, true)
                    },
                    dep("rustls", Normal, None, true),
                    Dep {
                        default_features: false,
                        ..dep("serde", Normal, None, true)
                    },
                    dep("tokio", Dev, None, false),
                    dep("windows-sys", Normal, Some("cfg(windows)"), false),
                    dep("winres", Build, Some("x86_64-pc-windows-msvc"), false),
                ],
                // `old-rand` and `serde` are implicit features; `dep:rustls` hides `rustls`.
                features: vec![
                    feature("default", &["std"]),
                    feature("old-rand", &["dep:old-rand"]),
                    feature("serde", &["dep:serde"]),
                    feature("std", &["bytes/std", "serde?/std", "old-rand/std"]),
                    feature("tls", &["dep:rustls"]),
                ],
            }
        );
        assert_eq!(manifest.deps[4].key(), "old-rand");
        assert_eq!(manifest.deps[3].key(), "rand");
        assert!(manifest.feature("tls").is_some() && manifest.feature("rustls").is_none());
    }

    #[test]
    fn conventional_files_decide_where_the_manifest_is_silent() {
        let table = parse("[package]\nname = \"my-app\"\nversion = \"0.1.0\"\n").unwrap();
        let bin_only = Files {
            main_rs: true,
            build_rs: true,
            ..Files::default()
        };
        let manifest = read(&table, bin_only, None).unwrap();
        assert_eq!(manifest.crate_name, "my_app");
        assert_eq!(manifest.root_file.as_deref(), Some("src/main.rs"));
        assert!(manifest.links && manifest.build_script && !manifest.proc_macro);

        let lib_only = Files {
            lib_rs: true,
            ..Files::default()
        };
        let manifest = read(&table, lib_only, None).unwrap();
        assert_eq!(manifest.root_file.as_deref(), Some("src/lib.rs"));
        assert!(!manifest.links && !manifest.build_script);

        let nothing = read(&table, Files::default(), None).unwrap();
        assert_eq!(nothing.root_file, None);

        let no_build = parse("[package]\nname = \"x\"\nbuild = false\n").unwrap();
        let files = Files {
            build_rs: true,
            ..Files::default()
        };
        assert!(!read(&no_build, files, None).unwrap().build_script);
    }

    #[test]
    fn proc_macros_artifacts_and_bins() {
        for (text, proc_macro, links) in [
            ("[lib]\nproc-macro = true\n", true, false),
            ("[lib]\nproc_macro = true\n", true, false),
            ("[lib]\ncrate-type = [\"proc-macro\"]\n", true, false),
            ("[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n", false, true),
            ("[lib]\ncrate-type = [\"staticlib\"]\n", false, true),
            ("[lib]\ncrate-type = [\"rlib\"]\n", false, false),
            (
                "[lib]\npath = \"lib.rs\"\n\n[[bin]]\nname = \"tool\"\npath = \"src/main.rs\"\n",
                false,
                true,
            ),
        ] {
            let table = parse(&format!("{text}\n[package]\nname = \"x\"\n")).unwrap();
            let manifest = read(&table, Files::default(), None).unwrap();
            assert_eq!(manifest.proc_macro, proc_macro, "{text}");
            assert_eq!(manifest.links, links, "{text}");
        }
        let bin_named =
            parse("[package]\nname = \"x\"\n[[bin]]\nname = \"my-tool\"\npath = \"tool.rs\"\n")
                .unwrap();
        let manifest = read(&bin_named, Files::default(), None).unwrap();
        assert_eq!(manifest.crate_name, "my_tool");
        assert_eq!(manifest.root_file.as_deref(), Some("tool.rs"));
    }

    #[test]
    fn workspace_inheritance_renames_and_path_dependencies() {
        let member = parse(
            "[package]\nname = \"app\"\n\n[dependencies]\nshared = { path = \"../shared\" }\nold = { workspace = true, optional = true, features = [\"b\"] }\nserde = { workspace = true, default-features = false }\nnodef = { workspace = true, default-features = true }\n\n[dev-dependencies]\nold_dev = { version = \"1\", package = \"old\" }\n",
        )
        .unwrap();
        let root = parse(
            "[workspace.dependencies]\nold = { version = \"0.1\", package = \"legacy\", default-features = false, features = [\"a\"] }\nserde = \"1\"\nnodef = { version = \"2\", default-features = false }\n",
        )
        .unwrap();
        let ws = crate::settings::toml::get_path(&root, &["workspace", "dependencies"])
            .and_then(Value::as_table);
        let manifest = read(&member, Files::default(), ws).unwrap();
        use DepKind::*;
        assert_eq!(
            manifest.deps,
            [
                // The workspace's features and the member's; the workspace's
                // `default-features = false`; the member's `optional`.
                Dep {
                    rename: Some("old".into()),
                    default_features: false,
                    features: strings(&["a", "b"]),
                    ..dep("legacy", Normal, None, true)
                },
                // A member may turn default features back on, not off.
                dep("nodef", Normal, None, false),
                Dep {
                    rename: Some("old_dev".into()),
                    ..dep("old", Dev, None, false)
                },
                dep("serde", Normal, None, false),
                dep("shared", Normal, None, false),
            ]
        );
        assert_eq!(manifest.features, [feature("old", &["dep:old"])]);
    }

    #[test]
    fn a_manifest_without_a_package_name_says_what_was_expected() {
        for text in [
            "[workspace]\nmembers = []\n",
            "[package]\nversion = \"1\"\n",
            "",
        ] {
            let err = read(&parse(text).unwrap(), Files::default(), None).unwrap_err();
            assert_eq!(err, "expected `[package]` with a `name`");
        }
        for (text, expected) in [
            ("[features]\nstd = \"alloc\"\n", "expected `features.std` to be a list of strings"),
            ("[features]\nstd = [1]\n", "expected `features.std` to be a list of strings"),
            ("features = 1\n", "expected `[features]` to be a table"),
            (
                "[dependencies]\na = { version = \"1\", features = \"x\" }\n",
                "expected `dependencies.a.features` to be a list of strings",
            ),
            (
                "[target.'cfg(unix)'.build-dependencies]\na = { version = \"1\", features = [true] }\n",
                "expected `build-dependencies.a.features` to be a list of strings",
            ),
        ] {
            let table = parse(&format!("{text}\n[package]\nname = \"x\"\n"))
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(read(&table, Files::default(), None).unwrap_err(), expected);
        }
    }
}
