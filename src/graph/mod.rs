//! The packages a build compiles, with their features, and where their sources are, read from
//! Cargo.lock, the manifests and the cargo registry without running cargo.
//!
//! Cargo's feature resolution (resolver 2, see `resolve.rs`) runs from the root packages and
//! their features over the lock file's edges, reading each manifest when it first reaches the
//! package: a dependency is built when a declaration of it applies (kind, `[target.<condition>]`
//! evaluated for the platform the dependent is built for; a root's dev-dependencies only when
//! asked) and it is not optional or a feature turns it on. Build dependencies and proc-macros take
//! their whole closure to the host. Published manifests are read straight from their text
//! (`scan.rs`; others through the TOML reader). Facts of registry and git packages, which never
//! change for a name, version and source, are cached in one text file; the whole graph of a
//! build is cached too, under a key of everything it was read from (`snapshot.rs`). Sources are
//! measured only for the packages the caller asks for. A package whose sources are not on the
//! machine stays in the graph with `dir: None`, its features unknown and all its lock edges
//! followed.

pub(crate) mod cache;
pub(crate) mod cfg;
mod edges;
pub(crate) mod lock;
pub(crate) mod manifest;
pub(crate) mod prune;
pub(crate) mod reach;
mod req;
mod resolve;
pub(crate) mod scan;
mod size;
mod snapshot;
mod source;
pub(crate) mod unlocked;

#[cfg(test)]
pub(crate) mod tests;

pub(crate) use cfg::CfgSet;
pub(crate) use lock::SourceKind;
pub(crate) use size::SourceSize;

use crate::probe::fs::read_small;
use crate::settings::toml;
use crate::workspace::normalize;
use edges::Platforms;
use lock::Lock;
use manifest::{Entries, Files, Manifest};
use reach::Reach;
use resolve::{Request, Resolved};
use snapshot::Saved;
use source::Sources;
use std::cell::OnceCell;
use std::path::{Path, PathBuf};

/// A root package of the resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Root {
    /// By the directory of its manifest (`CARGO_MANIFEST_DIR` in a build script).
    Dir(PathBuf),
    /// By package name (`CARGO_PKG_NAME`, or a member a tool was asked to build).
    Name(String),
}

/// Which packages' sources to measure (name, version): the others get `size: None` without a
/// look at their directories.
pub(crate) type Measure<'a> = &'a dyn Fn(&str, &str) -> bool;

/// A [`Measure`] that measures every package.
#[cfg(test)]
pub(crate) fn measure_all(_name: &str, _version: &str) -> bool {
    true
}

/// What to read the graph of.
#[derive(Clone, Copy)]
pub(crate) struct Inputs<'a> {
    /// The workspace root directory, or its `Cargo.lock`.
    pub(crate) workspace: &'a Path,
    /// Where the resolution starts.
    pub(crate) roots: &'a [Root],
    /// The roots' enabled features (in a build script, `CARGO_CFG_FEATURE` split at commas);
    /// `None` for their `default` feature. A name the root's manifest does not have is matched
    /// to one it has when they differ only in case and `_` for `-`, so that older cargo's
    /// `CARGO_FEATURE_<NAME>` variables serve too.
    pub(crate) root_features: Option<&'a [String]>,
    /// The cfg set of the build's target.
    pub(crate) target: &'a CfgSet,
    /// The cfg set of the host (equal to `target` when not cross-compiling).
    pub(crate) host: &'a CfgSet,
    /// Also follow the roots' dev-dependencies (`cargo test` builds them).
    pub(crate) dev_deps: bool,
    /// Which packages' sources to measure.
    pub(crate) measure: Measure<'a>,
    /// `$CARGO_HOME` (see [`crate::env::Env::cargo_home`]), for registry and git sources.
    pub(crate) cargo_home: Option<&'a Path>,
    /// Where to keep the cache of registry and git packages' facts (`<target-dir>/lowmem/`);
    /// nothing is written anywhere else, and nothing at all without it.
    pub(crate) cache_dir: Option<&'a Path>,
}

