//! The estimate: what this build needs at its peak, from its own dependency graph. Each crate's
//! peak comes from the best source there is (measured here before, the shipped table, a model
//! of the crate's size); the build's peak is the heaviest set of crates that can compile at the
//! same time at the jobs in effect, or the final link.

#[cfg(test)]
mod calibration;
pub(crate) mod model;
pub(crate) mod overlap;
pub(crate) mod read;
pub(crate) mod table;
#[cfg(test)]
pub(crate) mod tests;

/// The settings classes the table and the models distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    /// opt-level 0, no debuginfo.
    D0,
    /// opt-level 0, line tables only.
    LineTables,
    /// opt-level 0, full debuginfo (the dev default).
    Full,
    /// opt-level 3, no debuginfo (the release default).
    Release,
}

impl Class {
    /// The column of this class in the table.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The class by its name in the data files (`d0`, `lt`, `d2`, `release`).
    pub(crate) fn from_name(name: &str) -> Option<Class> {
        Some(match name {
            "d0" => Class::D0,
            "lt" => Class::LineTables,
            "d2" => Class::Full,
            "release" => Class::Release,
            _ => return None,
        })
    }

    /// The name in the data files.
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        ["d0", "lt", "d2", "release"][self.index()]
    }

    /// Every class, in column order.
    pub(crate) const ALL: [Class; 4] = [Class::D0, Class::LineTables, Class::Full, Class::Release];
}

mod knobs;
pub(crate) use knobs::{codegen_factor, Knobs};

use crate::graph::reach::Reach;
use crate::graph::Graph;
use crate::settings::{Debuginfo, Lto};
use crate::size::MIB;
use crate::store::Record;
use std::fmt;

/// Where a crate's figure came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PeakSource {
    /// Measured on this machine by an earlier build (`cargo lowmem` records every rustc).
    Measured,
    /// The table shipped in this crate, measured on a calibration machine.
    Table,
    /// Modelled from the size of the crate's sources and its number of dependencies.
    Model,
}

impl fmt::Display for PeakSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeakSource::Measured => "measured here",
            PeakSource::Table => "table",
            PeakSource::Model => "size model",
        })
    }
}

/// One crate of the build and what compiling it (or linking it) is expected to take.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CratePeak {
    /// The package name.
    pub name: String,
    /// The package version.
    pub version: String,
    /// The expected anonymous peak of its rustc (with the linker, for a binary), bytes.
    pub peak: u64,
    /// Where the figure came from.
    pub source: PeakSource,
    /// Whether this is the final link of a binary (or cdylib) rather than a compilation.
    pub link: bool,
}

impl fmt::Display for CratePeak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{} ≈ {} ({})",
            self.name,
            if self.link { " (link)" } else { "" },
            crate::size::Bytes(self.peak),
            self.source
        )
    }
}

/// Which part of the build holds the peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Compiling: the heaviest crates that can compile at the same time.
    Compile,
    /// A final link.
    Link,
}

/// What the build is expected to need at its peak: the smallest memory limit under which it
/// finishes without an OOM kill.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Estimate {
    /// The need, bytes.
    pub peak: u64,
    /// Which phase holds it.
    pub phase: Phase,
    /// The need of the compile phase alone.
    pub compile: u64,
    /// The need of the heaviest final link alone (0 when nothing links).
    pub link: u64,
    /// The crates compiling together at the peak, heaviest first.
    pub together: Vec<CratePeak>,
    /// The heaviest crates of the build, heaviest first (at most five).
    pub heaviest: Vec<CratePeak>,
    /// Every crate of the build with its expected peak, heaviest first (what `cargo lowmem`
    /// reserves for each rustc it admits).
    pub crate_peaks: Vec<CratePeak>,
    /// How many crates the build compiles.
    pub crates: usize,
    /// What compiling one build script is expected to take, bytes (the size model's figure,
    /// fitted on the calibration corpus: build scripts are small and alike). `cargo lowmem`
    /// reserves it for a build script it has not measured before.
    pub build_script: u64,
    /// Assumptions made that no measurement covers.
    pub assumptions: Vec<&'static str>,
}

