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
    let table;
    let entries = match cargo_written(text) {
        Some(entries) => entries,
        None => {
            table = toml::parse(text).map_err(|e| format!("not valid TOML ({e})"))?;
            any_layout(&table)?
        }
    };
    let mut packages: Vec<Locked> = entries
        .iter()
        .map(|entry| Locked {
            name: entry.name.to_string(),
            version: entry.version.to_string(),
            source: entry.source.map(str::to_string),
            deps: Vec::new(),
        })
        .collect();
    let by_name = sorted_by_name(&packages);
    let mut problems = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let mut deps = Vec::with_capacity(entry.deps.len());
        for text in &entry.deps {
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

/// One `[[package]]` as written, before its dependencies are resolved.
#[derive(Default)]
struct Entry<'a> {
    name: &'a str,
    version: &'a str,
    source: Option<&'a str>,
    deps: Vec<&'a str>,
}

/// Reads the lock file line by line in the exact layout cargo writes, several times faster than
/// the TOML reader in the unoptimised build a build script runs in (byte loops, no per-line
/// allocation). `None` at the first line of another layout (an edited or unusual file), which
/// the TOML reader then reads.
fn cargo_written(text: &str) -> Option<Vec<Entry<'_>>> {
    let bytes = text.as_bytes();
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut has_version = false;
    // In a `[[package]]` (or v1 `[root]`) table, else before any or in one that is skipped
    // (`[metadata]` of v1).
    let mut in_package = false;
    let mut in_dependencies = false;
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        while at < bytes.len() && bytes[at] != b'\n' {
            at += 1;
        }
        let line = &bytes[start..at];
        at += 1;
        if in_dependencies {
            if line == b"]" {
                in_dependencies = false;
            } else {
                let item = quoted(line.strip_prefix(b" ")?.strip_suffix(b",")?)?;
                entries
                    .last_mut()?
                    .deps
                    .push(text.get(start + 2..start + 2 + item)?);
            }
            continue;
        }
        match line.first() {
            None | Some(b'#') => continue,
            Some(b'[') => {
                in_package = line == b"[[package]]" || line == b"[root]";
                if in_package {
                    entries.push(Entry::default());
                } else if line.starts_with(b"[[") || entries.is_empty() {
                    return None;
                }
                continue;
            }
            _ => {}
        }
        if !in_package {
            if entries.is_empty() && matches!(line, b"version = 3" | b"version = 4") {
                has_version = true;
                continue;
            }
            if entries.is_empty() {
                return None;
            }
            continue;
        }
        let entry = entries.last_mut()?;
        // The value of `key = "value"`, as a range of `line`.
        let value = |key: &[u8]| -> Option<&str> {
            let rest = line.strip_prefix(key)?.strip_prefix(b" = ")?;
            let len = quoted(rest)?;
            let from = start + line.len() - rest.len() + 1;
            text.get(from..from + len)
        };
        match line[0] {
            b'n' => entry.name = value(b"name")?,
            b'v' => entry.version = value(b"version")?,
            b's' => entry.source = Some(value(b"source")?),
            b'c' if line.starts_with(b"checksum = ") => {}
            b'd' if line == b"dependencies = [" => in_dependencies = true,
            _ => return None,
        }
    }
    let complete = !in_dependencies
        && entries
            .iter()
            .all(|e| !e.name.is_empty() && !e.version.is_empty());
    (complete && (has_version || !entries.is_empty())).then_some(entries)
}

/// The length of the text of `"..."` (the whole of `quoted`), when it has no escape or quote.
fn quoted(quoted: &[u8]) -> Option<usize> {
    let inner = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    (!inner.contains(&b'"') && !inner.contains(&b'\\')).then_some(inner.len())
}

