//! The packages a build compiles and where their sources are, read from Cargo.lock, the
//! manifests and the cargo registry without running cargo.
//!
//! The walk starts at the root packages and follows the lock file's edges where the manifests say
//! cargo builds them for this platform: normal and build dependencies (a root's dev-dependencies
//! only when asked), each under its `[target.<condition>]` evaluated for the platform the
//! dependent is built for; build dependencies and proc-macros take their whole closure to the
//! host. Facts of registry and git packages, which never change for a name, version and source,
//! are cached in one text file. A package whose sources are not on the machine stays in the
//! graph with `dir: None` and all its lock edges kept.

pub(crate) mod cache;
pub(crate) mod cfg;
pub(crate) mod lock;
pub(crate) mod manifest;
pub(crate) mod prune;
pub(crate) mod reach;
mod size;
mod source;
mod walk;

#[cfg(test)]
pub(crate) mod tests;

pub(crate) use cfg::CfgSet;
pub(crate) use lock::SourceKind;
pub(crate) use size::SourceSize;

use crate::members::normalize;
use crate::probe::fs::read_small;
use crate::settings::toml::{self, Table};
use lock::Lock;
use manifest::{Files, Manifest};
use reach::Reach;
use source::Sources;
use std::path::{Path, PathBuf};
use walk::{Platforms, Walked};

/// A root package of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Root {
    /// By the directory of its manifest (`CARGO_MANIFEST_DIR` in a build script).
    Dir(PathBuf),
    /// By package name (`CARGO_PKG_NAME`, or a member a tool was asked to build).
    Name(String),
}

/// What to read the graph of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The workspace root directory, or its `Cargo.lock`.
    pub(crate) workspace: &'a Path,
    /// Where the walk starts.
    pub(crate) roots: &'a [Root],
    /// The cfg set of the build's target.
    pub(crate) target: &'a CfgSet,
    /// The cfg set of the host (equal to `target` when not cross-compiling).
    pub(crate) host: &'a CfgSet,
    /// Also follow the roots' dev-dependencies (`cargo test` builds them).
    pub(crate) dev_deps: bool,
    /// `$CARGO_HOME` (see [`crate::env::Env::cargo_home`]), for registry and git sources.
    pub(crate) cargo_home: Option<&'a Path>,
    /// Where to keep the cache of registry and git packages' facts (`<target-dir>/lowmem/`);
    /// nothing is written anywhere else, and nothing at all without it.
    pub(crate) cache_dir: Option<&'a Path>,
}

/// The packages one build compiles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Graph {
    /// The packages reached from the roots, in the lock file's order (by name, then version).
    pub(crate) packages: Vec<Package>,
    /// The roots, as indices into `packages`.
    pub(crate) roots: Vec<usize>,
    /// What could not be read, one line each, naming the file or package and what was
    /// expected. Sources missing from the machine are not problems.
    pub(crate) problems: Vec<String>,
    reach: Reach,
}

/// One package of the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    /// The package name (`-` kept).
    pub(crate) name: String,
    /// The exact version.
    pub(crate) version: String,
    /// Registry, git or path.
    pub(crate) source: SourceKind,
    /// Its sources' directory (with `Cargo.toml`), `None` when they are not on this machine.
    pub(crate) dir: Option<PathBuf>,
    /// The crate name rustc sees (`_` for `-`, `lib.name` if set).
    pub(crate) crate_name: String,
    /// A procedural macro: built for the host.
    pub(crate) proc_macro: bool,
    /// Has a build script (compiled for the host and run before the crate).
    pub(crate) has_build_script: bool,
    /// Building it links an artifact (a binary, cdylib, dylib or staticlib).
    pub(crate) links: bool,
    /// Built for the host (a build dependency, a proc-macro or a dependency of one).
    pub(crate) for_host: bool,
    /// Built for the target.
    pub(crate) for_target: bool,
    /// Every path from the roots to it passes an `optional = true` dependency: Cargo.lock lists
    /// an optional dependency when any feature of the workspace enables it, so this build may
    /// not.
    pub(crate) optional_only: bool,
    /// The packages it depends on by the kept edges, as indices into [`Graph::packages`].
    pub(crate) deps: Vec<usize>,
    /// The size of its crate's sources, when they are on this machine.
    pub(crate) size: Option<SourceSize>,
}

