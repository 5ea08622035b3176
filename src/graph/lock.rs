//! Reading a workspace's `Cargo.lock` into packages and dependency edges between them.

use crate::settings::toml::{self, Table, Value};

/// The packages of a lock file, in its order, with their dependencies resolved to indices.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Lock {
    /// Every `[[package]]`.
    pub(crate) packages: Vec<Locked>,
    /// Dependency entries that name no package, or more than one, one line each.
    pub(crate) problems: Vec<String>,
}

/// One `[[package]]` of a lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Locked {
    /// The package name, as in its manifest (`-` kept).
    pub(crate) name: String,
    /// The exact version.
    pub(crate) version: String,
    /// `registry+<url>`, `sparse+<url>`, `git+<url>?...#<rev>`; `None` for path and workspace
    /// packages.
    pub(crate) source: Option<String>,
    /// The packages this one depends on (any kind, any platform), as indices into
    /// [`Lock::packages`].
    pub(crate) deps: Vec<usize>,
}

/// Where a package's sources come from, as a lock file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// A registry (crates.io or another), sources under `$CARGO_HOME/registry/src`.
    Registry,
    /// A git repository, sources under `$CARGO_HOME/git/checkouts`.
    Git,
    /// A workspace member or a path dependency.
    Path,
    /// A source kind this reader does not know (e.g. a newer cargo's).
    Other,
}

impl SourceKind {
    /// The kind of a lock file's `source` value.
    pub(crate) fn of(source: Option<&str>) -> SourceKind {
        match source {
            None => SourceKind::Path,
            Some(s) if s.starts_with("registry+") || s.starts_with("sparse+") => {
                SourceKind::Registry
            }
            Some(s) if s.starts_with("git+") => SourceKind::Git,
            Some(_) => SourceKind::Other,
        }
    }
}

/// Parses a lock file of any version. Versions 3 and 4 (`version = 3`/`4`) write a dependency
/// as `"name"`, `"name version"` or `"name version (source)"`, only as long as needed to be
/// unambiguous; version 2 (no `version` key) does the same, and version 1 always writes the
/// long form and may have a `[root]` package, read as one more package. `Err` says what was
/// expected, for a file that is not a lock file at all.
pub(crate) fn parse(text: &str) -> Result<Lock, String> {
    let table = toml::parse(text).map_err(|e| format!("not valid TOML ({e})"))?;
    if let Some(version) = table.get("version") {
        if !matches!(version, Value::Integer(1..=4)) {
            return Err("expected `version = 3` or `4` (a newer cargo's lock file?)".to_string());
        }
    }
    let mut entries: Vec<&Table> = Vec::new();
    match table.get("package") {
        Some(Value::Array(items)) => {
            for item in items {
                entries.push(item.as_table().ok_or_else(expected_packages)?);
            }
        }
        Some(_) => return Err(expected_packages()),
        None => {}
    }
    entries.extend(table.get("root").and_then(Value::as_table));
    if entries.is_empty() && !table.contains_key("version") {
        return Err(expected_packages());
    }
    let mut packages = Vec::with_capacity(entries.len());
    for entry in &entries {
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
        let (Some(name), Some(version)) = (text("name"), text("version")) else {
            return Err(expected_packages());
        };
        packages.push(Locked {
            name,
            version,
            source: text("source"),
            deps: Vec::new(),
        });
    }
    let by_name = sorted_by_name(&packages);
    let mut problems = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let listed = match entry.get("dependencies") {
            Some(Value::Array(items)) => items.as_slice(),
            _ => &[],
        };
        let mut deps = Vec::with_capacity(listed.len());
        for item in listed {
            let text = item.as_str().unwrap_or_default();
            match resolve(&packages, &by_name, text) {
                Ok(found) => deps.push(found),
                Err(why) => problems.push(format!(
                    "`{} {}` depends on `{text}`, which {why}",
                    packages[index].name, packages[index].version
                )),
            }
        }
        packages[index].deps = deps;
    }
    Ok(Lock { packages, problems })
}

fn expected_packages() -> String {
    "expected `[[package]]` tables with `name` and `version`".to_string()
}

/// Indices of `packages` in the order of their names, for binary search.
fn sorted_by_name(packages: &[Locked]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..packages.len()).collect();
    order.sort_by(|&a, &b| packages[a].name.cmp(&packages[b].name));
    order
}

