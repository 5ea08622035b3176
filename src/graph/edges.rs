//! Which of a package's lock edges cargo can follow when the package is built for a platform, and
//! by which of its manifest's declarations: by each one's kind, target condition and (where one
//! package is declared twice) version requirement.

use super::cfg::{self, CfgSet};
use super::lock::Lock;
use super::manifest::{DepKind, Manifest};
use super::req;

/// The platform a package is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    /// The build's target (`--target`, or the host when none is given).
    Target = 0,
    /// The host: build scripts, proc-macros and everything they depend on.
    Host = 1,
}

/// What the build asks of the edges.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Platforms<'a> {
    /// The target's cfg set.
    pub(crate) target: &'a CfgSet,
    /// The host's (the same as the target's when not cross-compiling).
    pub(crate) host: &'a CfgSet,
    /// Follow the roots' dev-dependencies too (`cargo test` builds them).
    pub(crate) dev: bool,
}

/// One declaration that applies on the platform, by the lock edge it resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    /// The dependency, a lock index.
    pub(crate) dep: usize,
    /// The declaration, an index into the manifest's `deps`; `None` when the manifest is not
    /// known or does not declare the lock edge (then it counts as a plain normal dependency).
    pub(crate) decl: Option<usize>,
    /// A build dependency: built for the host whatever the dependent is built for.
    pub(crate) build: bool,
}

/// Decides which declarations apply: each distinct condition evaluated once per platform (a graph
/// has a few dozen, each met by many packages).
pub(crate) struct Filter<'a> {
    /// The lock file whose edges are filtered.
    lock: &'a Lock,
    /// The platforms and whether dev-dependencies count.
    platforms: Platforms<'a>,
    /// (condition, platform, answer), sorted by the first two.
    known: Vec<(String, Platform, Result<bool, String>)>,
    /// Conditions that could not be read and undeclared lock edges, one line each.
    pub(crate) problems: Vec<String>,
}

impl<'a> Filter<'a> {
    /// A filter over `lock`'s edges for these platforms.
    pub(crate) fn new(lock: &'a Lock, platforms: Platforms<'a>) -> Filter<'a> {
        Filter {
            lock,
            platforms,
            known: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Whether `condition` holds on platform `on`; `Err` says what in it could not be read.
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

    /// The declarations of lock package `index` that apply when it is built for `platform`
    /// (its dev-dependencies too when it is a root and the build asks for them), into `out`.
    /// Without a manifest every lock edge applies: too many packages rather than too few.
    pub(crate) fn edges(
        &mut self,
        index: usize,
        manifest: Option<&Manifest>,
        platform: Platform,
        is_root: bool,
        out: &mut Vec<Edge>,
    ) {
        let package = &self.lock.packages[index];
        let Some(manifest) = manifest else {
            out.extend(package.deps.iter().map(|&dep| Edge {
                dep,
                decl: None,
                build: false,
            }));
            return;
        };
        let dev = self.platforms.dev && is_root;
        for &dep in &package.deps {
            let locked = &self.lock.packages[dep];
            let name = locked.name.as_str();
            let start = manifest.deps.partition_point(|d| d.name.as_str() < name);
            let end = start
                + manifest.deps[start..]
                    .iter()
                    .take_while(|d| d.name == name)
                    .count();
            if start == end {
                self.problems.push(format!(
                    "{} {}: Cargo.lock lists a dependency on `{name}` that its manifest does not declare; it is kept",
                    package.name, package.version
                ));
                out.push(Edge {
                    dep,
                    decl: None,
                    build: false,
                });
                continue;
            }
            // Two requirements for one package: the locked version says which declaration this
            // edge is; if none seems to be, all are (the edge exists, so one of them is).
            let meets = |i: usize| {
                let d = &manifest.deps[i];
                d.req
                    .as_deref()
                    .map_or(true, |r| req::matches(r, &locked.version) != Some(false))
            };
            let any_meets = (start..end).any(meets);
            for i in start..end {
                if any_meets && !meets(i) {
                    continue;
                }
                let declaration = &manifest.deps[i];
                let evaluated_on = match declaration.kind {
                    DepKind::Normal => platform,
                    DepKind::Build => Platform::Host,
                    DepKind::Dev if dev => platform,
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
                    out.push(Edge {
                        dep,
                        decl: Some(i),
                        build: declaration.kind == DepKind::Build,
                    });
                }
            }
        }
    }
}