/// How many crates [`Estimate::heaviest`] names.
const HEAVIEST: usize = 5;
/// Assumed, not measured: fat LTO holds the whole program in one module at link time.
const FAT_LTO_LINK_PER_CRATE: f64 = 2.0;

/// A crate's figures by class, resolved once per graph.
#[derive(Debug, Clone)]
struct Unit {
    /// Anonymous peak MiB and its source, by class.
    peak: [(f64, PeakSource); 4],
    /// Artifact KiB by class.
    out_kib: [f64; 4],
    /// Built for the host only (build dependencies, proc-macros): always `debug = 0`,
    /// opt-level 0 (cargo's `build-override` defaults).
    host_only: bool,
    /// A root that links: its closure's artifacts are the link's inputs.
    links: bool,
    /// The root's own measured link peaks (store), by class.
    link_measured: [Option<f64>; 4],
}

/// The estimate of one graph under any settings: per-crate figures resolved once, the peak
/// worked out per question ("what if one job?").
#[derive(Debug)]
pub(crate) struct Estimator<'g> {
    graph: &'g Graph,
    units: Vec<Unit>,
    model: model::Model,
    /// Which packages depend on which through libraries only (cargo pipelines those).
    pipelined: Reach,
    /// Estimates already made: the advice asks the same question more than once.
    memo: std::cell::RefCell<Vec<(Question, Estimate)>>,
}

/// What an estimate was asked: the settings, and the part of the build (see
/// [`Estimator::estimate_within`]).
type Question = (Knobs, Option<usize>, bool);

/// The features cargo resolved for a package, when the feature check ran.
pub(crate) type ResolvedFeatures<'a> = &'a [(String, Vec<String>)];

impl<'g> Estimator<'g> {
    /// Resolves every crate's figures from `store` (records measured here), the shipped table
    /// and the model.
    pub(crate) fn new(
        graph: &'g Graph,
        store: &[Record],
        features: Option<ResolvedFeatures<'_>>,
        rows: &[table::Row<'_>],
    ) -> Estimator<'g> {
        Estimator::from_rows(graph, store, features, rows, model::SHIPPED)
    }

