//! Size strings: nothing panics, whole and half units are exact, printed sizes parse back.

use super::*;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn size_never_panics_on_any_bytes(data in bytes()) {
        size(&data);
    }

    #[test]
    fn size_never_panics_on_number_like_text(
        text in soup(&["1", "0", "9", ".", "5", "e", "E", "-", "+", "G", "iB", "K", "inf", "NaN",
                       "18446744073709551616", "99999999999999999999"])
    ) {
        size(text.as_bytes());
    }

    /// `<n><unit>` is n times the unit, `None` exactly when that overflows, whatever the blanks.
    #[test]
    fn size_of_whole_units_is_exact(
        n in edgy_u64(),
        (unit, shift) in prop::sample::select(UNITS),
        gap in prop::sample::select(&["", " ", "\t"][..]),
    ) {
        let text = format!(" {n}{gap}{unit} ");
        prop_assert_eq!(size::parse_size(&text), n.checked_mul(1 << shift), "{:?}", text);
    }

    /// `<n>.5<unit>` is n and a half units, rounded half up to whole bytes.
    #[test]
    fn size_with_a_half_rounds_half_up(
        n in 0u64..1 << 20,
        (unit, shift) in prop::sample::select(UNITS),
    ) {
        let expected = if shift == 0 { n + 1 } else { (2 * n + 1) << (shift - 1) };
        prop_assert_eq!(size::parse_size(&format!("{n}.5{unit}")), Some(expected));
        prop_assert_eq!(size::parse_size(&format!("{n}.0{unit}")), Some(n << shift));
    }

    /// A printed size parses back within the rounding of the unit it is printed in.
    #[test]
    fn printed_sizes_parse_back_within_their_rounding(n in edgy_u64()) {
        shown_size_round_trips(n);
        size(n.to_string().as_bytes());
    }
}

const UNITS: &[(&str, u32)] = &[
    ("", 0),
    ("B", 0),
    ("k", 10),
    ("KB", 10),
    ("Ki", 10),
    ("KiB", 10),
    ("m", 20),
    ("MB", 20),
    ("MiB", 20),
    ("g", 30),
    ("G", 30),
    ("GiB", 30),
    ("gib", 30),
    ("T", 40),
    ("TiB", 40),
];
