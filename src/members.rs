//! A workspace's members: `workspace.members` patterns expanded, `workspace.exclude` removed.

use crate::glob;
use crate::settings::toml::{self, Table, Value};
use std::path::{Component, Path, PathBuf};

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

    #[test]
    fn normalizes_dot_dot() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
