//! Which packages a build compiles and with which features: cargo's feature resolver (resolver
//! 2) run over the lock file's edges and the manifests, from the roots and their features.
//!
//! Cargo.lock lists every dependency some feature could turn on; this decides which ones the
//! build's features do. It follows cargo's `FeatureResolver`: a package is activated with the
//! features its dependents ask for (plus `default` unless they say `default-features = false`),
//! its non-optional dependencies then, and each feature value as cargo reads it: `dep:x` turns on
//! optional dependency `x`; `x/f` turns `x` on (if optional, with its implicit feature) and
//! feature `f` on it; `x?/f` turns on `f` only once `x` is on for some other reason (kept aside
//! until then); any other name is a feature of the same package. Packages built for the host
//! (build dependencies, proc-macros and their closures) keep features of their own, as resolver
//! 2 does. Work is a stack of tasks rather than recursion, so a deep graph cannot exhaust the
//! stack; every task adds to sets that only grow, so the order does not change the result.

use super::edges::{Edge, Filter, Platform, Platforms};
use super::lock::Lock;
use super::manifest::{Dep, Manifest};
use std::cell::OnceCell;

/// What the resolution found, by lock index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Resolved {
    /// The packages built, in lock order.
    pub(crate) reached: Vec<usize>,
    /// Per lock package: built for the target, built for the host.
    pub(crate) built_for: Vec<[bool; 2]>,
    /// Per lock package: its enabled features, the union over both platforms, sorted (empty for
    /// packages not built).
    pub(crate) features: Vec<Vec<String>>,
    /// The followed edges (dependent, dependency), sorted, each once.
    pub(crate) edges: Vec<(usize, usize)>,
    /// Conditions that could not be read and lock edges the manifest does not declare, one line
    /// each (the edge is kept).
    pub(crate) problems: Vec<String>,
}

/// The manifests by lock index, each loaded the first time the resolution needs it (a package
/// nothing activates is never read), `None` inside when its sources are not on this machine.
pub(crate) type Manifests = [OnceCell<Option<Manifest>>];

/// What to resolve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'r> {
    /// The roots, lock indices.
    pub(crate) roots: &'r [usize],
    /// The roots' features; `None` for their `default`.
    pub(crate) root_features: Option<&'r [String]>,
    /// The platforms and whether dev-dependencies count.
    pub(crate) platforms: Platforms<'r>,
}

/// Resolves `request` over `lock`. `manifests` holds one cell per lock package; `load` fills one
/// (`None` when the sources are not on this machine: then every lock edge of that package is
/// followed as a plain dependency asking for default features, and its own features are only
/// those asked of it).
pub(crate) fn resolve<F>(
    lock: &Lock,
    request: Request<'_>,
    manifests: &Manifests,
    load: F,
) -> Resolved
where
    F: FnMut(usize) -> Option<Manifest>,
{
    let count = lock.packages.len();
    let mut resolver = Resolver {
        manifests,
        load,
        filter: Filter::new(lock, request.platforms),
        roots: request.roots,
        root_features: request.root_features,
        nodes: (0..count * 2).map(|_| Node::default()).collect(),
        arena: Vec::new(),
        deferred: Vec::new(),
        tasks: Vec::new(),
        followed: Vec::new(),
    };
    for &root in request.roots {
        let host = resolver.manifest(root).is_some_and(|m| m.proc_macro);
        resolver.tasks.push(Task::Package {
            node: root * 2 + usize::from(host),
            asks: Asks::Root,
        });
    }
    while let Some(task) = resolver.tasks.pop() {
        match task {
            Task::Package { node, asks } => resolver.package(node, asks),
            Task::Value { node, value } => resolver.value(node, value),
        }
    }
    resolver.finish(count)
}

/// What activates a package: which feature list applies.
#[derive(Debug, Clone, Copy)]
enum Asks {
    /// A root: the request's features.
    Root,
    /// A declaration: package `by`'s `deps[decl]`.
    Declared { by: usize, decl: usize },
    /// A lock edge no manifest explains: default features.
    Default,
}

#[derive(Debug, Clone, Copy)]
enum Task<'m> {
    /// Activate a node (lock index × 2 + platform) with what `asks` says.
    Package { node: usize, asks: Asks },
    /// Enable one feature value on a node.
    Value { node: usize, value: &'m str },
}

/// One package on one platform.
#[derive(Debug, Default)]
struct Node<'m> {
    /// Built: something activated it.
    activated: bool,
    /// Its dependencies have been followed.
    processed: bool,
    /// Enabled features, sorted.
    features: Vec<&'m str>,
    /// The optional dependencies turned on, by key, sorted.
    deps_on: Vec<&'m str>,
    /// Its applying declarations, a range of `arena`, once computed.
    edges: Option<(usize, usize)>,
}

