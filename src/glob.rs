//! Wildcard patterns (`*` for any run of characters, `?` for one) for feature names and paths.

/// Whether `text` matches `pattern` as a whole. Greedy with one backtrack point, so it takes
/// O(len(pattern) * len(text)) at worst and never recurses.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was seen, and the text position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Whether `pattern` has any wildcard in it.
pub(crate) fn is_pattern(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("dtype-*", "dtype-full"));
        assert!(matches("dtype-*", "dtype-"));
        assert!(!matches("dtype-*", "dtype"));
        assert!(!matches("dtype-*", "xdtype-i8"));
        assert!(matches("*", ""));
        assert!(matches("*-i*", "dtype-i128"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("crates/?pp", "crates/app"));
        assert!(!matches("?", ""));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(matches("**x", "x"));
        assert!(matches("dtype-ü*", "dtype-üa"));
    }

    #[test]
    fn pattern_detection() {
        assert!(is_pattern("crates/*"));
        assert!(is_pattern("a?"));
        assert!(!is_pattern("crates/app"));
    }
}