impl Graph {
    /// Whether package `a` depends on package `b`, directly or through others (indices into
    /// `packages`).
    pub(crate) fn depends_on(&self, a: usize, b: usize) -> bool {
        self.reach.get(a, b)
    }

    /// Whether `a` and `b` can never compile at the same time: one depends on the other (or they
    /// are the same package).
    pub(crate) fn comparable(&self, a: usize, b: usize) -> bool {
        a == b || self.depends_on(a, b) || self.depends_on(b, a)
    }

    /// A graph of these packages (their `deps` are indices into the list) with these roots:
    /// for tests of what is computed from a graph, without a workspace on disk.
    #[cfg(test)]
    pub(crate) fn from_packages(packages: Vec<Package>, roots: Vec<usize>) -> Graph {
        let deps: Vec<Vec<usize>> = packages.iter().map(|p| p.deps.clone()).collect();
        Graph {
            reach: Reach::new(&deps),
            packages,
            roots,
            problems: Vec::new(),
        }
    }

    /// The index of the package named `name` (the first version, if several are reached).
    #[cfg(test)]
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.packages.iter().position(|p| p.name == name)
    }
}

/// Reads the graph of one build. Never fails: what cannot be read is a line in
/// [`Graph::problems`], and an unreadable Cargo.lock gives an empty graph.
pub(crate) fn read(inputs: &Inputs<'_>) -> Graph {
    let (root_dir, lock_path) = if inputs.workspace.is_dir() {
        (
            inputs.workspace.to_path_buf(),
            inputs.workspace.join("Cargo.lock"),
        )
    } else {
        let parent = inputs.workspace.parent().unwrap_or(Path::new("."));
        (parent.to_path_buf(), inputs.workspace.to_path_buf())
    };
    let mut problems = Vec::new();
    let lock = match read_small(&lock_path).map_err(|e| format!("cannot read ({e})")) {
        Ok(text) => lock::parse(&text),
        Err(e) => Err(e),
    };
    let lock = match lock {
        Ok(lock) => lock,
        Err(why) => {
            problems.push(format!("{}: {why}", lock_path.display()));
            return Graph {
                problems,
                ..Graph::default()
            };
        }
    };
    let shown = lock_path.display();
    problems.extend(lock.problems.iter().map(|p| format!("{shown}: {p}")));

    let root_dirs: Vec<PathBuf> = inputs
        .roots
        .iter()
        .filter_map(|r| match r {
            Root::Dir(dir) => Some(dir.clone()),
            Root::Name(_) => None,
        })
        .collect();
    let mut sources = Sources::new(inputs.cargo_home, &root_dir, &root_dirs);
    let roots = resolve_roots(&lock, inputs.roots, &mut sources, &mut problems);

    let cached = inputs.cache_dir.map(cache::load);
    let corrupt = matches!(cached, Some(None));
    let mut reader = Reader {
        lock: &lock,
        sources,
        cached: cached.flatten().unwrap_or_default(),
        fresh: Vec::new(),
        dirs: vec![None; lock.packages.len()],
        sizes: vec![None; lock.packages.len()],
        hit: vec![false; lock.packages.len()],
        problems: Vec::new(),
    };
    let mut manifests = Vec::new();
    let platforms = Platforms {
        target: inputs.target,
        host: inputs.host,
        dev: inputs.dev_deps,
    };
    let walked = walk::walk(
        &lock,
        &roots,
        platforms,
        &mut |index| reader.load(index),
        &mut manifests,
    );
    reader.measure(&walked, &manifests);
    if let Some(dir) = inputs.cache_dir {
        reader.store(dir, corrupt, &manifests);
    }
    problems.append(&mut reader.problems);
    problems.append(&mut reader.sources.problems);
    problems.extend(walked.problems.iter().cloned());
    assemble(&lock, &roots, walked, manifests, reader, problems)
}