/// The state of one resolution.
struct Resolver<'m, F> {
    /// The manifests, by lock index, filled by `load` on first use.
    manifests: &'m Manifests,
    /// Reads a package's manifest.
    load: F,
    /// Which declarations apply on which platform.
    filter: Filter<'m>,
    /// The roots, lock indices.
    roots: &'m [usize],
    /// The roots' features; `None` for `default`.
    root_features: Option<&'m [String]>,
    /// By node: lock index × 2 + platform.
    nodes: Vec<Node<'m>>,
    /// Every node's edges, one after another.
    arena: Vec<Edge>,
    /// Weak `x?/f` values waiting for `x`: (node, key of x, f).
    deferred: Vec<(usize, &'m str, &'m str)>,
    /// What is left to do.
    tasks: Vec<Task<'m>>,
    /// (dependent, dependency) lock indices, with repeats.
    followed: Vec<(usize, usize)>,
}

impl<'m, F: FnMut(usize) -> Option<Manifest>> Resolver<'m, F> {
    /// The manifest of lock package `index`, loaded now if it was not yet; `None` when its
    /// sources are not on this machine.
    fn manifest(&mut self, index: usize) -> Option<&'m Manifest> {
        let manifests: &'m Manifests = self.manifests;
        let load = &mut self.load;
        manifests.get(index)?.get_or_init(|| load(index)).as_ref()
    }

    /// The node's applying edges, as a range of `arena`.
    fn edges(&mut self, node: usize) -> (usize, usize) {
        if let Some(range) = self.nodes[node].edges {
            return range;
        }
        let (package, platform) = split(node);
        let manifest = self.manifest(package);
        let start = self.arena.len();
        let is_root = self.roots.contains(&package);
        self.filter
            .edges(package, manifest, platform, is_root, &mut self.arena);
        let range = (start, self.arena.len());
        self.nodes[node].edges = Some(range);
        range
    }

    /// The declaration behind an edge of `package`.
    fn decl(&mut self, package: usize, edge: Edge) -> Option<&'m Dep> {
        let manifest = self.manifest(package)?;
        manifest.deps.get(edge.decl?)
    }

    /// The node an edge of `node` leads to: the host for build dependencies, proc-macros and
    /// anything a host package depends on.
    fn target_of(&mut self, node: usize, edge: Edge) -> usize {
        let host = split(node).1 == Platform::Host
            || edge.build
            || self.manifest(edge.dep).is_some_and(|m| m.proc_macro);
        edge.dep * 2 + usize::from(host)
    }

    /// Follows an edge of `node`: activates the dependency with its declaration's features.
    fn follow(&mut self, node: usize, edge: Edge) {
        let to = self.target_of(node, edge);
        let asks = match edge.decl {
            Some(decl) => Asks::Declared {
                by: split(node).0,
                decl,
            },
            None => Asks::Default,
        };
        self.followed.push((split(node).0, edge.dep));
        self.tasks.push(Task::Package { node: to, asks });
    }

    /// Activates a node: the features `asks` names (with `default` where it applies), then,
    /// the first time, its dependencies that are not optional.
    fn package(&mut self, node: usize, asks: Asks) {
        let manifest = self.manifest(split(node).0);
        self.nodes[node].activated = true;
        let has_default = manifest.is_some_and(|m| m.feature("default").is_some());
        let push_default = |tasks: &mut Vec<Task<'m>>| {
            if has_default {
                tasks.push(Task::Value {
                    node,
                    value: "default",
                });
            }
        };
        match asks {
            Asks::Root => match self.root_features {
                Some(features) => self.tasks.extend(features.iter().map(|f| Task::Value {
                    node,
                    value: manifest.map_or(f.as_str(), |m| feature_named(m, f)),
                })),
                None => push_default(&mut self.tasks),
            },
            Asks::Declared { by, decl } => {
                if let Some(dep) = self.manifest(by).and_then(|m| m.deps.get(decl)) {
                    self.tasks.extend(dep.features.iter().map(|f| Task::Value {
                        node,
                        value: f.as_str(),
                    }));
                    if dep.default_features {
                        push_default(&mut self.tasks);
                    }
                }
            }
            Asks::Default => push_default(&mut self.tasks),
        }
        if self.nodes[node].processed {
            return;
        }
        self.nodes[node].processed = true;
        let (start, end) = self.edges(node);
        for at in start..end {
            let edge = self.arena[at];
            if self.decl(split(node).0, edge).is_some_and(|d| d.optional) {
                continue; // only a feature turns it on
            }
            self.follow(node, edge);
        }
    }

    /// Enables one feature value on a node, by its form: `dep:x`, `x/f`, `x?/f` or a feature.
    fn value(&mut self, node: usize, value: &'m str) {
        if let Some(key) = value.strip_prefix("dep:") {
            self.turn_on(node, key);
        } else if let Some((dep, feature)) = value.split_once('/') {
            match dep.strip_suffix('?') {
                Some(key) => self.dep_feature(node, key, feature, true),
                None => self.dep_feature(node, dep, feature, false),
            }
        } else {
            self.feature(node, value);
        }
    }

    /// Enables a feature of the node's own package and what it enables.
    fn feature(&mut self, node: usize, name: &'m str) {
        let features = &mut self.nodes[node].features;
        match features.binary_search(&name) {
            Ok(_) => return,
            Err(at) => features.insert(at, name),
        }
        let Some(feature) = self.manifest(split(node).0).and_then(|m| m.feature(name)) else {
            return;
        };
        self.tasks.extend(
            feature
                .enables
                .iter()
                .map(|v| Task::Value { node, value: v }),
        );
    }

    /// `x/f` and `x?/f`: feature `f` on dependency `x`, turning `x` on unless weak.
    fn dep_feature(&mut self, node: usize, key: &'m str, feature: &'m str, weak: bool) {
        let package = split(node).0;
        let (start, end) = self.edges(node);
        for at in start..end {
            let edge = self.arena[at];
            let Some(dep) = self.decl(package, edge) else {
                continue;
            };
            if dep.key() != key {
                continue;
            }
            if dep.optional {
                if weak && self.nodes[node].deps_on.binary_search(&key).is_err() {
                    if !self.deferred.contains(&(node, key, feature)) {
                        self.deferred.push((node, key, feature));
                    }
                    continue;
                }
                self.turn_on(node, key);
                // The implicit feature of the same name comes along (when `dep:` did not hide
                // it), as in cargo.
                let implicit = self.manifest(package).and_then(|m| m.feature(key));
                if !weak && implicit.is_some() {
                    self.feature(node, dep.key());
                }
            }
            let to = self.target_of(node, edge);
            self.tasks.push(Task::Value {
                node: to,
                value: feature,
            });
        }
    }

    /// Turns on the dependencies declared under `key`, with the weak features that waited for
    /// them.
    fn turn_on(&mut self, node: usize, key: &'m str) {
        let deps_on = &mut self.nodes[node].deps_on;
        match deps_on.binary_search(&key) {
            Ok(_) => return,
            Err(at) => deps_on.insert(at, key),
        }
        let mut waiting = Vec::new();
        self.deferred.retain(|&(n, k, feature)| {
            let now = n == node && k == key;
            if now {
                waiting.push(feature);
            }
            !now
        });
        let package = split(node).0;
        let (start, end) = self.edges(node);
        for at in start..end {
            let edge = self.arena[at];
            if self.decl(package, edge).map(Dep::key) != Some(key) {
                continue;
            }
            let to = self.target_of(node, edge);
            self.tasks
                .extend(waiting.iter().map(|&value| Task::Value { node: to, value }));
            self.follow(node, edge);
        }
    }

    /// What was found, by lock index, for `count` lock packages.
    fn finish(mut self, count: usize) -> Resolved {
        let built_for: Vec<[bool; 2]> = (0..count)
            .map(|i| [self.nodes[i * 2].activated, self.nodes[i * 2 + 1].activated])
            .collect();
        let features = (0..count)
            .map(|i| {
                let mut all: Vec<&str> = self.nodes[i * 2].features.clone();
                all.extend_from_slice(&self.nodes[i * 2 + 1].features);
                all.sort_unstable();
                all.dedup();
                all.into_iter().map(str::to_string).collect()
            })
            .collect();
        self.followed.sort_unstable();
        self.followed.dedup();
        let mut problems = std::mem::take(&mut self.filter.problems);
        problems.sort_unstable();
        problems.dedup();
        Resolved {
            reached: (0..count).filter(|&i| built_for[i] != [false; 2]).collect(),
            built_for,
            features,
            edges: self.followed,
            problems,
        }
    }
}

/// The name of `manifest`'s feature that `name` stands for: itself when the manifest has it,
/// else the one it equals but for case and `_` for `-` (`CARGO_FEATURE_DTYPE_I8` gives
/// `DTYPE_I8` for `dtype-i8`), else itself.
fn feature_named<'m>(manifest: &'m Manifest, name: &'m str) -> &'m str {
    if manifest.feature(name).is_some() {
        return name;
    }
    let fold = |b: u8| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        }
    };
    let same = |other: &str| {
        other.len() == name.len()
            && other
                .bytes()
                .zip(name.bytes())
                .all(|(a, b)| fold(a) == fold(b))
    };
    manifest
        .features
        .iter()
        .find(|f| same(&f.name))
        .map_or(name, |f| f.name.as_str())
}

/// A node's package and platform.
fn split(node: usize) -> (usize, Platform) {
    let platform = if node % 2 == 1 {
        Platform::Host
    } else {
        Platform::Target
    };
    (node / 2, platform)
}
