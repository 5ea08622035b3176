//! Where each locked package's sources are: the cargo registry's extracted crates, git checkouts,
//! or the workspace's own path packages.

use super::lock::{Locked, SourceKind};
use super::manifest::{dependency_tables, DepKind};
use crate::probe::fs::read_small;
use crate::settings::toml::{self, get_path, Table, Value};
use crate::workspace::{members, normalize};
use std::fs;
use std::path::{Path, PathBuf};

/// A path package of the workspace: a member, or a path dependency of one.
#[derive(Debug)]
pub(crate) struct PathPackage {
    /// `package.name`.
    pub(crate) name: String,
    /// `package.version` when it is a plain string (not inherited).
    pub(crate) version: Option<String>,
    /// The directory of its `Cargo.toml`.
    pub(crate) dir: PathBuf,
    /// The parsed manifest, kept so that it is parsed once.
    pub(crate) table: Table,
}

/// Finds sources, listing each directory of `$CARGO_HOME` at most once and the workspace's path
/// packages only when the first one is asked for.
#[derive(Debug)]
pub(crate) struct Sources {
    cargo_home: Option<PathBuf>,
    workspace_root: PathBuf,
    /// Directories of root packages given by the caller, which need not be members.
    extra_dirs: Vec<PathBuf>,
    /// `registry/src/*`, listed on first use.
    index_dirs: Option<Vec<PathBuf>>,
    /// Per registry source, the index directories in the order to try them: the one that last
    /// held a package of that registry first.
    registries: Vec<(String, Vec<usize>)>,
    /// `git/checkouts/*`, listed on first use.
    checkouts: Option<Vec<PathBuf>>,
    /// The workspace's path packages, found on first use.
    path_packages: Option<Vec<PathPackage>>,
    /// `[workspace.dependencies]` of the root manifest.
    pub(crate) workspace_deps: Option<Table>,
    /// Manifests that could not be read while looking, one line each.
    pub(crate) problems: Vec<String>,
}

impl Sources {
    /// Sources of a workspace whose root manifest is in `workspace_root`; `extra_dirs` are
    /// package directories to consider beside its members (the roots the caller named).
    pub(crate) fn new(
        cargo_home: Option<&Path>,
        workspace_root: &Path,
        extra_dirs: &[PathBuf],
    ) -> Sources {
        Sources {
            cargo_home: cargo_home.map(Path::to_path_buf),
            workspace_root: workspace_root.to_path_buf(),
            extra_dirs: extra_dirs.iter().map(|d| normalize(d)).collect(),
            index_dirs: None,
            registries: Vec::new(),
            checkouts: None,
            path_packages: None,
            workspace_deps: None,
            problems: Vec::new(),
        }
    }

    /// The directory of `package`'s sources, if they are on this machine.
    pub(crate) fn locate(&mut self, package: &Locked) -> Option<PathBuf> {
        let source = package.source.as_deref();
        match SourceKind::of(source) {
            SourceKind::Registry => {
                let is_dir = |dir: &Path| dir.is_dir().then_some(());
                let found = self.registry(source?, &package.name, &package.version, is_dir);
                found.map(|(dir, ())| dir)
            }
            SourceKind::Git => self.git(source?, &package.name),
            SourceKind::Path => {
                let index = self.path_package(&package.name, &package.version)?;
                Some(self.path_packages.as_ref()?[index].dir.clone())
            }
            SourceKind::Other => None,
        }
    }

    /// The directory of `package`'s sources and its manifest's text (or why it could not be
    /// read), if it is on this machine. A registry package's manifest is opened without a look
    /// at its directory first: one filesystem call each instead of two.
    pub(crate) fn manifest(
        &mut self,
        package: &Locked,
    ) -> Option<(PathBuf, std::io::Result<String>)> {
        let source = package.source.as_deref();
        let read = |dir: &Path| match read_small(&dir.join("Cargo.toml")) {
            // Not extracted, or half-extracted or cleaned: as if it were not there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            other => Some(other),
        };
        if SourceKind::of(source) == SourceKind::Registry {
            return self.registry(source?, &package.name, &package.version, read);
        }
        let dir = self.locate(package)?;
        let text = read(&dir)?;
        Some((dir, text))
    }

    /// `$CARGO_HOME`, for the cache's relative paths.
    pub(crate) fn cargo_home(&self) -> Option<&Path> {
        self.cargo_home.as_deref()
    }

    /// The path package `name` (of `version`, when several share the name), by its index in
    /// [`Sources::path_packages`].
    pub(crate) fn path_package(&mut self, name: &str, version: &str) -> Option<usize> {
        let packages = self.path_packages();
        let mut named = packages.iter().enumerate().filter(|(_, p)| p.name == name);
        let first = named.next()?;
        let exact = std::iter::once(first)
            .chain(named)
            .find(|(_, p)| p.version.as_deref() == Some(version));
        Some(exact.unwrap_or(first).0)
    }