/// The lock indices of the roots; a root not in the lock file is a problem.
fn resolve_roots(
    lock: &Lock,
    roots: &[Root],
    sources: &mut Sources,
    problems: &mut Vec<String>,
) -> Vec<usize> {
    let mut found = Vec::new();
    for root in roots {
        let named = |name: &str, version: Option<&str>| {
            let mut candidates = (0..lock.packages.len()).filter(|&i| {
                let p = &lock.packages[i];
                p.name == name && version.map_or(true, |v| v == p.version)
            });
            let first = candidates.next()?;
            // A workspace member over a registry package of the same name.
            Some(
                std::iter::once(first)
                    .chain(candidates)
                    .find(|&i| lock.packages[i].source.is_none())
                    .unwrap_or(first),
            )
        };
        let index = match root {
            Root::Name(name) => named(name, None),
            Root::Dir(dir) => {
                let wanted = normalize(dir);
                let canonical = dir.canonicalize().ok();
                let package = sources.path_packages().iter().find(|p| {
                    p.dir == wanted || canonical.is_some() && p.dir.canonicalize().ok() == canonical
                });
                package.and_then(|p| {
                    named(&p.name, p.version.as_deref()).or_else(|| named(&p.name, None))
                })
            }
        };
        match index {
            Some(index) if !found.contains(&index) => found.push(index),
            Some(_) => {}
            None => problems.push(match root {
                Root::Name(name) => format!("root package `{name}` is not in Cargo.lock"),
                Root::Dir(dir) => format!(
                    "root package at {} is not a package of Cargo.lock's workspace",
                    dir.display()
                ),
            }),
        }
    }
    found
}

/// The shell around the walk: finds and reads each package's manifest when the walk reaches it,
/// from the cache where it can.
struct Reader<'a> {
    lock: &'a Lock,
    sources: Sources,
    /// The cache as read, sorted by key.
    cached: Vec<cache::Entry>,
    /// Lock indices of registry and git packages read from their sources this time.
    fresh: Vec<usize>,
    /// Per lock package: its sources' directory.
    dirs: Vec<Option<PathBuf>>,
    /// Per lock package: its size, from the cache or measured.
    sizes: Vec<Option<SourceSize>>,
    /// Per lock package: its facts came from the cache.
    hit: Vec<bool>,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// The manifest facts of lock package `index`, or `None` when its sources are not here or
    /// its manifest cannot be read.
    fn load(&mut self, index: usize) -> Option<Manifest> {
        let package = &self.lock.packages[index];
        let kind = SourceKind::of(package.source.as_deref());
        if kind == SourceKind::Path {
            let found = self.sources.path_package(&package.name, &package.version)?;
            let (dir, table) = self.sources.take_path_manifest(found)?;
            let files = files_in(&dir, &table);
            let workspace_deps = self.sources.workspace_deps.as_ref();
            self.dirs[index] = Some(dir.clone());
            return self.facts(&dir, manifest::read(&table, files, workspace_deps));
        }
        let source = package.source.as_deref()?;
        let key = cache::key(&package.name, &package.version, source);
        if let Ok(at) = self.cached.binary_search_by(|e| e.key.cmp(&key)) {
            if let Some(home) = self.sources.cargo_home() {
                let entry = &mut self.cached[at];
                self.dirs[index] = Some(home.join(&entry.dir));
                self.sizes[index] = entry.size;
                self.hit[index] = true;
                // Moved out, not copied: `store` takes it back from the walk's manifests.
                return Some(std::mem::take(&mut entry.manifest));
            }
        }
        let dir = self.sources.locate(package)?;
        let path = dir.join("Cargo.toml");
        let text = match read_small(&path) {
            Ok(text) => text,
            // Half-extracted or cleaned: as if it were not there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.problems
                    .push(format!("{}: cannot read ({e})", path.display()));
                return None;
            }
        };
        self.dirs[index] = Some(dir.clone());
        // Pruned first: most of a published manifest is features and metadata (see prune.rs).
        let pruned = prune::prune(&text).and_then(|p| toml::parse(&p).ok());
        let read = pruned
            .map_or_else(|| toml::parse(&text), Ok)
            .map_err(|e| format!("not valid TOML ({e})"))
            .and_then(|table| manifest::read(&table, files_in(&dir, &table), None));
        let manifest = self.facts(&dir, read)?;
        self.fresh.push(index);
        Some(manifest)
    }

    /// The facts, or a problem naming the manifest.
    fn facts(&mut self, dir: &Path, read: Result<Manifest, String>) -> Option<Manifest> {
        read.map_err(|why| {
            let path = dir.join("Cargo.toml");
            self.problems.push(format!("{}: {why}", path.display()));
        })
        .ok()
    }

    /// Measures the reached packages whose size is not cached.
    fn measure(&mut self, walked: &Walked, manifests: &[Option<Manifest>]) {
        for &index in &walked.reached {
            if self.sizes[index].is_some() {
                continue;
            }
            let (Some(dir), Some(Some(manifest))) = (&self.dirs[index], manifests.get(index))
            else {
                continue;
            };
            if let Some(root_file) = &manifest.root_file {
                self.sizes[index] = size::measure(&dir.join(root_file));
            }
        }
    }

    /// Writes the cache when this read learned something or the old one was unusable: the
    /// entries of this lock's packages, old and new (entries of packages no longer locked go).
    fn store(&self, cache_dir: &Path, corrupt: bool, manifests: &[Option<Manifest>]) {
        if !corrupt && self.fresh.is_empty() {
            return;
        }
        let Some(home) = self.sources.cargo_home() else {
            return;
        };
        let mut entries: Vec<cache::Entry> = Vec::new();
        for (index, package) in self.lock.packages.iter().enumerate() {
            let Some(source) = &package.source else {
                continue;
            };
            let key = cache::key(&package.name, &package.version, source);
            if let Ok(at) = self.cached.binary_search_by(|e| e.key.cmp(&key)) {
                let mut entry = self.cached[at].clone();
                if let Some(Some(manifest)) = manifests.get(index).filter(|_| self.hit[index]) {
                    entry.manifest = manifest.clone();
                }
                entries.push(entry);
                continue;
            }
            let (Some(dir), Some(Some(manifest))) = (&self.dirs[index], manifests.get(index))
            else {
                continue;
            };
            let Some(relative) = relative_to(dir, home) else {
                continue;
            };
            // Dev-dependencies of a registry or git package are never built by a workspace
            // that uses it.
            let mut manifest = manifest.clone();
            manifest.deps.retain(|d| d.kind != manifest::DepKind::Dev);
            entries.push(cache::Entry {
                key,
                dir: relative,
                manifest,
                size: self.sizes[index],
            });
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        cache::store(cache_dir, &entries);
    }
}

