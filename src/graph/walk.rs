//! The walk from the root packages over the lock file's edges, keeping an edge only where the
//! manifest's kind and target condition make cargo build it, and marking which platform each
//! package is built for.

use super::cfg::{self, CfgSet};
use super::lock::Lock;
use super::manifest::{DepKind, Manifest};

/// The platform a package is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    /// The build's target (`--target`, or the host when none is given).
    Target = 0,
    /// The host: build scripts, proc-macros and everything they depend on.
    Host = 1,
}

/// What the walk found, by index into the lock's packages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Walked {
    /// The packages reached, in lock order.
    pub(crate) reached: Vec<usize>,
    /// Per lock package: built for the target, built for the host.
    pub(crate) built_for: Vec<[bool; 2]>,
    /// Per lock package: reached by a path without an optional dependency.
    pub(crate) mandatory: Vec<bool>,
    /// The kept edges (dependent, dependency), sorted, each once.
    pub(crate) edges: Vec<(usize, usize)>,
    /// Conditions that could not be read and lock edges the manifest does not declare, one line
    /// each (the edge is kept).
    pub(crate) problems: Vec<String>,
}

/// A loaded manifest per lock package, asked for only when the walk reaches the package (a
/// package of another platform is never read).
pub(crate) type Load<'a> = dyn FnMut(usize) -> Option<Manifest> + 'a;

/// What the walk asks of the build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Platforms<'a> {
    /// The target's cfg set.
    pub(crate) target: &'a CfgSet,
    /// The host's (the same as the target's when not cross-compiling).
    pub(crate) host: &'a CfgSet,
    /// Follow the roots' dev-dependencies too (`cargo test` builds them).
    pub(crate) dev: bool,
}

/// Walks from `roots` (lock indices) over `lock`. `load` gives a package's manifest facts, or
/// `None` when its sources are not on this machine: then every lock edge of it is kept as a
/// normal dependency (over-counting is safer than missing a package). `manifests` receives the
/// loaded facts by lock index.
pub(crate) fn walk(
    lock: &Lock,
    roots: &[usize],
    platforms: Platforms<'_>,
    load: &mut Load<'_>,
    manifests: &mut Vec<Option<Manifest>>,
) -> Walked {
    let count = lock.packages.len();
    manifests.clear();
    manifests.resize(count, None);
    let mut loaded = vec![false; count];
    let mut ensure = |index: usize, manifests: &mut Vec<Option<Manifest>>| {
        if !loaded[index] {
            loaded[index] = true;
            manifests[index] = load(index);
        }
    };
    let mut walked = Walked {
        built_for: vec![[false; 2]; count],
        mandatory: vec![false; count],
        ..Walked::default()
    };
    // (package, platform, reached without an optional edge)
    let mut queue: Vec<(usize, Platform, bool)> = Vec::new();
    let mut mandatory_on = vec![[false; 2]; count];
    for &root in roots {
        ensure(root, manifests);
        let platform = match &manifests[root] {
            Some(m) if m.proc_macro => Platform::Host,
            _ => Platform::Target,
        };
        queue.push((root, platform, true));
    }
    let mut next: Vec<(usize, Option<Platform>, bool)> = Vec::new();
    let mut filter = Filter {
        lock,
        platforms,
        known: Vec::new(),
        problems: Vec::new(),
    };
    while let Some((index, platform, mandatory)) = queue.pop() {
        let slot = &mut walked.built_for[index][platform as usize];
        let known = *slot && (!mandatory || mandatory_on[index][platform as usize]);
        if known {
            continue;
        }
        *slot = true;
        mandatory_on[index][platform as usize] |= mandatory;
        walked.mandatory[index] |= mandatory;
        ensure(index, manifests);
        let is_root = roots.contains(&index);
        next.clear();
        let dev = platforms.dev && is_root;
        filter.edges(index, manifests[index].as_ref(), platform, dev, &mut next);
        for &(dep, to, optional) in &next {
            walked.edges.push((index, dep));
            // `None`: a normal or dev edge, built like the dependent unless it is a proc-macro.
            let to = match to {
                Some(to) => to,
                None => {
                    ensure(dep, manifests);
                    match &manifests[dep] {
                        Some(m) if m.proc_macro => Platform::Host,
                        _ => platform,
                    }
                }
            };
            queue.push((dep, to, mandatory && !optional));
        }
    }
    walked.edges.sort_unstable();
    walked.edges.dedup();
    walked.problems = filter.problems;
    walked.problems.sort();
    walked.problems.dedup();
    walked.reached = (0..count)
        .filter(|&i| walked.built_for[i] != [false; 2])
        .collect();
    walked
}