/// The packages of a lock file read by the TOML reader, whatever its layout.
fn any_layout(table: &Table) -> Result<Vec<Entry<'_>>, String> {
    if let Some(version) = table.get("version") {
        if !matches!(version, Value::Integer(1..=4)) {
            return Err("expected `version = 3` or `4` (a newer cargo's lock file?)".to_string());
        }
    }
    let mut tables: Vec<&Table> = Vec::new();
    match table.get("package") {
        Some(Value::Array(items)) => {
            for item in items {
                tables.push(item.as_table().ok_or_else(expected_packages)?);
            }
        }
        Some(_) => return Err(expected_packages()),
        None => {}
    }
    tables.extend(table.get("root").and_then(Value::as_table));
    if tables.is_empty() && !table.contains_key("version") {
        return Err(expected_packages());
    }
    let mut entries = Vec::with_capacity(tables.len());
    for entry in tables {
        let text = |key: &str| entry.get(key).and_then(Value::as_str);
        let (Some(name), Some(version)) = (text("name"), text("version")) else {
            return Err(expected_packages());
        };
        let deps = match entry.get("dependencies") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().unwrap_or_default())
                .collect(),
            _ => Vec::new(),
        };
        entries.push(Entry {
            name,
            version,
            source: text("source"),
            deps,
        });
    }
    Ok(entries)
}

fn expected_packages() -> String {
    "expected `[[package]]` tables with `name` and `version`".to_string()
}

/// Indices of `packages` in the order of their names, for binary search.
fn sorted_by_name(packages: &[Locked]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..packages.len()).collect();
    // Cargo writes them sorted already; sorting costs only for an edited file.
    if !packages.windows(2).all(|pair| pair[0].name <= pair[1].name) {
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        order = crate::order::by_str_keys(&names);
    }
    order
}

/// The package a dependency entry names: `name`, `name version` or `name version (source)`.
fn resolve(packages: &[Locked], by_name: &[usize], entry: &str) -> Result<usize, &'static str> {
    let (name, version, source) = match entry.split_once(' ') {
        None => (entry, None, None),
        Some((name, rest)) => match rest.split_once(' ') {
            None => (name, Some(rest), None),
            Some((version, source)) => (
                name,
                Some(version),
                Some(source.trim_start_matches('(').trim_end_matches(')')),
            ),
        },
    };
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
        let names: Vec<_> = app.deps.iter().map(|&d| &lock.packages[d].name).collect();
        assert_eq!(names, ["libc", "tool"]);
        assert_eq!(lock.packages.len(), 3);
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

    type Plain<'a> = Vec<(&'a str, &'a str, Option<&'a str>, Vec<&'a str>)>;

    fn plain<'a>(entries: &[Entry<'a>]) -> Plain<'a> {
        entries
            .iter()
            .map(|e| (e.name, e.version, e.source, e.deps.clone()))
            .collect()
    }

    #[test]
    fn the_line_reader_and_the_toml_reader_agree() {
        let locks = [
            include_str!("../../tests/fixtures/graphs/polars/Cargo.lock"),
            include_str!("../../tests/fixtures/graphs/app/Cargo.lock"),
            include_str!("../../tests/fixtures/graphs/ws/Cargo.lock"),
            include_str!("../../tests/fixtures/graphs/git/Cargo.lock"),
        ];
        for text in locks {
            let fast = cargo_written(text).expect("cargo's layout");
            let table = toml::parse(text).unwrap();
            let slow = any_layout(&table).unwrap();
            assert_eq!(plain(&fast), plain(&slow));
        }
        // Other layouts are left to the TOML reader.
        for text in [
            V4,
            "version = 4\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\"]\n",
            "version = 4\n[[package]]\nname = 'a'\nversion = \"1.0.0\"\n",
            "version = 4\n[[package]]\nname = \"a\\u0041\"\nversion = \"1.0.0\"\n",
            "version = 9\n",
            "[[package]]\nname = \"a\"\n",
            "",
        ] {
            assert!(cargo_written(text).is_none(), "{text}");
        }
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