/// Which of the conventional files that matter for this manifest exist in `dir`.
fn files_in(dir: &Path, table: &Table) -> Files {
    let needed = manifest::files_needed(table);
    Files {
        lib_rs: needed.lib_rs && dir.join("src/lib.rs").is_file(),
        main_rs: needed.main_rs && dir.join("src/main.rs").is_file(),
        bin_dir: needed.bin_dir && dir.join("src/bin").is_dir(),
        build_rs: needed.build_rs && dir.join("build.rs").is_file(),
    }
}

/// `dir` relative to `home`, `/`-separated, when it is under it and all UTF-8.
fn relative_to(dir: &Path, home: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = dir
        .strip_prefix(home)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/")).filter(|p| !p.is_empty())
}

/// The graph from the walk: the reached packages renumbered, their facts and kept edges.
fn assemble(
    lock: &Lock,
    roots: &[usize],
    walked: Walked,
    mut manifests: Vec<Option<Manifest>>,
    mut reader: Reader<'_>,
    problems: Vec<String>,
) -> Graph {
    let mut new_index = vec![usize::MAX; lock.packages.len()];
    for (new, &old) in walked.reached.iter().enumerate() {
        new_index[old] = new;
    }
    let mut packages: Vec<Package> = walked
        .reached
        .iter()
        .map(|&old| {
            let locked = &lock.packages[old];
            let manifest = manifests[old].take().unwrap_or_default();
            let [for_target, for_host] = walked.built_for[old];
            Package {
                name: locked.name.clone(),
                version: locked.version.clone(),
                source: SourceKind::of(locked.source.as_deref()),
                dir: reader.dirs[old].take(),
                crate_name: if manifest.crate_name.is_empty() {
                    locked.name.replace('-', "_")
                } else {
                    manifest.crate_name
                },
                proc_macro: manifest.proc_macro,
                has_build_script: manifest.build_script,
                links: manifest.links,
                for_host,
                for_target,
                optional_only: !walked.mandatory[old],
                deps: Vec::new(),
                size: reader.sizes[old],
            }
        })
        .collect();
    for &(from, to) in &walked.edges {
        packages[new_index[from]].deps.push(new_index[to]);
    }
    let deps: Vec<Vec<usize>> = packages.iter().map(|p| p.deps.clone()).collect();
    Graph {
        roots: roots.iter().map(|&r| new_index[r]).collect(),
        reach: Reach::new(&deps),
        packages,
        problems,
    }
}
