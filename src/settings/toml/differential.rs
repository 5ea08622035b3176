//! The reader against the `toml` crate, whose parser is the one Cargo reads these files with.
//!
//! Every document the `toml` crate accepts must read to the same tree, as far as the values this
//! crate reads (strings, integers, booleans, arrays, tables); floats and date-times must be where
//! they are, as [`Value::Other`]. A document the `toml` crate rejects is not compared: Cargo has
//! rejected it before any build script runs, so this reader need not.
//!
//! The corpus: tests/fixtures/toml/ (a document per syntax feature), each also with CRLF line
//! endings and with a byte order mark; every TOML file in this repository; and the manifests and
//! lockfiles of the packages in the local registry, which on a clean machine hold at least what
//! `cargo fetch` of this repository brings.

use super::{parse, Table, Value};
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// The tree the `toml` crate reads, in this reader's terms; `Err` when it rejects the document.
pub(crate) fn oracle(text: &str) -> Result<Table, String> {
    let table = DeTable::parse(text).map_err(|error| error.to_string())?;
    from_table(table.get_ref())
}

/// A table of the `toml` crate as a [`Table`], keys sorted as this reader keeps them.
fn from_table(table: &DeTable<'_>) -> Result<Table, String> {
    let mut entries = table
        .iter()
        .map(|(key, value)| Ok((key.get_ref().to_string(), from_value(value.get_ref())?)))
        .collect::<Result<Vec<_>, String>>()?;
    entries.sort_by(|(a, _), (b, _)| a.cmp(b));
    Ok(Table(entries))
}

/// A value of the `toml` crate as a [`Value`]: floats and date-times are [`Value::Other`].
fn from_value(value: &DeValue<'_>) -> Result<Value, String> {
    Ok(match value {
        DeValue::String(text) => Value::String(text.to_string()),
        // The parser leaves the range check to deserialization: TOML integers are 64-bit, so a
        // larger one makes the document invalid.
        DeValue::Integer(number) => i64::from_str_radix(number.as_str(), number.radix())
            .map(Value::Integer)
            .map_err(|_| format!("integer {number} out of range"))?,
        DeValue::Boolean(flag) => Value::Boolean(*flag),
        DeValue::Float(_) | DeValue::Datetime(_) => Value::Other,
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| from_value(item.get_ref()))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(table) => Value::Table(from_table(table)?),
    })
}

/// Where two trees first differ: the path and both values. `None` when they are equal.
fn difference(ours: &Value, theirs: &Value, path: &str) -> Option<String> {
    if ours == theirs {
        return None;
    }
    match (ours, theirs) {
        (Value::Table(ours), Value::Table(theirs)) => {
            let keys = ours.iter().chain(theirs).map(|(key, _)| key.as_str());
            keys.map(|key| match (ours.get(key), theirs.get(key)) {
                (Some(a), Some(b)) => difference(a, b, &format!("{path}.{key:?}")),
                (a, b) => Some(format!("{path}.{key:?}: this reader {a:?}, toml {b:?}")),
            })
            .find(Option::is_some)
            .flatten()
        }
        (Value::Array(ours), Value::Array(theirs)) if ours.len() == theirs.len() => ours
            .iter()
            .zip(theirs)
            .enumerate()
            .find_map(|(index, (a, b))| difference(a, b, &format!("{path}[{index}]"))),
        _ => {
            let shorten =
                |value: &Value| format!("{value:?}").chars().take(300).collect::<String>();
            Some(format!(
                "{path}: this reader {}, toml {}",
                shorten(ours),
                shorten(theirs)
            ))
        }
    }
}

/// How one document compared.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Both read it, to the same tree.
    Same,
    /// The `toml` crate rejects it (with this error), so there is nothing to compare.
    Invalid(String),
}

/// Reads `text` with both parsers; `Err` says how this reader went wrong.
fn compare(text: &str) -> Result<Outcome, String> {
    let expected = match oracle(text) {
        Ok(expected) => expected,
        Err(error) => return Ok(Outcome::Invalid(error)),
    };
    let ours =
        parse(text).map_err(|error| format!("the toml crate reads it, this reader: {error}"))?;
    match difference(&Value::Table(ours), &Value::Table(expected), "") {
        None => Ok(Outcome::Same),
        Some(difference) => Err(difference),
    }
}

