//! Memory sizes: parsing the forms users write (`2GiB`, `1.5G`, `1536MiB`, bytes) and printing them.

use std::fmt;

/// One mebibyte.
pub(crate) const MIB: u64 = 1024 * 1024;
/// One gibibyte.
pub(crate) const GIB: u64 = 1024 * MIB;

/// The forms a size may take, for error messages.
pub(crate) const ACCEPTED_FORMS: &str =
    "a number of bytes or a number with a unit: K, M, G, T (binary), e.g. 2GiB, 1.5G, 1536MiB, 1536M";

/// Parses a size such as `2GiB`, `1.5G`, `1536MiB`, `1536M`, `512k` or `1073741824` into bytes.
///
/// Units are binary (`G` and `GiB` both mean 2^30); `B` may follow a unit or stand alone. Returns
/// `None` for anything else, for negative, non-finite or overflowing values.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "ki" | "kib" => 10,
        "m" | "mb" | "mi" | "mib" => 20,
        "g" | "gb" | "gi" | "gib" => 30,
        "t" | "tb" | "ti" | "tib" => 40,
        _ => return None,
    };
    match number.split_once('.') {
        None => number.parse::<u64>().ok()?.checked_mul(1u64 << shift),
        Some((_, fraction)) => {
            if fraction.contains('.') {
                return None;
            }
            let value: f64 = number.parse().ok()?;
            let bytes = value * (1u64 << shift) as f64;
            // 2^64 is exactly representable; anything at or above it overflows u64.
            if !bytes.is_finite() || bytes >= 18_446_744_073_709_551_616.0 {
                return None;
            }
            Some(bytes.round() as u64)
        }
    }
}

/// A byte count shown the way people read memory: `512 MiB`, `2.0 GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bytes(pub(crate) u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        if bytes >= GIB {
            write!(f, "{:.1} GiB", bytes as f64 / GIB as f64)
        } else if bytes >= MIB {
            write!(f, "{} MiB", (bytes + MIB / 2) / MIB)
        } else if bytes >= 1024 {
            write!(f, "{} KiB", (bytes + 512) / 1024)
        } else {
            write!(f, "{} B", bytes)
        }
    }
}

/// Whole mebibytes, rounded to nearest.
pub(crate) fn to_mib(bytes: u64) -> u64 {
    bytes / MIB + u64::from(bytes % MIB >= MIB / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse_size("2GiB"), Some(2 * GIB));
        assert_eq!(parse_size("1.5G"), Some(3 * GIB / 2));
        assert_eq!(parse_size("1536MiB"), Some(1536 * MIB));
        assert_eq!(parse_size("1536M"), Some(1536 * MIB));
        assert_eq!(parse_size("1073741824"), Some(GIB));
        assert_eq!(parse_size(" 512 kb "), Some(512 * 1024));
        assert_eq!(parse_size("1T"), Some(1024 * GIB));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("100B"), Some(100));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "abc",
            "-1",
            "1e99GiB",
            "18446744073709551616",
            "16777216T",
            "1.2.3G",
            ".5G",
            "5.G",
            "2 GiBs",
            "G",
            "NaN",
            "inf",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn displays_in_readable_units() {
        assert_eq!(Bytes(2 * GIB).to_string(), "2.0 GiB");
        assert_eq!(Bytes(1536 * MIB).to_string(), "1.5 GiB");
        assert_eq!(Bytes(512 * MIB).to_string(), "512 MiB");
        assert_eq!(Bytes(2048).to_string(), "2 KiB");
        assert_eq!(Bytes(12).to_string(), "12 B");
        assert_eq!(to_mib(1536 * MIB + 1), 1536);
    }
}
