//! The split build: when one crate is the problem, build it alone first, then the rest with
//! the usual jobs. Pure: the estimator in, a copy-paste plan out.

use super::COMFORT;
use crate::estimate::{Estimator, Knobs};
use std::fmt;

/// Two commands that build the same thing as one `cargo build`, with less at the peak: the
/// heavy crate (and what it depends on) one job at a time, then everything else with the usual
/// jobs. Cargo reuses the first build's artifacts (`-p` builds a dependency with the features
/// the workspace resolves for it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitPlan {
    /// The heavy package.
    pub heavy: String,
    /// The first command: `cargo build -j 1 -p <heavy>` (with the profile's flag).
    pub first: String,
    /// The estimated need of the first command, bytes.
    pub first_peak: u64,
    /// The second command: the build itself with the jobs that fit after the split.
    pub then: String,
    /// The estimated need of the second command, bytes.
    pub then_peak: u64,
    /// The jobs of the second command.
    pub jobs: u32,
}

impl fmt::Display for SplitPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "build {} alone first: `{}` (est. {}), then `{}` (est. {})",
            self.heavy,
            self.first,
            crate::size::Bytes(self.first_peak),
            self.then,
            crate::size::Bytes(self.then_peak)
        )
    }
}

/// The split plan for the heaviest crate, when the build as configured does not fit `budget`
/// but both halves of the split do, and the split lets the rest run with more jobs than the
/// whole build could. `profile_flag` is `--release`, `--profile NAME` or empty.
pub(crate) fn split_plan(
    estimator: &Estimator<'_>,
    knobs: &Knobs,
    budget: u64,
    profile_flag: &str,
) -> Option<SplitPlan> {
    let comfortable = budget as f64 * COMFORT;
    let whole = estimator.estimate(knobs);
    if whole.peak as f64 <= comfortable {
        return None;
    }
    let heavy = whole.heaviest.first()?;
    if heavy.link {
        return None;
    }
    let index = estimator.package_index(&heavy.name, &heavy.version)?;
    let first = estimator.estimate_within(&Knobs { jobs: 1, ..*knobs }, Some(index), false);
    if first.peak as f64 > comfortable {
        return None;
    }
    // The rest with the most jobs that fit (at most the jobs in effect).
    let (jobs, then) = (1..=knobs.jobs).rev().find_map(|jobs| {
        let rest = estimator.estimate_within(&Knobs { jobs, ..*knobs }, Some(index), true);
        (rest.peak as f64 <= comfortable).then_some((jobs, rest))
    })?;
    let whole_jobs = (1..=knobs.jobs)
        .rev()
        .find(|&j| estimator.estimate(&Knobs { jobs: j, ..*knobs }).peak as f64 <= comfortable)
        .unwrap_or(0);
    if jobs <= whole_jobs {
        return None;
    }
    let flag = if profile_flag.is_empty() {
        String::new()
    } else {
        format!(" {profile_flag}")
    };
    Some(SplitPlan {
        heavy: heavy.name.clone(),
        first: format!("cargo build{flag} -j 1 -p {}", heavy.name),
        first_peak: first.peak,
        then: format!("cargo build{flag} -j {jobs}"),
        then_peak: then.peak,
        jobs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::tests::{dev_knobs, polars_like};
    use crate::size::MIB;

    /// polars-like at debug 2: polars-core (2000) with its pipelined dependent polars-ops beside
    /// it needs 2740 at two jobs, 2020 alone. At 2700 MiB (85%: 2295) the whole build fits only
    /// at one job; split, polars-core alone fits and the rest fits at two.
    #[test]
    fn the_heavy_crate_alone_first_then_the_rest_with_more_jobs() {
        let graph = polars_like();
        let e = Estimator::for_tests(&graph);
        let plan = split_plan(&e, &dev_knobs(2), 2700 * MIB, "--release").expect("a split plan");
        assert_eq!(plan.heavy, "polars-core");
        assert_eq!(plan.first, "cargo build --release -j 1 -p polars-core");
        assert_eq!(
            (plan.jobs, plan.then.as_str()),
            (2, "cargo build --release -j 2")
        );
        assert!(plan.first_peak < 2700 * MIB && plan.then_peak < plan.first_peak);
        assert!(plan.to_string().starts_with(
            "build polars-core alone first: `cargo build --release -j 1 -p polars-core`"
        ));
        // Memory for everything: no plan; too little for polars-core alone: no plan either.
        assert_eq!(split_plan(&e, &dev_knobs(2), 64 * 1024 * MIB, ""), None);
        assert_eq!(split_plan(&e, &dev_knobs(2), 1024 * MIB, ""), None);
        // One job asked: splitting cannot give more.
        assert_eq!(split_plan(&e, &dev_knobs(1), 2700 * MIB, ""), None);
    }
}