impl std::fmt::Debug for Inputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs")
            .field("workspace", &self.workspace)
            .field("roots", &self.roots)
            .field("root_features", &self.root_features)
            .field("target", &self.target)
            .field("host", &self.host)
            .field("dev_deps", &self.dev_deps)
            .field("cargo_home", &self.cargo_home)
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
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
    /// Its enabled features, sorted: the union of those it is built with for the target and
    /// for the host (resolver 2 resolves them apart; a package built for both may have fewer
    /// on one).
    pub(crate) features: Vec<String>,
    /// Its manifest was read, so `features` and its edges are what cargo resolves; `false` when
    /// its sources are not on this machine (then `features` holds only what its dependents ask
    /// for, and every lock edge of it is followed).
    pub(crate) features_known: bool,
    /// The packages it depends on by the followed edges, as indices into [`Graph::packages`].
    pub(crate) deps: Vec<usize>,
    /// The size of its crate's sources, when they are on this machine and [`Inputs::measure`]
    /// asked for it.
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
    match read_small(&lock_path) {
        Ok(text) => read_locked(inputs, &root_dir, &lock_path, &text),
        Err(e) => Graph {
            problems: vec![format!("{}: cannot read ({e})", lock_path.display())],
            ..Graph::default()
        },
    }
}

/// As [`read`], with the lock's text given: for a workspace without a Cargo.lock yet, the one
/// [`unlocked::lock_text`] writes in memory (its path is where cargo will write it).
pub(crate) fn read_locked(
    inputs: &Inputs<'_>,
    root_dir: &Path,
    lock_path: &Path,
    text: &str,
) -> Graph {
    let key = inputs
        .cache_dir
        .and_then(|_| snapshot::key(inputs, lock_path, text));
    if let (Some(dir), Some(key)) = (inputs.cache_dir, &key) {
        if let Some(saved) = snapshot::load(dir, key) {
            return from_saved(saved, inputs.measure);
        }
    }
    let (graph, saved, files) = read_uncached(inputs, root_dir, lock_path, text);
    if let (Some(dir), Some(key), Some(saved)) = (inputs.cache_dir, &key, saved) {
        snapshot::store(dir, key, &saved, &files);
    }
    graph
}

/// A kept graph, its sizes brought in line with `measure`: path packages are measured again
/// (their sources are the ones being edited), and registry packages measured now if they were
/// not then.
fn from_saved(saved: Saved, measure: Measure<'_>) -> Graph {
    let mut packages = saved.packages;
    for (index, package) in packages.iter_mut().enumerate() {
        if !measure(&package.name, &package.version) {
            package.size = None;
            continue;
        }
        let fresh = package.source == SourceKind::Path || !saved.measured[index];
        if let (true, Some(dir), Some(file)) = (fresh, &package.dir, &saved.root_files[index]) {
            package.size = size::measure(&dir.join(file));
        }
    }
    let deps: Vec<Vec<usize>> = packages.iter().map(|p| p.deps.clone()).collect();
    Graph {
        reach: Reach::new(&deps),
        packages,
        roots: saved.roots,
        problems: Vec::new(),
    }
}

