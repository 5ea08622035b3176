//! The cost model: what a heavy build needs at its peak, from the settings in effect.
//!
//! The figures are peaks measured on a reference build (polars 0.55.2 with five dtypes, lazy and
//! ipc; 2 cores, rustc 1.95, Linux): the largest rustc's RSS and the final link's RSS by debuginfo
//! level, and how they move with jobs, codegen units and opt-level. Effects not measured there
//! (fat LTO, split debuginfo) are marked as assumptions in the estimate.

use crate::settings::{BuildSettings, Debuginfo, Lto};
use crate::size::MIB;

/// Peaks of one build that the model scales.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Workload {
    /// What the figures describe.
    pub name: String,
    /// Peak RSS in MiB of the largest single rustc (dev, default codegen units, one job) with
    /// debug 0, line-tables-only and full debuginfo.
    pub largest_crate_mib: [u64; 3],
    /// Peak RSS in MiB of the final link with debug 0, line-tables-only and full debuginfo.
    pub link_mib: [u64; 3],
    /// What each extra parallel job adds, as a share of the largest crate.
    pub overlap_per_job: f64,
}

impl Workload {
    /// The measured reference: polars 0.55.2 (`default-features = false`, lazy, ipc and the five
    /// dtypes i8, i16, u8, u16, date), clean dev build, 2 cores, rustc 1.95, Linux.
    /// polars-core 1695 / 1879 / 2265 MiB and the final link 1292 / 2020 / 4172 MiB for debug 0,
    /// line-tables-only and full; a second job added 36% of the largest crate.
    pub fn polars() -> Workload {
        Workload {
            name: "polars 0.55.2 reference build (5 dtypes, lazy, ipc)".to_string(),
            largest_crate_mib: [1695, 1879, 2265],
            link_mib: [1292, 2020, 4172],
            overlap_per_job: 0.36,
        }
    }

    /// A build whose largest crate and final link peak at these sizes (MiB) with the dev
    /// defaults (full debuginfo); the other levels scale as they did for polars.
    pub fn scaled(name: &str, largest_crate_mib: u64, link_mib: u64) -> Workload {
        let reference = Workload::polars();
        let scale = |figures: [u64; 3], full: u64| {
            figures.map(|f| (f as f64 * full as f64 / figures[2] as f64).round() as u64)
        };
        Workload {
            name: name.to_string(),
            largest_crate_mib: scale(reference.largest_crate_mib, largest_crate_mib),
            link_mib: scale(reference.link_mib, link_mib),
            overlap_per_job: reference.overlap_per_job,
        }
    }
}

/// Measured: codegen-units = 1 made polars-core 2.17x larger (1695 -> 3673 MiB at debug 0).
const ONE_CODEGEN_UNIT: f64 = 2.17;
/// Measured: release (opt-level 3, 16 units) polars-core 1790 MiB vs 1695 MiB in dev.
const OPTIMISED_CRATE: f64 = 1.06;
/// Measured: the release link 516 MiB vs 1292 MiB in dev (both without debuginfo).
const OPTIMISED_LINK: f64 = 0.4;
/// Assumed, not measured: fat LTO puts the whole program into one module at link time.
const FAT_LTO_LINK_PER_CRATE: f64 = 2.0;
/// Assumed, not measured (only 1 and 2 jobs were): beyond this many jobs the heavy crates of
/// a graph stop overlapping further, so more jobs are not counted.
const MAX_OVERLAPPING_JOBS: u32 = 8;

/// The settings the model reads, as plain data (so "what if" questions are cheap to ask).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Knobs {
    pub(crate) jobs: u32,
    pub(crate) debuginfo: Debuginfo,
    pub(crate) codegen_units: u32,
    pub(crate) lto: Lto,
    pub(crate) optimised: bool,
    pub(crate) split_debuginfo: bool,
}

impl Knobs {
    pub(crate) fn from_settings(settings: &BuildSettings) -> Knobs {
        Knobs {
            jobs: settings.jobs.value.max(1),
            debuginfo: settings.debuginfo.value,
            codegen_units: settings.codegen_units.value.max(1),
            lto: settings.lto.value,
            optimised: settings.opt_level.value != "0",
            split_debuginfo: matches!(
                settings.split_debuginfo.value.as_str(),
                "unpacked" | "packed"
            ),
        }
    }
}

/// Which part of the build holds the peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Compiling: the largest crate plus what runs beside it.
    Compile,
    /// The final link.
    Link,
}

/// What the build is expected to need at its peak.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Estimate {
    /// The peak, in bytes.
    pub peak: u64,
    /// Which phase holds it.
    pub phase: Phase,
    /// The compile phase's peak (largest crate and the jobs beside it).
    pub compile: u64,
    /// The final link's peak.
    pub link: u64,
    /// Assumptions made that the reference measurement did not cover.
    pub assumptions: Vec<&'static str>,
}

