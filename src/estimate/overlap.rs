//! Which crates can be compiling at the same moment: the heaviest set of at most `jobs` units of
//! which none depends on another (cargo never runs a crate beside its own dependencies or
//! dependents). Pure: weights and a dependency test in, the set out.

/// Units weighed beyond this many are not searched exhaustively: the heaviest set almost always
/// lies among the heaviest units, and what is left of `jobs` is filled greedily from the rest.
const CANDIDATES: usize = 40;
/// A bound on the search, so that a large `jobs` on a graph of many similar units stays cheap.
const MAX_STEPS: u32 = 200_000;

/// The heaviest set of at most `jobs` units, no two `comparable`, as (total weight, indices
/// heaviest first). `comparable(a, b)` says whether one of the two depends on the other.
pub(crate) fn heaviest_overlap(
    weights: &[u64],
    comparable: &dyn Fn(usize, usize) -> bool,
    jobs: usize,
) -> (u64, Vec<usize>) {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].cmp(&weights[a]).then(a.cmp(&b)));
    let jobs = jobs.max(1);
    let candidates = &order[..order.len().min(CANDIDATES)];
    let mut search = Search {
        weights,
        comparable,
        candidates,
        jobs,
        best: (0, Vec::new()),
        steps: 0,
    };
    search.extend(0, &mut Vec::new(), 0);
    let (mut total, mut chosen) = search.best;
    for &unit in &order[candidates.len()..] {
        if chosen.len() >= jobs {
            break;
        }
        if chosen.iter().all(|&c| !comparable(c, unit)) {
            total += weights[unit];
            chosen.push(unit);
        }
    }
    (total, chosen)
}

struct Search<'a> {
    weights: &'a [u64],
    comparable: &'a dyn Fn(usize, usize) -> bool,
    candidates: &'a [usize],
    jobs: usize,
    best: (u64, Vec<usize>),
    steps: u32,
}

impl Search<'_> {
    /// Tries every way to add candidates from `from` on to `chosen` (weighing `total`).
    fn extend(&mut self, from: usize, chosen: &mut Vec<usize>, total: u64) {
        self.steps += 1;
        if total > self.best.0 || (total == self.best.0 && self.best.1.is_empty()) {
            self.best = (total, chosen.clone());
        }
        if chosen.len() == self.jobs || self.steps > MAX_STEPS {
            return;
        }
        for i in from..self.candidates.len() {
            let unit = self.candidates[i];
            // Candidates are heaviest first: no completion from here can beat the best.
            let room = (self.jobs - chosen.len()) as u64;
            if total + room * self.weights[unit] <= self.best.0 {
                return;
            }
            if chosen.iter().any(|&c| (self.comparable)(c, unit)) {
                continue;
            }
            chosen.push(unit);
            self.extend(i + 1, chosen, total + self.weights[unit]);
            chosen.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dependency matrix from edges (a depends on b), closed transitively.
    fn closure(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<bool>> {
        let mut m = vec![vec![false; n]; n];
        for &(a, b) in edges {
            m[a][b] = true;
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    if m[i][k] && m[k][j] {
                        m[i][j] = true;
                    }
                }
            }
        }
        m
    }

    #[test]
    fn a_crate_never_overlaps_its_dependencies() {
        // 0 (2000) depends on 1 (900), which depends on 2 (100); 3 (300) stands apart.
        let deps = closure(4, &[(0, 1), (1, 2)]);
        let comparable = |a: usize, b: usize| deps[a][b] || deps[b][a];
        let weights = [2000, 900, 100, 300];
        assert_eq!(heaviest_overlap(&weights, &comparable, 1), (2000, vec![0]));
        assert_eq!(
            heaviest_overlap(&weights, &comparable, 2),
            (2300, vec![0, 3])
        );
        assert_eq!(
            heaviest_overlap(&weights, &comparable, 8),
            (2300, vec![0, 3])
        );
    }

    #[test]
    fn the_heaviest_pair_may_skip_the_heaviest_crate() {
        // 0 (1000) depends on everything; 1 (800) and 2 (700) are independent.
        let deps = closure(4, &[(0, 1), (0, 2), (0, 3)]);
        let comparable = |a: usize, b: usize| deps[a][b] || deps[b][a];
        let weights = [1000, 800, 700, 10];
        assert_eq!(
            heaviest_overlap(&weights, &comparable, 2),
            (1500, vec![1, 2])
        );
        assert_eq!(
            heaviest_overlap(&weights, &comparable, 3),
            (1510, vec![1, 2, 3])
        );
        assert_eq!(heaviest_overlap(&[], &comparable, 2), (0, vec![]));
    }

    #[test]
    fn a_long_chain_of_heavy_crates_is_filled_from_the_light_ones() {
        // 50 heavy crates in one chain (none can overlap another), and two light loners.
        let n = 52;
        let edges: Vec<(usize, usize)> = (0..49).map(|i| (i, i + 1)).collect();
        let deps = closure(n, &edges);
        let comparable = |a: usize, b: usize| a < 50 && b < 50 || deps[a][b] || deps[b][a];
        let mut weights: Vec<u64> = (0..50).map(|i| 1000 - i as u64).collect();
        weights.extend([5, 3]);
        let (total, chosen) = heaviest_overlap(&weights, &comparable, 3);
        assert_eq!(chosen, vec![0, 50, 51]);
        assert_eq!(total, 1008);
    }
}
