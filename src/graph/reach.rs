//! Which packages depend on which, transitively: one bit per ordered pair, computed once.

/// The transitive closure of a dependency graph as a bit matrix: row `a` has bit `b` set when
/// `a` depends on `b` through any chain of kept edges. n²/8 bytes (125 KB for 1,000 packages).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Reach {
    /// 64-bit words per row.
    words: usize,
    bits: Vec<u64>,
}

impl Reach {
    /// The closure of `deps` (`deps[a]` lists the packages `a` depends on directly).
    pub(crate) fn new(deps: &[Vec<usize>]) -> Reach {
        let count = deps.len();
        let words = count.div_ceil(64);
        let mut reach = Reach {
            words,
            bits: vec![0; words * count],
        };
        // Rows in post-order (dependencies before dependents) make one pass enough for an
        // acyclic graph; a cycle (through a root's dev-dependency) needs further passes until
        // nothing changes, at most as many as the longest cycle.
        let (order, cyclic) = post_order(deps);
        let mut changed = true;
        while changed {
            changed = false;
            for &a in &order {
                for &b in &deps[a] {
                    changed |= reach.absorb(a, b);
                }
            }
            changed &= cyclic;
        }
        reach
    }

    /// Sets in row `a` bit `b` and every bit of row `b`; whether row `a` changed.
    fn absorb(&mut self, a: usize, b: usize) -> bool {
        let mut changed = !self.get(a, b);
        self.bits[a * self.words + b / 64] |= 1 << (b % 64);
        if a == b {
            return changed;
        }
        let (row_a, row_b) = if a < b {
            let (low, high) = self.bits.split_at_mut(b * self.words);
            (
                &mut low[a * self.words..][..self.words],
                &high[..self.words],
            )
        } else {
            let (low, high) = self.bits.split_at_mut(a * self.words);
            (
                &mut high[..self.words],
                &low[b * self.words..][..self.words],
            )
        };
        for (x, y) in row_a.iter_mut().zip(row_b) {
            let merged = *x | *y;
            changed |= merged != *x;
            *x = merged;
        }
        changed
    }

    /// Whether `a` depends on `b`, directly or not.
    pub(crate) fn get(&self, a: usize, b: usize) -> bool {
        let word = self.bits.get(a * self.words + b / 64).copied().unwrap_or(0);
        b / 64 < self.words && word & (1 << (b % 64)) != 0
    }
}

/// The nodes in depth-first post-order from every node, without recursion, and whether an edge
/// led back to a node still on the stack (a cycle).
fn post_order(deps: &[Vec<usize>]) -> (Vec<usize>, bool) {
    let mut order = Vec::with_capacity(deps.len());
    let mut seen = vec![false; deps.len()];
    let mut on_stack = vec![false; deps.len()];
    let mut cyclic = false;
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for start in 0..deps.len() {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        on_stack[start] = true;
        stack.push((start, 0));
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            match deps[node].get(*next) {
                Some(&dep) => {
                    *next += 1;
                    if dep >= deps.len() {
                        continue;
                    }
                    cyclic |= on_stack[dep];
                    if !seen[dep] {
                        seen[dep] = true;
                        on_stack[dep] = true;
                        stack.push((dep, 0));
                    }
                }
                None => {
                    order.push(node);
                    on_stack[node] = false;
                    stack.pop();
                }
            }
        }
    }
    (order, cyclic)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closure by a plain search from each node, to compare with.
    fn naive(deps: &[Vec<usize>], a: usize, b: usize) -> bool {
        let mut seen = vec![false; deps.len()];
        let mut stack = deps[a].clone();
        while let Some(n) = stack.pop() {
            if n == b {
                return true;
            }
            if !seen[n] {
                seen[n] = true;
                stack.extend(&deps[n]);
            }
        }
        false
    }

    #[test]
    fn matches_a_plain_search_on_chains_diamonds_and_cycles() {
        // 0 -> 1 -> 2 -> 3, 0 -> 4 -> 3 (a diamond), 5 -> 6 -> 5 (a cycle), 7 alone, and a long
        // chain across word boundaries.
        let mut deps: Vec<Vec<usize>> = vec![
            vec![1, 4],
            vec![2],
            vec![3],
            vec![],
            vec![3],
            vec![6],
            vec![5, 0],
            vec![],
        ];
        for i in 8..200 {
            deps.push(vec![i - 1]);
        }
        deps[8].push(199); // a cycle through the whole chain
        let reach = Reach::new(&deps);
        for a in 0..deps.len() {
            for b in 0..deps.len() {
                assert_eq!(reach.get(a, b), naive(&deps, a, b), "{a} -> {b}");
            }
        }
        assert!(reach.get(6, 3) && !reach.get(3, 6) && reach.get(5, 5));
        assert!(post_order(&deps).1);
        assert!(!post_order(&deps[..5]).1, "0..5 is acyclic");
        assert!(!reach.get(0, 999) && !reach.get(999, 0));
        assert_eq!(Reach::new(&[]), Reach::default());
    }
}
