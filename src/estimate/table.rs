//! The table shipped in the crate: peaks of crates measured on a calibration machine, by
//! settings, generated from `calibration/corpus` (never typed in). Parsed on demand from the
//! text compiled into the library.
//!
//! Format (`data/peaks.tsv`): `#` lines are comments; each other line is
//! `package  version  features  kind  d0  lt  d2  release  out_d0  out_lt  out_d2  out_release`,
//! tab-separated: the anonymous peak in MiB of rustc compiling the crate in a dev build with
//! `debug = 0`, `"line-tables-only"` and `2`, and in a release build (opt-level 3, debug 0),
//! then the size of the artifact written in KiB (the link's inputs), `-` where not measured.
//! `features` is `*` when the crate's peak did not depend on its features in the corpus, else
//! the feature list it was measured with (rows for the same crate then differ by features).

use super::Class;

/// The shipped table's text.
pub(crate) const SHIPPED: &str = include_str!("../../data/peaks.tsv");

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row<'a> {
    pub(crate) package: &'a str,
    pub(crate) version: &'a str,
    /// `None` for `*` (any features).
    pub(crate) features: Option<Vec<&'a str>>,
    pub(crate) kind: &'a str,
    /// Anonymous peak, MiB, by [`Class`] index.
    pub(crate) peak_mib: [Option<u32>; 4],
    /// Artifact size, KiB, by [`Class`] index.
    pub(crate) out_kib: [Option<u64>; 4],
}

/// Reads the table's rows, sorted by package (the shipped table already is); malformed lines
/// are skipped.
pub(crate) fn rows(text: &str) -> Vec<Row<'_>> {
    let rows: Vec<Row<'_>> = text.lines().filter_map(row).collect();
    let packages: Vec<&str> = rows.iter().map(|r| r.package).collect();
    crate::order::permute(rows, &crate::order::by_str_keys(&packages))
}

fn row(line: &str) -> Option<Row<'_>> {
    if line.starts_with('#') {
        return None;
    }
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() < 12 {
        return None;
    }
    let num = |s: &str| s.parse::<u64>().ok();
    Some(Row {
        package: f[0],
        version: f[1],
        features: (f[2] != "*").then(|| f[2].split(',').filter(|s| !s.is_empty()).collect()),
        kind: f[3],
        peak_mib: [4, 5, 6, 7].map(|i| num(f[i]).map(|n| n as u32)),
        out_kib: [8, 9, 10, 11].map(|i| num(f[i])),
    })
}

/// Whether `wanted` is semver-compatible with the measured `version` (same major, or same
/// minor below 1.0, or same patch below 0.1).
pub(crate) fn compatible(measured: &str, wanted: &str) -> bool {
    // Without allocating: this runs for every row of every package of the graph.
    fn parts(v: &str) -> Option<[u64; 3]> {
        let core = v.split(['-', '+']).next()?;
        let mut out = [0u64; 3];
        let mut fields = core.split('.');
        for slot in &mut out {
            *slot = fields.next()?.parse().ok()?;
        }
        Some(out)
    }
    let (Some(a), Some(b)) = (parts(measured), parts(wanted)) else {
        return measured == wanted;
    };
    match (a[0], a[1]) {
        (0, 0) => a == b,
        (0, _) => a[..2] == b[..2],
        _ => a[0] == b[0],
    }
}

/// What the table says of one crate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// Anonymous peak, MiB.
    pub(crate) peak_mib: u32,
    /// The artifact's size, KiB, when measured.
    pub(crate) out_kib: Option<u64>,
    /// The version measured.
    pub(crate) version: String,
    /// Whether the row was chosen without knowing the build's features (the largest of the
    /// rows measured with different features).
    pub(crate) features_unknown: bool,
}