    #[cfg(test)]
    /// As [`Estimator::new`], with the table's and the model's text given (tests).
    pub(crate) fn with(
        graph: &'g Graph,
        store: &[Record],
        features: Option<ResolvedFeatures<'_>>,
        table_text: &str,
        model_text: &str,
    ) -> Estimator<'g> {
        Estimator::from_rows(graph, store, features, &table::rows(table_text), model_text)
    }

    /// As [`Estimator::with`], with the table already read (sorted by package, as
    /// [`table::rows`] returns it).
    pub(crate) fn from_rows(
        graph: &'g Graph,
        store: &[Record],
        features: Option<ResolvedFeatures<'_>>,
        rows: &[table::Row<'_>],
        model_text: &str,
    ) -> Estimator<'g> {
        let model = model::Model::parse(model_text);
        let n = graph.packages.len();
        // The store's records by package, for a binary search per package.
        let stored: Vec<&Record> = store.iter().filter(|r| r.succeeded()).collect();
        let packages: Vec<&str> = stored.iter().map(|r| r.package.as_str()).collect();
        let stored = crate::order::permute(stored, &crate::order::by_str_keys(&packages));
        let units = (0..n)
            .map(|i| {
                let p = &graph.packages[i];
                let deps = (0..n).filter(|&j| graph.depends_on(i, j)).count();
                // The features cargo resolves for it: from the graph's own resolution, else from
                // the feature check's `cargo tree` when it ran.
                let wanted = if p.features_known {
                    Some(p.features.as_slice())
                } else {
                    let key = |n: &str| n.replace('_', "-").to_ascii_lowercase();
                    features.and_then(|all| {
                        all.iter()
                            .find(|(name, _)| key(name) == key(&p.name))
                            .map(|(_, f)| f.as_slice())
                    })
                };
                let first = stored.partition_point(|r| r.package < p.name);
                let own = stored[first..].iter().take_while(|r| r.package == p.name);
                let measured = |class: Class, link: bool| {
                    own.clone()
                        .filter(|r| {
                            r.version == p.version
                                && r.emit == "link"
                                && record_class(r) == Some(class)
                                && if link {
                                    r.kind == "bin" || r.kind.contains("dylib")
                                } else {
                                    matches!(r.kind.as_str(), "lib" | "rlib" | "proc-macro")
                                }
                        })
                        .map(|r| (r.anon_kib as f64 / 1024.0, r.out_kib as f64))
                        .fold(None, |best: Option<(f64, f64)>, (m, o)| {
                            Some(best.map_or((m, o), |(bm, bo)| (bm.max(m), bo.max(o))))
                        })
                };
                let size = p.size.map(|s| s.bytes);
                let figures = Class::ALL.map(|class| {
                    let modelled = || {
                        let bytes = size.unwrap_or(UNKNOWN_SIZE);
                        (
                            model.crate_mib(class, bytes, deps),
                            model.out_kib(class, bytes, deps),
                        )
                    };
                    if let Some((mib, out)) = measured(class, false) {
                        ((mib, PeakSource::Measured), out)
                    } else if let Some(found) =
                        table::lookup(rows, &p.name, &p.version, wanted, class)
                    {
                        let out = found.out_kib.map_or_else(|| modelled().1, |k| k as f64);
                        ((f64::from(found.peak_mib), PeakSource::Table), out)
                    } else {
                        let (mib, out) = modelled();
                        ((mib, PeakSource::Model), out)
                    }
                });
                Unit {
                    peak: figures.map(|f| f.0),
                    out_kib: figures.map(|f| f.1),
                    host_only: p.for_host && !p.for_target,
                    links: p.links && graph.roots.contains(&i),
                    link_measured: Class::ALL.map(|c| measured(c, true).map(|m| m.0)),
                }
            })
            .collect();
        // An edge is pipelined when both ends are libraries on the same side (a build
        // dependency, a proc-macro or a linking root needs its dependencies' full artifacts).
        let library = |i: usize| {
            let p = &graph.packages[i];
            !(p.proc_macro || p.links && graph.roots.contains(&i))
        };
        let pipelined_deps: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                let p = &graph.packages[i];
                if !library(i) {
                    return Vec::new();
                }
                p.deps
                    .iter()
                    .copied()
                    .filter(|&d| {
                        let dep = &graph.packages[d];
                        library(d) && dep.for_target == p.for_target && dep.for_host == p.for_host
                    })
                    .collect()
            })
            .collect();
        Estimator {
            graph,
            units,
            model,
            pipelined: Reach::new(&pipelined_deps),
            memo: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// How `other` relates to `top` at `top`'s peak.
    fn relation(&self, top: usize, other: usize) -> overlap::Relation {
        if self.pipelined.get(other, top) {
            overlap::Relation::Pipelined
        } else if self.graph.comparable(top, other) {
            overlap::Relation::Apart
        } else {
            overlap::Relation::Independent
        }
    }

    /// The estimate with `knobs` in effect.
    pub(crate) fn estimate(&self, knobs: &Knobs) -> Estimate {
        self.estimate_within(knobs, None, false)
    }

    /// The index of a package in the graph.
    pub(crate) fn package_index(&self, name: &str, version: &str) -> Option<usize> {
        self.graph
            .packages
            .iter()
            .position(|p| p.name == name && p.version == version)
    }

    /// The estimate of part of the build: with `split = Some(heavy)`, only `heavy` and what it
    /// depends on (`rest == false`: `cargo build -p heavy`), or everything else (`rest ==
    /// true`: the build after that one).
    pub(crate) fn estimate_within(
        &self,
        knobs: &Knobs,
        split: Option<usize>,
        rest: bool,
    ) -> Estimate {
        let key = (*knobs, split, rest);
        if let Some((_, known)) = self.memo.borrow().iter().find(|(k, _)| *k == key) {
            return known.clone();
        }
        let estimate = self.work_out(knobs, split, rest);
        self.memo.borrow_mut().push((key, estimate.clone()));
        estimate
    }

    fn work_out(&self, knobs: &Knobs, split: Option<usize>, rest: bool) -> Estimate {
        let included = |i: usize| match split {
            None => true,
            Some(heavy) => (i == heavy || self.graph.depends_on(heavy, i)) != rest,
        };
        let mut assumptions = Vec::new();
        let compile: Vec<f64> = (0..self.units.len())
            .map(|i| {
                if included(i) {
                    self.compile_mib(i, knobs).0
                } else {
                    0.0
                }
            })
            .collect();
        let links: Vec<Option<f64>> = (0..self.units.len())
            .map(|i| {
                self.link_mib(i, knobs, &compile, &mut assumptions)
                    .filter(|_| included(i))
            })
            .collect();
        // A linking root compiles its own crate and then links: one rustc, the larger of both.
        let weights: Vec<u64> = compile
            .iter()
            .zip(&links)
            .map(|(c, l)| (c.max(l.unwrap_or(0.0)) * 1024.0) as u64)
            .collect();
        let relation = |a: usize, b: usize| self.relation(a, b);
        let jobs = knobs.jobs.max(1) as usize;
        let shares = self.model.shares();
        let need = |weights: &[u64]| -> (u64, Vec<usize>) {
            let (kib, chosen) = overlap::heaviest_moment(weights, &relation, jobs, shares);
            let mib = self.model.need_mib(kib / 1024.0).max(0.0);
            ((mib * MIB as f64) as u64, chosen)
        };
        let (peak, chosen) = need(&weights);
        let compile_only: Vec<u64> = compile.iter().map(|c| (c * 1024.0) as u64).collect();
        let (compile_need, _) = need(&compile_only);
        let link_max = links.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
        let link_need = if link_max > 0.0 {
            ((self.model.need_mib(link_max).max(0.0)) * MIB as f64) as u64
        } else {
            0
        };
        let peak_at = |i: usize| -> CratePeak {
            let p = &self.graph.packages[i];
            let (mib, source) = self.compile_mib(i, knobs);
            let link = links[i].filter(|&l| l >= mib);
            CratePeak {
                name: p.name.clone(),
                version: p.version.clone(),
                peak: (link.unwrap_or(mib) * MIB as f64) as u64,
                source: match link {
                    None => source,
                    Some(_) if self.units[i].link_measured[link_class(knobs).index()].is_some() => {
                        PeakSource::Measured
                    }
                    Some(_) => PeakSource::Model,
                },
                link: link.is_some(),
            }
        };
        let order: Vec<usize> = (0..weights.len()).filter(|&i| included(i)).collect();
        let heaviest_first: Vec<u64> = order.iter().map(|&i| u64::MAX - weights[i]).collect();
        let order: Vec<usize> = crate::order::by_keys(&heaviest_first)
            .into_iter()
            .map(|k| order[k])
            .collect();
        let together: Vec<CratePeak> = chosen.iter().map(|&i| peak_at(i)).collect();
        Estimate {
            peak,
            phase: if together.iter().any(|c| c.link) {
                Phase::Link
            } else {
                Phase::Compile
            },
            compile: compile_need,
            link: link_need,
            together,
            heaviest: order.iter().take(HEAVIEST).map(|&i| peak_at(i)).collect(),
            crate_peaks: order.iter().map(|&i| peak_at(i)).collect(),
            crates: (0..self.units.len()).filter(|&i| included(i)).count(),
            build_script: (self.model.script_mib.max(0.0) * MIB as f64) as u64,
            assumptions,
        }
    }

    /// The class a unit is compiled with under `knobs`, and the factor on top of its figure
    /// (opt-level with debuginfo: the release figure scaled as debuginfo scales a dev build).
    fn compile_mib(&self, i: usize, knobs: &Knobs) -> (f64, PeakSource) {
        let unit = &self.units[i];
        let cell = |c: Class| unit.peak[c.index()];
        if unit.host_only {
            return cell(Class::D0);
        }
        let dev = |level: Debuginfo| match level {
            Debuginfo::None => cell(Class::D0),
            Debuginfo::LineDirectivesOnly | Debuginfo::LineTablesOnly => cell(Class::LineTables),
            Debuginfo::Limited => {
                let (lt, full) = (cell(Class::LineTables), cell(Class::Full));
                ((lt.0 + full.0) / 2.0, lt.1.max(full.1))
            }
            Debuginfo::Full => cell(Class::Full),
        };
        let (mib, source) = if knobs.optimised {
            let (release, source) = cell(Class::Release);
            let scale = dev(knobs.debuginfo).0 / cell(Class::D0).0.max(1.0);
            (release * scale.max(1.0), source)
        } else {
            dev(knobs.debuginfo)
        };
        (mib * codegen_factor(knobs.codegen_units), source)
    }

    /// The link's peak of a linking root, MiB, from its inputs: the artifacts of every crate it
    /// links (its closure, host-only crates excepted).
    fn link_mib(
        &self,
        i: usize,
        knobs: &Knobs,
        compile: &[f64],
        assumptions: &mut Vec<&'static str>,
    ) -> Option<f64> {
        let unit = &self.units[i];
        if !unit.links {
            return None;
        }
        if knobs.split_debuginfo && knobs.debuginfo > Debuginfo::LineTablesOnly {
            push_once(
                assumptions,
                "split debuginfo: the linker is assumed to handle only line tables",
            );
        }
        let class = link_class(knobs);
        if let Some(measured) = unit.link_measured[class.index()] {
            return Some(measured);
        }
        let inputs_kib: f64 = (0..self.units.len())
            .filter(|&j| self.graph.depends_on(i, j) && !self.units[j].host_only)
            .map(|j| self.units[j].out_kib[class.index()])
            .sum();
        let mut link = self.model.link_mib(class, inputs_kib / 1024.0);
        if knobs.lto == Lto::Fat {
            push_once(
                assumptions,
                "fat LTO: the link is assumed to need twice the largest crate",
            );
            let largest = compile.iter().fold(0.0f64, |a, &b| a.max(b));
            link = link.max(largest * FAT_LTO_LINK_PER_CRATE);
        }
        Some(link)
    }
}

