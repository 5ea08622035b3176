//! Orders by a key through two sort instantiations for the whole crate. Each distinct
//! `sort_by` closure is another copy of the standard library's stable sort, about 2,900 lines of
//! LLVM IR at opt-level 0 (measured with `cargo llvm-lines`), and this crate is compiled on the
//! very machines that are short of memory.

/// The indices of `keys` in ascending order of key, ties in index order (as a stable sort).
pub(crate) fn by_keys(keys: &[u64]) -> Vec<usize> {
    let mut keyed: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The indices of `keys` in ascending order of key, ties in index order (as a stable sort).
pub(crate) fn by_str_keys(keys: &[&str]) -> Vec<usize> {
    let mut keyed: Vec<(&str, usize)> = keys.iter().copied().zip(0..).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// `items` in the order of `order` (a permutation of their indices).
pub(crate) fn permute<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_keep_index_order_as_a_stable_sort_would() {
        assert_eq!(by_keys(&[3, 1, 3, 0, 1]), vec![3, 1, 4, 0, 2]);
        assert_eq!(by_str_keys(&["b", "a", "b", "a"]), vec![1, 3, 0, 2]);
        assert_eq!(by_keys(&[]), Vec::<usize>::new());
        assert_eq!(
            permute(vec!['x', 'y', 'z'], &[2, 0, 1]),
            vec!['z', 'x', 'y']
        );
    }
}