/// The table's figure for `package` at `version` built with `class`, choosing among rows
/// measured with different features the one closest to `features` (when known), else the
/// largest. Exact versions are preferred to merely compatible ones.
pub(crate) fn lookup(
    rows: &[Row<'_>],
    package: &str,
    version: &str,
    features: Option<&[String]>,
    class: Class,
) -> Option<Found> {
    // `rows` is sorted by package: a binary search finds its rows.
    let start = rows.partition_point(|r| r.package < package);
    let matching: Vec<&Row<'_>> = rows[start..]
        .iter()
        .take_while(|r| r.package == package)
        .filter(|r| compatible(r.version, version))
        .collect();
    let exact: Vec<&Row<'_>> = matching
        .iter()
        .copied()
        .filter(|r| r.version == version)
        .collect();
    let candidates = if exact.is_empty() { matching } else { exact };
    let i = class.index();
    let with_cell = || {
        candidates
            .iter()
            .copied()
            .filter(|r| r.peak_mib[i].is_some())
    };
    let by_features = |r: &&Row<'_>| match (&r.features, features) {
        (None, _) => 1.0,
        (Some(measured), Some(wanted)) => similarity(measured, wanted),
        (Some(_), None) => 0.0,
    };
    let split = with_cell().any(|r| r.features.is_some());
    let chosen = match features {
        Some(_) if split => with_cell().max_by(|a, b| by_features(a).total_cmp(&by_features(b))),
        _ => with_cell().max_by_key(|r| r.peak_mib[i]),
    }?;
    Some(Found {
        peak_mib: chosen.peak_mib[i]?,
        out_kib: chosen.out_kib[i],
        version: chosen.version.to_string(),
        features_unknown: split && features.is_none(),
    })
}

/// Jaccard similarity of two feature sets.
fn similarity(measured: &[&str], wanted: &[String]) -> f64 {
    let shared = wanted
        .iter()
        .filter(|w| measured.contains(&w.as_str()))
        .count();
    let union = measured.len() + wanted.len() - shared;
    if union == 0 {
        1.0
    } else {
        shared as f64 / union as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "# comment\n\
        tokio\t1.54.1\t*\tlib\t296\t296\t297\t310\t14000\t17000\t20000\t9000\n\
        polars-core\t0.55.2\tdtype-date,lazy\tlib\t1400\t1600\t2000\t1700\t-\t-\t-\t-\n\
        polars-core\t0.55.2\tdtype-date,dtype-full,lazy\tlib\t1700\t1900\t2400\t2000\t-\t-\t-\t-\n\
        short\tline\n";

    #[test]
    fn rows_parse_and_bad_lines_are_skipped() {
        let rows = rows(TABLE);
        assert_eq!(rows.len(), 3);
        // Sorted by package for the binary search.
        let names: Vec<&str> = rows.iter().map(|r| r.package).collect();
        assert_eq!(names, ["polars-core", "polars-core", "tokio"]);
        assert_eq!(
            rows[2].peak_mib,
            [Some(296), Some(296), Some(297), Some(310)]
        );
        assert_eq!(rows[0].out_kib, [None; 4]);
        assert_eq!(rows[1].features.as_ref().unwrap().len(), 3);
    }

    #[test]
    fn versions_match_when_compatible() {
        assert!(compatible("1.54.1", "1.40.0"));
        assert!(!compatible("1.54.1", "2.0.0"));
        assert!(compatible("0.55.2", "0.55.9"));
        assert!(!compatible("0.55.2", "0.56.0"));
        assert!(!compatible("0.0.3", "0.0.4"));
        assert!(compatible("1.0.0-rc.1", "1.2.0"));
        assert!(!compatible("garbage", "1.0.0"));
    }

    #[test]
    fn features_pick_the_row_and_unknown_features_take_the_largest() {
        let rows = rows(TABLE);
        let min = ["dtype-date".to_string(), "lazy".to_string()];
        let found = lookup(&rows, "polars-core", "0.55.2", Some(&min), Class::Full).unwrap();
        assert_eq!((found.peak_mib, found.features_unknown), (2000, false));
        let found = lookup(&rows, "polars-core", "0.55.2", None, Class::Full).unwrap();
        assert_eq!((found.peak_mib, found.features_unknown), (2400, true));
        let found = lookup(&rows, "tokio", "1.48.0", None, Class::Release).unwrap();
        assert_eq!((found.peak_mib, found.out_kib), (310, Some(9000)));
        assert!(!found.features_unknown);
        assert_eq!(lookup(&rows, "tokio", "2.0.0", None, Class::D0), None);
        assert_eq!(lookup(&rows, "absent", "1.0.0", None, Class::D0), None);
    }

    #[test]
    fn the_shipped_table_reads() {
        let rows = rows(SHIPPED);
        assert!(rows.len() >= 100, "{} rows", rows.len());
        assert_eq!(
            SHIPPED.lines().filter(|l| !l.starts_with('#')).count(),
            rows.len(),
            "every line of the shipped table is a row"
        );
    }
}