    /// The workspace's path packages: the root package, the members, the roots the caller named,
    /// the path entries of `[workspace.dependencies]` and `[patch.*]`, and every path dependency
    /// of those, transitively.
    pub(crate) fn path_packages(&mut self) -> &[PathPackage] {
        if self.path_packages.is_none() {
            let found = self.find_path_packages();
            self.path_packages = Some(found);
        }
        self.path_packages.as_deref().unwrap_or_default()
    }

    fn find_path_packages(&mut self) -> Vec<PathPackage> {
        let root = self.workspace_root.clone();
        let mut queue: Vec<PathBuf> = vec![root.clone()];
        if let Some(table) = self.parse(&root.join("Cargo.toml")) {
            queue.extend(
                members(&root, &table)
                    .iter()
                    .filter_map(|m| m.parent().map(Path::to_path_buf)),
            );
            let workspace_deps = get_path(&table, &["workspace", "dependencies"])
                .and_then(Value::as_table)
                .cloned();
            let patches = table.get("patch").and_then(Value::as_table);
            let patched = patches
                .into_iter()
                .flatten()
                .filter_map(|(_, t)| t.as_table());
            for deps in workspace_deps.iter().chain(patched) {
                for (_, spec) in deps {
                    let path = spec.as_table().and_then(|s| s.get("path"));
                    if let Some(path) = path.and_then(Value::as_str) {
                        queue.push(normalize(&root.join(path)));
                    }
                }
            }
            self.workspace_deps = workspace_deps;
        }
        queue.extend(self.extra_dirs.iter().cloned());
        let mut seen: Vec<PathBuf> = Vec::new();
        let mut found = Vec::new();
        while let Some(dir) = queue.pop() {
            if seen.contains(&dir) {
                continue;
            }
            seen.push(dir.clone());
            let Some(table) = self.parse(&dir.join("Cargo.toml")) else {
                continue;
            };
            let text = |key: &str| {
                get_path(&table, &["package", key])
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let Some(name) = text("name") else {
                continue; // a virtual workspace root
            };
            for section in
                dependency_tables(&table, &[DepKind::Normal, DepKind::Build, DepKind::Dev])
            {
                for (_, spec) in section {
                    let path = spec.as_table().and_then(|s| s.get("path"));
                    if let Some(path) = path.and_then(Value::as_str) {
                        queue.push(normalize(&dir.join(path)));
                    }
                }
            }
            found.push(PathPackage {
                name,
                version: text("version"),
                dir,
                table,
            });
        }
        found
    }

    /// Takes the parsed manifest of a path package out, to read its facts without a copy.
    pub(crate) fn take_path_manifest(&mut self, index: usize) -> Option<(PathBuf, Table)> {
        let package = self.path_packages.as_mut()?.get_mut(index)?;
        Some((package.dir.clone(), std::mem::take(&mut package.table)))
    }

    /// Reads and parses a manifest; a missing one is silently `None`, a broken one a problem.
    fn parse(&mut self, path: &Path) -> Option<Table> {
        let text = match read_small(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.problems
                    .push(format!("{}: cannot read ({e})", path.display()));
                return None;
            }
        };
        match toml::parse(&text) {
            Ok(table) => Some(table),
            Err(e) => {
                self.problems
                    .push(format!("{}: not valid TOML ({e})", path.display()));
                None
            }
        }
    }

    /// `registry/src/<index>/<name>-<version>`. The index directory's name depends on the cargo
    /// version that extracted it (`index.crates.io-1949cf8c6b5b557f` since 1.85,
    /// `index.crates.io-6f17d22bba15001f` before, `github.com-1ecc6299db9ec823` before the sparse
    /// index), and one machine may have several; each registry tries first the one that last
    /// held one of its packages. `open` says whether the package is in a candidate directory,
    /// with what it read there.
    fn registry<T>(
        &mut self,
        source: &str,
        name: &str,
        version: &str,
        mut open: impl FnMut(&Path) -> Option<T>,
    ) -> Option<(PathBuf, T)> {
        if self.index_dirs.is_none() {
            let src = self
                .cargo_home
                .as_ref()
                .map(|h| h.join("registry").join("src"));
            self.index_dirs = Some(src.map(|s| sorted_subdirs(&s)).unwrap_or_default());
        }
        let dirs = self.index_dirs.as_deref().unwrap_or_default();
        let at = match self.registries.iter().position(|(s, _)| s == source) {
            Some(at) => at,
            None => {
                let prefixes = index_prefixes(source);
                let keys: Vec<u64> = dirs
                    .iter()
                    .map(|dir| {
                        let dir_name = file_name(dir);
                        prefixes
                            .iter()
                            .position(|p| dir_name.starts_with(p.as_str()))
                            .unwrap_or(prefixes.len()) as u64
                    })
                    .collect();
                let order = crate::order::by_keys(&keys);
                self.registries.push((source.to_string(), order));
                self.registries.len() - 1
            }
        };
        let order = &mut self.registries[at].1;
        let leaf = format!("{name}-{version}");
        let (hit, found) = order
            .iter()
            .enumerate()
            .find_map(|(at, &i)| open(&dirs[i].join(&leaf)).map(|found| (at, found)))?;
        let index = order.remove(hit);
        order.insert(0, index);
        Some((dirs[index].join(leaf), found))
    }