/// Reads the graph from Cargo.lock's `text` and the manifests: the graph, what to keep of it
/// when it may be kept (no problems, every manifest read), and the files its key lists.
fn read_uncached(
    inputs: &Inputs<'_>,
    root_dir: &Path,
    lock_path: &Path,
    text: &str,
) -> (Graph, Option<Saved>, Vec<PathBuf>) {
    let shown = lock_path.display();
    let lock = match lock::parse(text) {
        Ok(lock) => lock,
        Err(why) => {
            let graph = Graph {
                problems: vec![format!("{shown}: {why}")],
                ..Graph::default()
            };
            return (graph, None, Vec::new());
        }
    };
    let mut problems: Vec<String> = lock
        .problems
        .iter()
        .map(|p| format!("{shown}: {p}"))
        .collect();

    let root_dirs: Vec<PathBuf> = inputs
        .roots
        .iter()
        .filter_map(|r| match r {
            Root::Dir(dir) => Some(dir.clone()),
            Root::Name(_) => None,
        })
        .collect();
    let mut sources = Sources::new(inputs.cargo_home, root_dir, &root_dirs);
    let roots = resolve_roots(&lock, inputs.roots, &mut sources, &mut problems);

    let cached = inputs.cache_dir.map(cache::load);
    let corrupt = matches!(cached, Some(None));
    let count = lock.packages.len();
    let mut reader = Reader {
        lock: &lock,
        sources,
        cached: cached.flatten().unwrap_or_default(),
        fresh: Vec::new(),
        remeasured: false,
        dirs: vec![None; count],
        sizes: vec![None; count],
        measured: vec![false; count],
        wanted: vec![false; count],
        hit: vec![false; count],
        problems: Vec::new(),
    };
    let cells: Vec<OnceCell<Option<Manifest>>> = (0..count).map(|_| OnceCell::new()).collect();
    let request = Request {
        roots: &roots,
        root_features: inputs.root_features,
        platforms: Platforms {
            target: inputs.target,
            host: inputs.host,
            dev: inputs.dev_deps,
        },
    };
    let resolved = resolve::resolve(&lock, request, &cells, |index| reader.load(index));
    let manifests: Vec<Option<Manifest>> = cells
        .into_iter()
        .map(|cell| cell.into_inner().flatten())
        .collect();
    reader.measure(&resolved, &manifests, inputs.measure);
    if let Some(dir) = inputs.cache_dir {
        reader.store(dir, corrupt, &manifests);
    }
    problems.append(&mut reader.problems);
    problems.append(&mut reader.sources.problems);
    problems.extend(resolved.problems.iter().cloned());
    // The key's files: the workspace's manifests and its path packages' directories (a new
    // `build.rs` or `src/lib.rs` changes their listings, which the key sees in their times).
    let mut files = vec![root_dir.join("Cargo.toml")];
    for package in reader.sources.path_packages() {
        files.push(package.dir.join("Cargo.toml"));
        files.push(package.dir.clone());
        files.push(package.dir.join("src"));
    }
    files.sort_unstable();
    files.dedup();
    let (graph, saved) = assemble(&lock, &roots, resolved, manifests, reader, problems);
    (graph, saved, files)
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

/// The shell around the resolution: finds and reads each package's manifest when the resolution
/// first reaches the package, from the cache where it can, and measures sources.
struct Reader<'a> {
    lock: &'a Lock,
    sources: Sources,
    /// The cache as read, sorted by key.
    cached: Vec<cache::Entry>,
    /// Lock indices of registry and git packages read from their sources this time.
    fresh: Vec<usize>,
    /// A cached package was measured this time (the cache learned its size).
    remeasured: bool,
    /// Per lock package: its sources' directory.
    dirs: Vec<Option<PathBuf>>,
    /// Per lock package: its size, from the cache or measured.
    sizes: Vec<Option<SourceSize>>,
    /// Per lock package: `sizes` holds a measurement (else it was not asked for).
    measured: Vec<bool>,
    /// Per lock package: the caller asked for its size.
    wanted: Vec<bool>,
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
            let workspace_deps = self.sources.workspace_deps.as_ref();
            let entries = manifest::entries(&table, workspace_deps);
            self.dirs[index] = Some(dir.clone());
            return self.facts(&dir, entries);
        }
        let source = package.source.as_deref()?;
        let key = || cache::key(&package.name, &package.version, source);
        let found = if self.cached.is_empty() {
            None
        } else {
            self.cached.binary_search_by(|e| e.key.cmp(&key())).ok()
        };
        if let Some(at) = found {
            if let Some(home) = self.sources.cargo_home() {
                let entry = &mut self.cached[at];
                self.dirs[index] = Some(home.join(&entry.dir));
                self.sizes[index] = entry.size;
                self.measured[index] = entry.measured;
                self.hit[index] = true;
                // Moved out, not copied: `store` takes it back from the resolution's manifests.
                return Some(std::mem::take(&mut entry.manifest));
            }
        }
        let (dir, text) = self.sources.manifest(package)?;
        let text = match text {
            Ok(text) => text,
            Err(e) => {
                let path = dir.join("Cargo.toml");
                self.problems
                    .push(format!("{}: cannot read ({e})", path.display()));
                return None;
            }
        };
        self.dirs[index] = Some(dir.clone());
        // The published shape straight from the text (scan.rs); else pruned first (much of a
        // published manifest is metadata and other targets, see prune.rs); else whole.
        let entries = match scan::entries(&text) {
            Some(entries) => Ok(entries),
            None => prune::prune(&text)
                .and_then(|p| toml::parse(&p).ok())
                .map_or_else(|| toml::parse(&text), Ok)
                .map_err(|e| format!("not valid TOML ({e})"))
                .and_then(|table| manifest::entries(&table, None)),
        };
        let manifest = self.facts(&dir, entries)?;
        self.fresh.push(index);
        Some(manifest)
    }

    /// The facts of a manifest's entries (with the conventional files they need looked up in
    /// `dir`), or a problem naming the manifest.
    fn facts(&mut self, dir: &Path, entries: Result<Entries, String>) -> Option<Manifest> {
        match entries {
            Ok(entries) => {
                let files = files_in(dir, &entries);
                Some(manifest::facts(entries, files))
            }
            Err(why) => {
                let path = dir.join("Cargo.toml");
                self.problems.push(format!("{}: {why}", path.display()));
                None
            }
        }
    }

    /// Measures the built packages that `measure` asks for and that are not measured yet; the
    /// others get no size.
    fn measure(
        &mut self,
        resolved: &Resolved,
        manifests: &[Option<Manifest>],
        measure: Measure<'_>,
    ) {
        for &index in &resolved.reached {
            let package = &self.lock.packages[index];
            self.wanted[index] = measure(&package.name, &package.version);
            if !self.wanted[index] || self.measured[index] {
                continue;
            }
            let (Some(dir), Some(Some(manifest))) = (&self.dirs[index], manifests.get(index))
            else {
                continue;
            };
            self.sizes[index] = manifest
                .root_file
                .as_ref()
                .and_then(|root_file| size::measure(&dir.join(root_file)));
            self.measured[index] = true;
            self.remeasured |= self.hit[index];
        }
    }

    /// Writes the cache when this read learned something or the old one was unusable: the
    /// entries of this lock's packages, old and new (entries of packages no longer locked go).
    fn store(&self, cache_dir: &Path, corrupt: bool, manifests: &[Option<Manifest>]) {
        if !corrupt && self.fresh.is_empty() && !self.remeasured {
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
                    entry.size = self.sizes[index];
                    entry.measured = self.measured[index];
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
                measured: self.measured[index],
            });
        }
        cache::store(cache_dir, &cache::sorted(entries));
    }
}

