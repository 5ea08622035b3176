//! Whether a locked version meets a manifest's version requirement (`^1.2`, `~0.3`, `=1.0.5`,
//! `>=0.31, <0.39`, `1.*`), to tell apart two declarations of one package.

/// Whether `version` meets `req`, by cargo's rules for the numeric parts (pre-release tags are
/// compared as absent). `None` when the requirement cannot be read: the caller then treats the
/// declaration as matching.
pub(crate) fn matches(req: &str, version: &str) -> Option<bool> {
    let version = parse_version(version)?;
    let mut all = true;
    for comparator in req.split(',') {
        all &= comparator_matches(comparator.trim(), version)?;
    }
    Some(all)
}

/// A version's major, minor and patch.
type Version = [u64; 3];

/// `1.2.3`, with any `-pre` or `+build` cut off.
fn parse_version(text: &str) -> Option<Version> {
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let version = [parts.next()??, parts.next()??, parts.next()??];
    parts.next().is_none().then_some(version)
}

/// One comparator: an operator and a partial version (`1`, `1.2`, `1.2.3`, `1.*`, `*`).
fn comparator_matches(text: &str, version: Version) -> Option<bool> {
    let (op, rest) = match text.as_bytes() {
        [b'>', b'=', ..] => (">=", &text[2..]),
        [b'<', b'=', ..] => ("<=", &text[2..]),
        [b'>', ..] => (">", &text[1..]),
        [b'<', ..] => ("<", &text[1..]),
        [b'=', ..] => ("=", &text[1..]),
        [b'~', ..] => ("~", &text[1..]),
        [b'^', ..] => ("^", &text[1..]),
        // A bare version is a caret one, a bare wildcard (`1.2.*`) an exact one.
        _ if text.contains(['*', 'x', 'X']) => ("=", text),
        _ => ("^", text),
    };
    let rest = rest.trim();
    let core = rest.split(['-', '+']).next()?;
    // The given numeric parts; a wildcard ends them.
    let mut given: Vec<u64> = Vec::with_capacity(3);
    for part in core.split('.') {
        match part {
            "*" | "x" | "X" => break,
            number => given.push(number.parse().ok()?),
        }
    }
    if given.len() > 3 || (given.is_empty() && !matches!(core, "*" | "x" | "X")) {
        return None;
    }
    let wildcard = given.len() < 3;
    let mut low = [0u64; 3];
    low[..given.len()].copy_from_slice(&given);
    // The first version past those the partial version covers (`1.2` covers 1.2.*).
    let bump = |at: usize| -> Option<Version> {
        let mut high = [0u64; 3];
        high[..at].copy_from_slice(&low[..at]);
        high[at - 1] = high[at - 1].checked_add(1)?;
        Some(high)
    };
    let within =
        |low: Version, high: Option<Version>| version >= low && high.map_or(true, |h| version < h);
    Some(match op {
        "=" if wildcard => given.is_empty() || within(low, bump(given.len())),
        "=" => version == low,
        ">" if wildcard => given.is_empty() || bump(given.len()).is_some_and(|h| version >= h),
        ">" => version > low,
        ">=" => version >= low,
        "<" => version < low,
        "<=" if wildcard => given.is_empty() || within([0; 3], bump(given.len())),
        "<=" => version <= low,
        "~" => match given.len() {
            0 => true,
            1 => within(low, bump(1)),
            _ => within(low, bump(2)),
        },
        // Caret, and a bare version: the leftmost non-zero part may not change.
        _ => {
            if given.is_empty() {
                true
            } else {
                let first_nonzero = given.iter().position(|&p| p != 0);
                let at = match first_nonzero {
                    Some(at) => at + 1,
                    None => given.len(),
                };
                within(low, bump(at))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn cargo_requirements() {
        for (req, yes, no) in [
            ("1", &["1.0.0", "1.9.3"][..], &["0.9.9", "2.0.0"][..]),
            ("^1.2", &["1.2.0", "1.99.0"], &["1.1.9", "2.0.0"]),
            ("0.2", &["0.2.0", "0.2.191"], &["0.3.0", "0.1.9"]),
            ("^0.0.3", &["0.0.3"], &["0.0.4", "0.0.2"]),
            ("0.0", &["0.0.7"], &["0.1.0"]),
            ("~1.2", &["1.2.0", "1.2.9"], &["1.3.0"]),
            ("~1", &["1.0.0", "1.5.0"], &["2.0.0"]),
            ("=1.0.5", &["1.0.5", "1.0.5-beta"], &["1.0.6"]),
            ("=0.55.2", &["0.55.2"], &["0.55.3"]),
            ("=1.2", &["1.2.0", "1.2.7"], &["1.3.0"]),
            (
                ">=0.31, <0.39",
                &["0.31.0", "0.38.9"],
                &["0.30.9", "0.39.0"],
            ),
            ("> 1.2", &["1.3.0"], &["1.2.9"]),
            ("<= 1.2", &["1.2.9", "0.1.0"], &["1.3.0"]),
            ("1.*", &["1.0.0", "1.8.0"], &["2.0.0"]),
            ("*", &["0.0.1", "9.9.9"], &[]),
            ("1.2.x", &["1.2.3"], &["1.3.0"]),
        ] {
            for v in yes {
                assert_eq!(matches(req, v), Some(true), "{req} {v}");
            }
            for v in no {
                assert_eq!(matches(req, v), Some(false), "{req} {v}");
            }
        }
        for unreadable in ["", "latest", "1.2.3.4", ">=", "^a.b"] {
            assert_eq!(matches(unreadable, "1.0.0"), None, "{unreadable}");
        }
        assert_eq!(matches("1", "not a version"), None);
    }
}