    /// `git/checkouts/<repo>-<hash>/<short rev>/`, then the directory in that checkout whose
    /// manifest names the package (a git workspace holds several packages).
    fn git(&mut self, source: &str, name: &str) -> Option<PathBuf> {
        let (url, rev) = source.strip_prefix("git+")?.split_once('#')?;
        let repo = git_ident(url);
        if self.checkouts.is_none() {
            let dir = self
                .cargo_home
                .as_ref()
                .map(|h| h.join("git").join("checkouts"));
            self.checkouts = Some(dir.map(|d| sorted_subdirs(&d)).unwrap_or_default());
        }
        let candidates: Vec<PathBuf> = self
            .checkouts
            .iter()
            .flatten()
            .filter(|dir| {
                file_name(dir)
                    .rsplit_once('-')
                    .is_some_and(|(ident, _)| ident.eq_ignore_ascii_case(&repo))
            })
            .flat_map(|dir| sorted_subdirs(dir))
            .filter(|checkout| {
                let short = file_name(checkout);
                short.len() >= 7 && rev.starts_with(short.as_str())
            })
            .collect();
        candidates
            .iter()
            .find_map(|checkout| self.package_in(checkout, name, 0))
    }

    /// The directory under `dir` whose `Cargo.toml` names package `name`, as cargo looks for a
    /// package in a git checkout: the top first, then subdirectories (not hidden, not `target`).
    fn package_in(&mut self, dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            let table = self.parse(&manifest);
            let found = table
                .as_ref()
                .and_then(|t| get_path(t, &["package", "name"]));
            if found.and_then(Value::as_str) == Some(name) {
                return Some(dir.to_path_buf());
            }
        }
        if depth >= 4 {
            return None;
        }
        sorted_subdirs(dir)
            .iter()
            .filter(|d| {
                let n = file_name(d);
                !n.starts_with('.') && n != "target"
            })
            .find_map(|d| self.package_in(d, name, depth + 1))
    }
}

/// The start of the name of a registry's directory in `registry/src`, most likely first: cargo
/// names it after the index's host (crates.io's under both its sparse and git names).
fn index_prefixes(source: &str) -> Vec<String> {
    let url = source.split_once('+').map_or(source, |(_, url)| url);
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':', '?'])
        .next()
        .unwrap_or_default();
    let crates_io = source == "registry+https://github.com/rust-lang/crates.io-index"
        || source.starts_with("sparse+https://index.crates.io");
    if crates_io {
        vec!["index.crates.io-".to_string(), "github.com-".to_string()]
    } else {
        vec![format!("{host}-")]
    }
}

/// Cargo's name for a git repository's checkouts: the URL's last path segment without `.git`.
fn git_ident(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => url,
    };
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let ident = last.strip_suffix(".git").unwrap_or(last);
    if ident.is_empty() {
        "_empty".to_string()
    } else {
        ident.to_string()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The subdirectories of `dir` (not following symlinks), sorted; none when it cannot be listed.
fn sorted_subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort_unstable();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_directory_prefixes() {
        let crates_io = ["index.crates.io-", "github.com-"];
        assert_eq!(
            index_prefixes("registry+https://github.com/rust-lang/crates.io-index"),
            crates_io
        );
        assert_eq!(index_prefixes("sparse+https://index.crates.io/"), crates_io);
        assert_eq!(
            index_prefixes("sparse+https://my.registry.example:8080/index/"),
            ["my.registry.example-"]
        );
    }

    #[test]
    fn git_idents() {
        assert_eq!(git_ident("https://github.com/org/Tool.git"), "Tool");
        assert_eq!(git_ident("https://github.com/org/tool?branch=main"), "tool");
        assert_eq!(git_ident("file:///tmp/repos/tool/"), "tool");
        assert_eq!(git_ident("https://example.com/"), "_empty");
        assert_eq!(git_ident("ssh://git@host:22/a/b.git"), "b");
    }
}