/// Which of the conventional files that matter for this manifest exist in `dir`.
fn files_in(dir: &Path, entries: &Entries) -> Files {
    let needed = manifest::files_needed(entries);
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

/// The graph from the resolution: the built packages renumbered, their facts, features and
/// followed edges; and what to keep of it, when every manifest was read and nothing went wrong.
fn assemble(
    lock: &Lock,
    roots: &[usize],
    resolved: Resolved,
    mut manifests: Vec<Option<Manifest>>,
    mut reader: Reader<'_>,
    problems: Vec<String>,
) -> (Graph, Option<Saved>) {
    let mut new_index = vec![usize::MAX; lock.packages.len()];
    for (new, &old) in resolved.reached.iter().enumerate() {
        new_index[old] = new;
    }
    let mut features = resolved.features;
    let mut root_files = Vec::with_capacity(resolved.reached.len());
    let mut measured = Vec::with_capacity(resolved.reached.len());
    let mut packages: Vec<Package> = Vec::with_capacity(resolved.reached.len());
    for &old in &resolved.reached {
        let locked = &lock.packages[old];
        let known = manifests[old].is_some();
        let manifest = manifests[old].take().unwrap_or_default();
        let [for_target, for_host] = resolved.built_for[old];
        let wanted = reader.wanted[old];
        root_files.push(manifest.root_file);
        measured.push(reader.measured[old] && wanted);
        packages.push(Package {
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
            features: std::mem::take(&mut features[old]),
            features_known: known,
            deps: Vec::new(),
            size: reader.sizes[old].filter(|_| wanted),
        });
    }
    for &(from, to) in &resolved.edges {
        packages[new_index[from]].deps.push(new_index[to]);
    }
    let roots: Vec<usize> = roots.iter().map(|&r| new_index[r]).collect();
    let keep = problems.is_empty() && packages.iter().all(|p| p.features_known);
    let saved = keep.then(|| Saved {
        packages: packages.clone(),
        roots: roots.clone(),
        root_files,
        measured,
    });
    let deps: Vec<Vec<usize>> = packages.iter().map(|p| p.deps.clone()).collect();
    let graph = Graph {
        roots,
        reach: Reach::new(&deps),
        packages,
        problems,
    };
    (graph, saved)
}
