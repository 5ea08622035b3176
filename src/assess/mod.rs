//! The assessment: the estimate against the budget, the tier, and the safe number of jobs.
//! Pure functions over plain data.

mod advice;
mod model;

pub use advice::Advice;
pub(crate) use advice::{advise, LinkersOnPath};
pub(crate) use model::{estimate, Knobs};
pub use model::{Estimate, Phase, Workload};

use crate::settings::{Debuginfo, Lto};
use std::fmt;

/// How the memory compares with what the build needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Fits with room to spare (estimate at most 85% of the budget), or nothing is known.
    Ok,
    /// Fits, but with less than 15% to spare.
    Tight,
    /// Does not fit as configured; the advised settings would fit.
    Low,
    /// Does not fit even with the leanest settings (debug 0, one job), or the budget is below
    /// `LOWMEM_BUILD_MIN_MEMORY`.
    Critical,
}

impl Tier {
    /// The name used in `LOWMEM_BUILD_TIER`: `ok`, `tight`, `low`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Ok => "ok",
            Tier::Tight => "tight",
            Tier::Low => "low",
            Tier::Critical => "critical",
        }
    }

    /// Whether the build is expected to run out of memory (`low` or `critical`).
    pub fn is_short(self) -> bool {
        self >= Tier::Low
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Share of the budget an estimate may use and still be `ok`.
const COMFORT: f64 = 0.85;

/// The verdict on one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assessment {
    pub(crate) estimate: Estimate,
    pub(crate) tier: Tier,
    pub(crate) jobs_hint: u32,
}

/// The leanest settings the advice can reach: no debuginfo, one job, default codegen units,
/// no fat LTO.
pub(crate) fn leanest(knobs: &Knobs) -> Knobs {
    Knobs {
        jobs: 1,
        debuginfo: Debuginfo::None,
        codegen_units: knobs.codegen_units.max(16),
        lto: if knobs.lto == Lto::Fat {
            Lto::Thin
        } else {
            knobs.lto
        },
        ..*knobs
    }
}

/// The most jobs (at most the current number) whose estimate stays within the comfortable share
/// of `budget`, with `knobs` otherwise as given; at least 1.
pub(crate) fn safe_jobs(workload: &Workload, knobs: &Knobs, budget: u64) -> u32 {
    (1..=knobs.jobs)
        .rev()
        .find(|&jobs| {
            let e = estimate(workload, &Knobs { jobs, ..*knobs });
            e.compile as f64 <= budget as f64 * COMFORT
        })
        .unwrap_or(1)
}

/// Compares the estimate for `knobs` with `budget` (`None` = unknown) and `min_memory`.
pub(crate) fn assess(
    workload: &Workload,
    knobs: &Knobs,
    budget: Option<u64>,
    min_memory: Option<u64>,
) -> Assessment {
    let estimate = estimate(workload, knobs);
    let Some(budget) = budget else {
        return Assessment {
            estimate,
            tier: Tier::Ok,
            jobs_hint: knobs.jobs,
        };
    };
    let need = estimate.peak as f64;
    let tier = if min_memory.is_some_and(|min| budget < min) {
        Tier::Critical
    } else if need <= budget as f64 * COMFORT {
        Tier::Ok
    } else if need <= budget as f64 {
        Tier::Tight
    } else if model::estimate(workload, &leanest(knobs)).peak <= budget {
        Tier::Low
    } else {
        Tier::Critical
    };
    let jobs_hint = safe_jobs(workload, knobs, budget);
    Assessment {
        estimate,
        tier,
        jobs_hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::{GIB, MIB};

    fn dev_defaults(jobs: u32) -> Knobs {
        Knobs {
            jobs,
            debuginfo: Debuginfo::Full,
            codegen_units: 256,
            lto: Lto::Off,
            optimised: false,
            split_debuginfo: false,
        }
    }

    #[test]
    fn tiers_follow_the_budget() {
        let w = Workload::polars();
        let k = dev_defaults(2);
        assert_eq!(assess(&w, &k, Some(64 * GIB), None).tier, Tier::Ok);
        assert_eq!(assess(&w, &k, Some(4500 * MIB), None).tier, Tier::Tight);
        assert_eq!(assess(&w, &k, Some(3 * GIB), None).tier, Tier::Low);
        assert_eq!(assess(&w, &k, Some(512 * MIB), None).tier, Tier::Critical);
        assert_eq!(assess(&w, &k, None, None).tier, Tier::Ok);
        assert_eq!(
            assess(&w, &k, Some(64 * GIB), Some(128 * GIB)).tier,
            Tier::Critical
        );
    }

    #[test]
    fn safe_jobs_shrinks_with_the_budget() {
        let w = Workload::polars();
        let lean = Knobs {
            debuginfo: Debuginfo::None,
            ..dev_defaults(8)
        };
        assert_eq!(safe_jobs(&w, &lean, 64 * GIB), 8);
        let two = safe_jobs(&w, &lean, 3 * GIB);
        assert!((1..8).contains(&two), "{two}");
        assert_eq!(safe_jobs(&w, &lean, 512 * MIB), 1);
    }
}