/// Decides which lock edges cargo builds: by the manifests' kinds and target conditions, each
/// distinct condition evaluated once per platform (a graph has a few dozen, each met by many
/// packages).
struct Filter<'a> {
    lock: &'a Lock,
    platforms: Platforms<'a>,
    /// (condition, platform, answer), sorted by the first two.
    known: Vec<(String, Platform, Result<bool, String>)>,
    /// Conditions that could not be read and undeclared lock edges.
    problems: Vec<String>,
}

impl Filter<'_> {
    fn holds(&mut self, condition: &str, on: Platform) -> Result<bool, String> {
        let found = self
            .known
            .binary_search_by(|(c, p, _)| (c.as_str(), *p as u8).cmp(&(condition, on as u8)));
        match found {
            Ok(at) => self.known[at].2.clone(),
            Err(at) => {
                let platform = match on {
                    Platform::Target => self.platforms.target,
                    Platform::Host => self.platforms.host,
                };
                let answer = cfg::holds(condition, platform);
                self.known
                    .insert(at, (condition.to_string(), on, answer.clone()));
                answer
            }
        }
    }

    /// The kept edges of lock package `index` built for `platform` (with its dev-dependencies
    /// when `dev`), into `out`: (dependency, its platform when the edge's kind fixes it,
    /// optional).
    fn edges(
        &mut self,
        index: usize,
        manifest: Option<&Manifest>,
        platform: Platform,
        dev: bool,
        out: &mut Vec<(usize, Option<Platform>, bool)>,
    ) {
        let package = &self.lock.packages[index];
        let Some(manifest) = manifest else {
            out.extend(package.deps.iter().map(|&dep| (dep, None, false)));
            return;
        };
        for &dep in &package.deps {
            let name = self.lock.packages[dep].name.as_str();
            let start = manifest.deps.partition_point(|d| d.name.as_str() < name);
            let declared = manifest.deps[start..].iter().take_while(|d| d.name == name);
            let mut any = false;
            // Per platform the edge leads to (the dependent's, the host): kept, and whether
            // only as optional.
            let mut kept: [Option<bool>; 2] = [None, None];
            for declaration in declared {
                any = true;
                let (evaluated_on, to) = match declaration.kind {
                    DepKind::Normal => (platform, None),
                    DepKind::Build => (Platform::Host, Some(Platform::Host)),
                    DepKind::Dev if dev => (platform, None),
                    DepKind::Dev => continue,
                };
                let holds = match &declaration.target {
                    None => true,
                    Some(condition) => self.holds(condition, evaluated_on).unwrap_or_else(|why| {
                        self.problems.push(format!(
                            "{} {}: target condition {why}; the dependency on `{name}` is kept",
                            package.name, package.version
                        ));
                        true
                    }),
                };
                if holds {
                    let slot = &mut kept[usize::from(to.is_some())];
                    *slot = Some(slot.unwrap_or(true) && declaration.optional);
                }
            }
            if !any {
                self.problems.push(format!(
                    "{} {}: Cargo.lock lists a dependency on `{name}` that its manifest does not declare; it is kept",
                    package.name, package.version
                ));
                out.push((dep, None, false));
                continue;
            }
            if let Some(optional) = kept[0] {
                out.push((dep, None, optional));
            }
            if let Some(optional) = kept[1] {
                out.push((dep, Some(Platform::Host), optional));
            }
        }
    }
}