fn by_debuginfo(figures: [u64; 3], level: Debuginfo) -> f64 {
    let [none, line_tables, full] = figures.map(|f| f as f64);
    match level {
        Debuginfo::None => none,
        Debuginfo::LineDirectivesOnly | Debuginfo::LineTablesOnly => line_tables,
        Debuginfo::Limited => (line_tables + full) / 2.0,
        Debuginfo::Full => full,
    }
}

/// Codegen units below 16 grow the largest crate, up to [`ONE_CODEGEN_UNIT`] at one unit
/// (log-linear between; only 1 and the defaults were measured).
fn codegen_factor(units: u32) -> f64 {
    if units >= 16 {
        return 1.0;
    }
    let steps_below_16 = 4.0 - f64::from(units.max(1)).log2();
    1.0 + (ONE_CODEGEN_UNIT - 1.0) * steps_below_16 / 4.0
}

/// Estimates the peak of `workload` built with `knobs`.
pub(crate) fn estimate(workload: &Workload, knobs: &Knobs) -> Estimate {
    let mut assumptions = Vec::new();
    let mut largest = by_debuginfo(workload.largest_crate_mib, knobs.debuginfo)
        * codegen_factor(knobs.codegen_units);
    if knobs.optimised {
        largest *= OPTIMISED_CRATE;
    }
    let overlapping = knobs.jobs.min(MAX_OVERLAPPING_JOBS).saturating_sub(1);
    let compile = largest * (1.0 + workload.overlap_per_job * f64::from(overlapping));

    let link_level = if knobs.split_debuginfo && knobs.debuginfo > Debuginfo::LineTablesOnly {
        assumptions.push("split debuginfo: the linker is assumed to handle only line tables");
        Debuginfo::LineTablesOnly
    } else {
        knobs.debuginfo
    };
    let mut link = by_debuginfo(workload.link_mib, link_level);
    if knobs.optimised {
        link *= OPTIMISED_LINK;
    }
    if knobs.lto == Lto::Fat {
        assumptions.push("fat LTO: the link is assumed to need twice the largest crate");
        link = link.max(largest * FAT_LTO_LINK_PER_CRATE);
    }
    let to_bytes = |mib: f64| (mib * MIB as f64) as u64;
    let (compile, link) = (to_bytes(compile), to_bytes(link));
    Estimate {
        peak: compile.max(link),
        phase: if link > compile {
            Phase::Link
        } else {
            Phase::Compile
        },
        compile,
        link,
        assumptions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knobs(jobs: u32, debuginfo: Debuginfo, codegen_units: u32, optimised: bool) -> Knobs {
        Knobs {
            jobs,
            debuginfo,
            codegen_units,
            lto: Lto::Off,
            optimised,
            split_debuginfo: false,
        }
    }

    /// The model against every measured polars build: within 10% of the measured peak.
    #[test]
    fn reproduces_the_reference_measurements() {
        let polars = Workload::polars();
        let cases = [
            (knobs(2, Debuginfo::Full, 256, false), 4442, Phase::Link),
            (knobs(1, Debuginfo::None, 1, false), 3772, Phase::Compile),
            (knobs(2, Debuginfo::None, 256, false), 2311, Phase::Compile),
            (
                knobs(2, Debuginfo::LineTablesOnly, 256, false),
                2344,
                Phase::Compile,
            ),
            (knobs(1, Debuginfo::None, 256, false), 1735, Phase::Compile),
            (knobs(2, Debuginfo::None, 16, true), 2559, Phase::Compile),
        ];
        for (knobs, measured_mib, phase) in cases {
            let e = estimate(&polars, &knobs);
            let ratio = e.peak as f64 / (measured_mib * MIB) as f64;
            assert!((0.9..=1.1).contains(&ratio), "{knobs:?}: ratio {ratio:.2}");
            assert_eq!(e.phase, phase, "{knobs:?}");
        }
    }

    #[test]
    fn fewer_units_cost_more_and_fat_lto_is_flagged() {
        assert_eq!(codegen_factor(256), 1.0);
        assert!((codegen_factor(1) - ONE_CODEGEN_UNIT).abs() < 1e-9);
        assert!(codegen_factor(4) > codegen_factor(8));
        let mut k = knobs(1, Debuginfo::None, 256, true);
        k.lto = Lto::Fat;
        let e = estimate(&Workload::polars(), &k);
        assert_eq!(e.phase, Phase::Link);
        assert_eq!(e.assumptions.len(), 1);
    }

    #[test]
    fn scaled_workloads_keep_the_shape() {
        let w = Workload::scaled("small", 1000, 2000);
        assert_eq!(w.largest_crate_mib[2], 1000);
        assert_eq!(w.link_mib[2], 2000);
        assert!(w.largest_crate_mib[0] < 1000 && w.link_mib[0] < 1000);
    }
}
