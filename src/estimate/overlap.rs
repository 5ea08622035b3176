//! The build's heaviest moment: which crates compile beside the one at its peak, and how much of
//! each shows then. Pure: weights and how units relate in, the moment out.
//!
//! Measured (calibration/corpus): cargo starts a library's dependents as soon as its metadata
//! is written (pipelining), so they compile beside its code generation, where the peak of a large
//! crate is: polars-core's dependents polars-ops and polars-expr added 300-520 MiB to its
//! 1.2-1.8 GiB. Crates with no dependency between them seldom peak together (parquet's build
//! peaked 20 MiB above parquet alone). A crate never runs beside its own dependencies'
//! compilation otherwise, nor beside what needs its full artifact (proc-macros, build scripts,
//! binaries).

/// How unit `b` relates to unit `a` at `a`'s peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// `b` cannot run while `a` peaks: one depends on the other without pipelining.
    Apart,
    /// `b` depends on `a` only through libraries: cargo starts it beside `a`'s code generation.
    Pipelined,
    /// Neither depends on the other.
    Independent,
}

/// The share of a crate's own peak that shows at another's peak, by how the two relate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shares {
    pub(crate) pipelined: f64,
    pub(crate) independent: f64,
}

/// Units weighed as the one at its peak: the heaviest this many (a lighter unit with heavy
/// dependents can make a heavier moment, so more than one is tried).
const TOPS: usize = 12;

/// The heaviest moment of a build at `jobs`: for each of the heaviest units, its weight plus the
/// `jobs - 1` largest shares of the others that can run beside it. Returns the moment's weight
/// and its units, the one at its peak first (weights in any unit; the result in the same).
pub(crate) fn heaviest_moment(
    weights: &[u64],
    relation: &dyn Fn(usize, usize) -> Relation,
    jobs: usize,
    shares: Shares,
) -> (f64, Vec<usize>) {
    let heaviest_first: Vec<u64> = weights.iter().map(|&w| u64::MAX - w).collect();
    let order = crate::order::by_keys(&heaviest_first);
    let mut best = (0.0, Vec::new());
    for &top in order.iter().take(TOPS) {
        let beside: Vec<(f64, usize)> = order
            .iter()
            .filter(|&&other| other != top)
            .filter_map(|&other| {
                let share = match relation(top, other) {
                    Relation::Apart => return None,
                    Relation::Pipelined => shares.pipelined,
                    Relation::Independent => shares.independent,
                };
                Some((share * weights[other] as f64, other))
            })
            .collect();
        // Largest share first (to a 1/1024 KiB; ties in the order above).
        let largest_first: Vec<u64> = beside
            .iter()
            .map(|b| u64::MAX - (b.0 * 1024.0) as u64)
            .collect();
        let mut beside = crate::order::permute(beside, &crate::order::by_keys(&largest_first));
        beside.truncate(jobs.max(1) - 1);
        let total = weights[top] as f64 + beside.iter().map(|b| b.0).sum::<f64>();
        if total > best.0 || best.1.is_empty() {
            let mut units = vec![top];
            units.extend(beside.iter().map(|b| b.1));
            best = (total, units);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARES: Shares = Shares {
        pipelined: 0.8,
        independent: 0.1,
    };

    /// 0: a heavy library (1000); 1 and 2 its library dependents (500, 400); 3 a dependency of
    /// 0 (600); 4 an unrelated crate (300); 5 a binary that links 0 (200).
    fn relation(a: usize, b: usize) -> Relation {
        let pipelined = |x: usize, y: usize| (x == 0 && (y == 1 || y == 2)) || (x == 3 && y < 3);
        let apart = |x: usize, y: usize| (x == 0 && y == 3) || y == 5 && x != 4 || x == 5 && y != 4;
        if pipelined(a, b) {
            Relation::Pipelined
        } else if apart(a, b) || apart(b, a) || pipelined(b, a) {
            Relation::Apart
        } else {
            Relation::Independent
        }
    }

    const WEIGHTS: [u64; 6] = [1000, 500, 400, 600, 300, 200];

    #[test]
    fn one_job_is_the_heaviest_crate_alone() {
        assert_eq!(
            heaviest_moment(&WEIGHTS, &relation, 1, SHARES),
            (1000.0, vec![0])
        );
    }

    #[test]
    fn dependents_run_beside_a_library_independents_barely_count() {
        let (total, units) = heaviest_moment(&WEIGHTS, &relation, 2, SHARES);
        assert_eq!(units, vec![0, 1]);
        assert!((total - 1400.0).abs() < 1e-9);
        // With four jobs, 3 (600) with all three pipelined dependents makes the heavier moment:
        // 600 + 800 + 400 + 320 against 1000 + 400 + 320 + 30.
        let (total, units) = heaviest_moment(&WEIGHTS, &relation, 4, SHARES);
        assert_eq!(units, vec![3, 0, 1, 2]);
        assert!((total - 2120.0).abs() < 1e-9);
    }

    #[test]
    fn a_lighter_crate_with_heavy_company_can_make_the_moment() {
        let weights = [1000, 10, 10, 950, 10, 10];
        // 3 (950) has 0 (1000) as a pipelined dependent: 950 + 800 beats 1000 + 8.
        let (total, units) = heaviest_moment(&weights, &relation, 2, SHARES);
        assert_eq!(units, vec![3, 0]);
        assert!((total - 1750.0).abs() < 1e-9);
        assert_eq!(heaviest_moment(&[], &relation, 2, SHARES), (0.0, vec![]));
    }
}
