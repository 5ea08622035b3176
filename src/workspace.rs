//! The workspace around a package, found as cargo finds it: reading its TOML files, its root
//! manifest, and its members (`workspace.members` patterns expanded, `workspace.exclude`
//! removed).

use crate::glob;
use crate::probe::fs::read_small;
use crate::settings::toml::{self, ParseError, Table, Value};
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Why a TOML file (a manifest, Cargo.lock, a cargo config file) could not be had.
#[derive(Debug)]
pub(crate) enum FileError {
    /// It does not exist.
    Missing,
    /// It exists but could not be read.
    Unreadable(std::io::Error),
    /// It is not valid TOML.
    Invalid(ParseError),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Missing => f.write_str("not found"),
            FileError::Unreadable(e) => write!(f, "cannot read ({e})"),
            FileError::Invalid(e) => write!(f, "not valid TOML ({e})"),
        }
    }
}

/// Reads and parses the TOML file at `path`: the one way the crate reads a manifest or a
/// config file.
pub(crate) fn read_toml(path: &Path) -> Result<Table, FileError> {
    let text = read_small(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => FileError::Missing,
        _ => FileError::Unreadable(e),
    })?;
    toml::parse(&text).map_err(FileError::Invalid)
}

/// The workspace root manifest of the package whose manifest `own` (at `own_path`) was read,
/// found as cargo does: `own` itself when it has `[workspace]`, the one `package.workspace`
/// names (`own` when that cannot be read), else the nearest ancestor's `Cargo.toml` that has
/// `[workspace]` and does not exclude the package; else `own`. `read` reads a manifest (so a
/// caller can log what it read). `None` means `own` is the root.
pub(crate) fn root_manifest(
    own_path: &Path,
    own: &Table,
    mut read: impl FnMut(&Path) -> Option<Table>,
) -> Option<(PathBuf, Table)> {
    if own.contains_key("workspace") {
        return None;
    }
    let dir = own_path.parent()?;
    if let Some(named) = toml::get_path(own, &["package", "workspace"]).and_then(Value::as_str) {
        let path = normalize(&dir.join(named)).join("Cargo.toml");
        return read(&path).map(|table| (path, table));
    }
    dir.ancestors().skip(1).find_map(|ancestor| {
        let path = ancestor.join("Cargo.toml");
        if !path.is_file() {
            return None;
        }
        let table = read(&path)?;
        (table.contains_key("workspace") && !excludes(ancestor, &table, dir))
            .then_some((path, table))
    })
}

/// Whether the workspace at `root` lists `dir` in `workspace.exclude` (paths, not patterns).
pub(crate) fn excludes(root: &Path, table: &Table, dir: &Path) -> bool {
    excluded(root, table).iter().any(|e| dir.starts_with(e))
}

/// The directories the workspace at `root` lists in `workspace.exclude`.
pub(crate) fn excluded(root: &Path, table: &Table) -> Vec<PathBuf> {
    strings(table, &["workspace", "exclude"])
        .iter()
        .map(|e| normalize(&root.join(e)))
        .collect()
}

/// The member manifests: `workspace.members` patterns expanded (`*` and `?` per path segment),
/// `workspace.exclude` removed, only directories with a Cargo.toml, the root itself left out.
pub(crate) fn members(root: &Path, table: &Table) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for pattern in strings(table, &["workspace", "members"]) {
        for dir in expand(root, &pattern) {
            let manifest = dir.join("Cargo.toml");
            if dir != root && manifest.is_file() && !excludes(root, table, &dir) {
                out.push(manifest);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The strings of the array at `path` (other items skipped).
fn strings(table: &Table, path: &[&str]) -> Vec<String> {
    toml::get_path(table, path)
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The directories `pattern` names under `root`.
fn expand(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut dirs = vec![root.to_path_buf()];
    for segment in pattern
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
    {
        let mut next = Vec::new();
        for dir in &dirs {
            if !glob::is_pattern(segment) {
                next.push(normalize(&dir.join(segment)));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    !name.starts_with('.') && glob::matches(segment, &name)
                })
                .map(|e| e.path())
                .collect();
            found.sort_unstable();
            next.extend(found);
        }
        dirs = next;
    }
    dirs
}

/// `a/b/../c` as `a/c`, without touching the filesystem.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether the package at `dir` is a registry, git or vendored source (under `$CARGO_HOME`'s
/// `registry` or `git`, or marked by cargo's `.cargo-ok` / `.cargo-checksum.json`): its build
/// script cannot see the workspace that uses it from its own directory.
pub(crate) fn is_dependency_source(dir: &Path, cargo_home: Option<&Path>) -> bool {
    let canonical = dir.canonicalize().ok();
    let dirs = std::iter::once(dir).chain(canonical.as_deref());
    let under_home = cargo_home.is_some_and(|home| {
        let homes = [home.canonicalize().ok(), Some(home.to_path_buf())];
        dirs.clone().any(|d| {
            homes
                .iter()
                .flatten()
                .any(|h| d.starts_with(h.join("registry")) || d.starts_with(h.join("git")))
        })
    });
    under_home
        || [".cargo-ok", ".cargo-checksum.json"]
            .iter()
            .any(|marker| dir.join(marker).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::files::write_creating as write;

    /// The settings and the feature check find the root the same way, `exclude` honoured: a
    /// package an ancestor workspace excludes is its own root (cargo's rule), one it does not
    /// exclude belongs to it.
    #[test]
    fn the_root_is_the_nearest_workspace_that_does_not_exclude_the_package() {
        let dir = crate::files::scratch_dir("workspace");
        write(
            &dir.join("Cargo.toml"),
            "[workspace]\nmembers = [\"kept\"]\nexclude = [\"apart\"]\n",
        );
        let package = "[package]\nname = \"x\"\n";
        write(&dir.join("kept/Cargo.toml"), package);
        write(&dir.join("apart/Cargo.toml"), package);
        let root = |member: &str| {
            let own = dir.join(member).join("Cargo.toml");
            let table = read_toml(&own).unwrap();
            root_manifest(&own, &table, |p| read_toml(p).ok()).map(|(path, _)| path)
        };
        assert_eq!(root("kept"), Some(dir.join("Cargo.toml")));
        assert_eq!(root("apart"), None);

        let mut log = crate::settings::discover::Log::default();
        let settings_root =
            crate::settings::discover::workspace_manifest(&dir.join("apart"), &mut log);
        assert_eq!(settings_root.unwrap().path, dir.join("apart/Cargo.toml"));
        let settings_root =
            crate::settings::discover::workspace_manifest(&dir.join("kept"), &mut log);
        assert_eq!(settings_root.unwrap().path, dir.join("Cargo.toml"));

        write(&dir.join("bad/Cargo.toml"), "[package\n");
        assert!(matches!(
            read_toml(&dir.join("bad/Cargo.toml")),
            Err(FileError::Invalid(_))
        ));
        assert!(matches!(
            read_toml(&dir.join("none/Cargo.toml")),
            Err(FileError::Missing)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn normalizes_dot_dot() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