/// The text of a file, `None` if it is not UTF-8 (neither parser reads it then).
fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// This repository's root.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The TOML files under `dir`, sorted: `*.toml` and `Cargo.lock`, outside build output, the git
/// directory and other hidden directories but `.cargo`.
fn toml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if path.is_dir() {
            let skipped = name == "target" || (name.starts_with('.') && name != ".cargo");
            if !skipped {
                toml_files(&path, found);
            }
        } else if name.ends_with(".toml") || name == "Cargo.lock" {
            found.push(path);
        }
    }
}

/// Files of the repository that are invalid TOML on purpose: Cargo never reads them, and tests
/// check that lowmem_build reports them.
const INVALID_ON_PURPOSE: &[&str] = &["tests/fixtures/projects/broken/.cargo/config.toml"];

#[test]
fn fixtures_read_as_the_toml_crate_reads_them() {
    let mut fixtures = Vec::new();
    toml_files(&repository().join("tests/fixtures/toml"), &mut fixtures);
    assert!(fixtures.len() >= 12, "{fixtures:?}");
    for path in &fixtures {
        let text = read(path).unwrap_or_else(|| panic!("{} is not UTF-8", path.display()));
        let variants = [
            ("", text.clone()),
            (" with CRLF line endings", text.replace('\n', "\r\n")),
            (" after a byte order mark", format!("\u{feff}{text}")),
        ];
        for (variant, text) in variants {
            // A fixture the toml crate rejects would test nothing.
            assert_eq!(
                compare(&text),
                Ok(Outcome::Same),
                "{}{variant}",
                path.display()
            );
        }
    }
}

#[test]
fn repository_toml_files_read_as_the_toml_crate_reads_them() {
    let root = repository();
    let mut files = Vec::new();
    toml_files(&root, &mut files);
    let mut compared = 0;
    for path in &files {
        let relative = path.strip_prefix(&root).unwrap_or(path);
        let text = read(path).unwrap_or_else(|| panic!("{} is not UTF-8", path.display()));
        let outcome = compare(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let on_purpose = INVALID_ON_PURPOSE
            .iter()
            .any(|file| relative == Path::new(file));
        assert_eq!(
            matches!(outcome, Outcome::Invalid(_)),
            on_purpose,
            "{}: rejected by the toml crate only if invalid on purpose: {outcome:?}",
            relative.display()
        );
        compared += usize::from(outcome == Outcome::Same);
    }
    eprintln!("repository: {compared} files compared");
    // The manifests, lockfiles and configs of the calibration projects and test fixtures, and the
    // fixtures above: fewer means the walk lost some.
    assert!(compared >= 90, "only {compared} files compared");
}

/// The local registry's extracted packages, `$CARGO_HOME/registry/src/<index>/<package>/`.
fn registry_packages() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let Some(src) = home.map(|home| home.join("registry/src")) else {
        return Vec::new();
    };
    let children = |dir: &Path| -> Vec<PathBuf> {
        let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
        entries.map(|entry| entry.path()).collect()
    };
    let mut packages: Vec<PathBuf> = children(&src)
        .iter()
        .flat_map(|index| children(index))
        .collect();
    packages.sort();
    packages
}

/// At most this many registry files are compared, which keeps the test to a few seconds of a
/// debug build on a machine with a large registry.
const REGISTRY_CAP: usize = 2_000;

#[test]
fn registry_manifests_and_lockfiles_read_as_the_toml_crate_reads_them() {
    let names = ["Cargo.toml", "Cargo.toml.orig", "Cargo.lock"];
    let files = registry_packages()
        .into_iter()
        .flat_map(|package| names.map(|name| package.join(name)))
        .filter(|path| path.is_file())
        .take(REGISTRY_CAP);
    let (mut compared, mut invalid, mut failures) = (0, 0, Vec::new());
    for path in files {
        let Some(text) = read(&path) else { continue };
        match compare(&text) {
            Ok(Outcome::Same) => compared += 1,
            Ok(Outcome::Invalid(_)) => invalid += 1,
            Err(error) => failures.push(format!("{}: {error}", path.display())),
        }
    }
    eprintln!("registry: {compared} files compared, {invalid} rejected by the toml crate");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