/// The package a dependency entry names: `name`, `name version` or `name version (source)`.
fn resolve(packages: &[Locked], by_name: &[usize], entry: &str) -> Result<usize, &'static str> {
    let mut words = entry.splitn(3, ' ');
    let name = words.next().unwrap_or_default();
    let version = words.next();
    let source = words
        .next()
        .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
    let start = by_name.partition_point(|&i| packages[i].name.as_str() < name);
    let same_name = by_name[start..]
        .iter()
        .take_while(|&&i| packages[i].name == name);
    let mut found = None;
    for &index in same_name {
        let package = &packages[index];
        if version.is_some_and(|v| v != package.version)
            || source.is_some_and(|s| !same_source(s, package.source.as_deref()))
        {
            continue;
        }
        if found.is_some() {
            return Err("matches more than one package");
        }
        found = Some(index);
    }
    found.ok_or("is not in the lock file")
}

/// Whether a dependency entry's source names a package's: equal, or equal but for the `#rev` of
/// a git source (version 1 files wrote it on one side only).
fn same_source(entry: &str, package: Option<&str>) -> bool {
    let Some(package) = package else {
        return false;
    };
    let base = |s: &str| s.split('#').next().unwrap_or(s).to_string();
    entry == package || base(entry) == base(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "rand 0.8.5",
 "rand 0.9.0",
 "serde",
 "tool",
]

[[package]]
name = "rand"
version = "0.8.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "0000"

[[package]]
name = "rand"
version = "0.9.0"
source = "sparse+https://index.crates.io/"

[[package]]
name = "serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["serde_derive"]

[[package]]
name = "serde_derive"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "tool"
version = "0.2.0"
source = "git+https://example.com/tool.git?branch=main#0123456789abcdef0123456789abcdef01234567"
"#;

    #[test]
    fn reads_packages_and_resolves_short_entries() {
        let lock = parse(V4).unwrap();
        assert!(lock.problems.is_empty(), "{:?}", lock.problems);
        let names: Vec<_> = lock.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["app", "rand", "rand", "serde", "serde_derive", "tool"]
        );
        assert_eq!(lock.packages[0].deps, [1, 2, 3, 5]);
        assert_eq!(lock.packages[3].deps, [4]);
        assert_eq!(lock.packages[0].source, None);
        let kinds: Vec<_> = lock
            .packages
            .iter()
            .map(|p| SourceKind::of(p.source.as_deref()))
            .collect();
        use SourceKind::*;
        assert_eq!(kinds, [Path, Registry, Registry, Registry, Registry, Git]);
        assert_eq!(SourceKind::of(Some("path+file:///x")), Other);
    }

    #[test]
    fn reads_version_1_with_long_entries_and_a_root() {
        let v1 = r#"
[root]
name = "app"
version = "0.1.0"
dependencies = [
 "libc 0.2.1 (registry+https://github.com/rust-lang/crates.io-index)",
 "tool 0.2.0 (git+https://example.com/tool.git)",
]

[[package]]
name = "libc"
version = "0.2.1"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "tool"
version = "0.2.0"
source = "git+https://example.com/tool.git#0123456"

[metadata]
"checksum libc 0.2.1 (registry+https://github.com/rust-lang/crates.io-index)" = "00"
"#;
        let lock = parse(v1).unwrap();
        assert!(lock.problems.is_empty(), "{:?}", lock.problems);
        let app = lock.packages.iter().find(|p| p.name == "app").unwrap();
        assert_eq!(app.deps, [0, 1]);
    }

    #[test]
    fn entries_naming_nothing_or_too_much_are_problems() {
        let text = "version = 3\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"missing\", \"b\"]\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\n";
        let lock = parse(text).unwrap();
        assert_eq!(lock.packages[0].deps, Vec::<usize>::new());
        assert_eq!(
            lock.problems,
            [
                "`a 1.0.0` depends on `missing`, which is not in the lock file",
                "`a 1.0.0` depends on `b`, which matches more than one package",
            ]
        );
    }

    #[test]
    fn garbage_says_what_was_expected() {
        for (text, expected) in [
            ("this is not toml", "not valid TOML (line 1:"),
            ("[package]\nname = \"a\"\n", "expected `[[package]]` tables"),
            (
                "[[package]]\nname = \"a\"\n",
                "expected `[[package]]` tables",
            ),
            ("version = 9\n", "expected `version = 3` or `4`"),
            ("", "expected `[[package]]` tables"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
        assert_eq!(parse("version = 4\n").unwrap(), Lock::default());
    }
}