/// The class whose figures a link under `knobs` takes (split debuginfo is assumed to leave the
/// linker only the line tables).
fn link_class(knobs: &Knobs) -> Class {
    let mut level = knobs.debuginfo;
    if knobs.split_debuginfo && level > Debuginfo::LineTablesOnly {
        level = Debuginfo::LineTablesOnly;
    }
    match (knobs.optimised, level) {
        (true, Debuginfo::None) => Class::Release,
        (_, Debuginfo::None) => Class::D0,
        (_, Debuginfo::LineDirectivesOnly | Debuginfo::LineTablesOnly) => Class::LineTables,
        _ => Class::Full,
    }
}

/// Bytes assumed for a crate whose sources are not on this machine (the corpus's median).
const UNKNOWN_SIZE: u64 = 60_000;

fn push_once(list: &mut Vec<&'static str>, item: &'static str) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The class of a stored record, when it is one the estimate uses.
pub(crate) fn record_class(r: &Record) -> Option<Class> {
    let optimised = !matches!(r.opt.as_str(), "0" | "");
    Some(match (optimised, r.debuginfo.as_str()) {
        (false, "0" | "" | "none") => Class::D0,
        (false, "line-tables-only" | "line-directives-only") => Class::LineTables,
        (false, "2" | "full") => Class::Full,
        (true, "0" | "" | "none") => Class::Release,
        _ => return None,
    })
}
