//! Property tests: the fuzz entry points on generated input, and what each parser must read out
//! of input generated in its own format. Arbitrary text finds panics near the surface; the
//! near-valid generators reach the code behind the first check.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;

mod features;
mod graph;
mod probe;
mod profiles;
mod settings;
mod sizes;

/// Cases per property: the whole suite stays within a few seconds of a debug `cargo test`.
const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text made of `pieces` and any characters, so that arbitrary input still hits the tokens a
/// parser branches on.
fn soup(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(pieces).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
        1 => prop::sample::select(&["\n", " ", "\t", "\r\n", "\0", "\\"][..]).prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|parts| parts.concat())
}

/// Any bytes, valid UTF-8 or not.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..256)
}

/// A name made of the characters names are made of.
fn name(max: usize) -> impl Strategy<Value = String> {
    let chars = prop::sample::select(&['a', 'b', 'c', 'x', 'y', '-', '_', '0', '1'][..]);
    (
        prop::sample::select(&['a', 'b', 'p', 'x'][..]),
        prop::collection::vec(chars, 0..max),
    )
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect())
}

/// Sizes near the edges the printing switches units at, and near `u64::MAX`.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (0u32..64, -2048i64..2048)
            .prop_map(|(shift, delta)| (1u64 << shift).checked_add_signed(delta).unwrap_or(0)),
        (0u64..1 << 32).prop_map(|below| u64::MAX - below),
    ]
}

/// The NUL split gives each entry point its texts, the last taking the rest.
#[test]
fn parts_split_at_nul() {
    assert_eq!(parts::<2>("a\0b\0c"), ["a", "b\0c"]);
    assert_eq!(parts::<3>("a"), ["a", "", ""]);
    assert_eq!(parts::<1>("a\0b"), ["a\0b"]);
}
