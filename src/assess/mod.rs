//! The assessment: the estimate against the budget, the tier, and the safe number of jobs.
//! Pure functions over plain data and the estimator of this build's graph.

mod advice;
mod split;

pub use advice::Advice;
pub(crate) use advice::{advise, LinkersOnPath};
#[cfg(test)]
pub(crate) use advice::{CODEGEN_UNITS_MEASURED, DEBUGINFO_MEASURED};
pub(crate) use split::split_plan;
pub use split::SplitPlan;

use crate::estimate::{Estimate, Estimator, Knobs};
use std::fmt;

/// How the memory compares with what the build needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Tier {
    /// The budget or the estimate could not be read (the report's diagnostics say why), so
    /// nothing is judged.
    Unknown,
    /// Fits with room to spare (estimate at most 85% of the budget).
    Ok,
    /// Fits, but with less than 15% to spare.
    Tight,
    /// Does not fit as configured; the leanest settings (debug 0, one job, at least 16 codegen
    /// units, no fat LTO) would fit.
    Low,
    /// Does not fit even with the leanest settings, or the budget is below
    /// `LOWMEM_BUILD_MIN_MEMORY`.
    Critical,
}

impl Tier {
    /// The name used in `LOWMEM_BUILD_TIER`: `unknown`, `ok`, `tight`, `low`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Unknown => "unknown",
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
pub(crate) const COMFORT: f64 = 0.85;

/// The verdict on one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assessment {
    pub(crate) estimate: Option<Estimate>,
    pub(crate) tier: Tier,
    pub(crate) jobs_hint: u32,
}

/// The most jobs (at most the current number) whose estimate stays within the comfortable share
/// of `budget`, with `knobs` otherwise as given; at least 1.
pub(crate) fn safe_jobs(estimator: &Estimator<'_>, knobs: &Knobs, budget: u64) -> u32 {
    (1..=knobs.jobs)
        .rev()
        .find(|&jobs| {
            let e = estimator.estimate(&Knobs { jobs, ..*knobs });
            e.peak as f64 <= budget as f64 * COMFORT
        })
        .unwrap_or(1)
}

/// Compares the estimate for `knobs` with `budget` (`None` = unknown) and `min_memory`. Without
/// an estimator (no graph) or a budget, nothing is known and the tier is `unknown` (unless the
/// budget is known to be below `min_memory`).
pub(crate) fn assess(
    estimator: Option<&Estimator<'_>>,
    knobs: &Knobs,
    budget: Option<u64>,
    min_memory: Option<u64>,
) -> Assessment {
    let estimate = estimator.map(|e| e.estimate(knobs));
    let below_minimum = matches!((budget, min_memory), (Some(b), Some(min)) if b < min);
    let (Some(estimator), Some(estimate), Some(budget)) = (estimator, &estimate, budget) else {
        return Assessment {
            estimate,
            tier: if below_minimum {
                Tier::Critical
            } else {
                Tier::Unknown
            },
            jobs_hint: knobs.jobs,
        };
    };
    let need = estimate.peak as f64;
    let tier = if below_minimum {
        Tier::Critical
    } else if need <= budget as f64 * COMFORT {
        Tier::Ok
    } else if need <= budget as f64 {
        Tier::Tight
    } else if estimator.estimate(&knobs.leanest()).peak <= budget {
        Tier::Low
    } else {
        Tier::Critical
    };
    let jobs_hint = safe_jobs(estimator, knobs, budget);
    Assessment {
        estimate: Some(estimate.clone()),
        tier,
        jobs_hint,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::estimate::tests::{dev_knobs, polars_like};
    use crate::size::{GIB, MIB};

    #[test]
    fn tiers_follow_the_budget() {
        let graph = polars_like();
        let e = Estimator::for_tests(&graph);
        let k = dev_knobs(2);
        let need = e.estimate(&k).peak;
        let tier = |budget: u64| assess(Some(&e), &k, Some(budget), None).tier;
        assert_eq!(tier(64 * GIB), Tier::Ok);
        assert_eq!(tier(need + need / 10), Tier::Tight);
        assert_eq!(tier(need - 1), Tier::Low);
        assert_eq!(tier(256 * MIB), Tier::Critical);
        assert_eq!(assess(Some(&e), &k, None, None).tier, Tier::Unknown);
        assert_eq!(assess(None, &k, Some(MIB), None).tier, Tier::Unknown);
        assert_eq!(assess(None, &k, Some(MIB), Some(GIB)).tier, Tier::Critical);
        assert_eq!(
            assess(Some(&e), &k, Some(64 * GIB), Some(128 * GIB)).tier,
            Tier::Critical
        );
    }

    #[test]
    fn safe_jobs_shrinks_with_the_budget() {
        let graph = polars_like();
        let e = Estimator::for_tests(&graph);
        let k = dev_knobs(8);
        assert_eq!(safe_jobs(&e, &k, 64 * GIB), 8);
        let one = e.estimate(&Knobs { jobs: 1, ..k }).peak;
        let two = e.estimate(&Knobs { jobs: 2, ..k }).peak;
        assert!(two > one, "a second job adds a crate beside the heaviest");
        assert_eq!(safe_jobs(&e, &k, (one as f64 / COMFORT) as u64 + MIB), 1);
        assert_eq!(safe_jobs(&e, &k, 256 * MIB), 1);
    }
}
