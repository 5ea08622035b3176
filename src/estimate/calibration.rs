//! The shipped table and size model are generated from the corpus in `calibration/corpus`
//! (measured by `scripts/calibrate`), never typed in: these tests regenerate them and fail when
//! `data/` differs. `LOWMEM_BUILD_REGENERATE=1 cargo test --lib calibration` rewrites `data/`.
//! Test-only code: nothing here is compiled into the library.

use super::Class;
use crate::store::{self, Record};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> PathBuf {
    repo().join("calibration/corpus")
}

/// One measured rustc run, with the build it was part of.
pub(crate) struct Measured {
    pub(crate) project: String,
    pub(crate) config: String,
    pub(crate) record: Record,
}

/// Every record of the corpus, by project and config (from the file names).
pub(crate) fn load_corpus() -> Vec<Measured> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus().join("units"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let Some((project, config)) = split_name(&name) else {
            continue;
        };
        for record in store::read(&file) {
            all.push(Measured {
                project: project.to_string(),
                config: config.to_string(),
                record,
            });
        }
    }
    all
}

/// `polars-min-dev-d2` is project `polars-min`, config `dev-d2`.
fn split_name(name: &str) -> Option<(&str, &str)> {
    ["-dev-d0", "-dev-lt", "-dev-d2", "-release"]
        .iter()
        .find_map(|c| name.strip_suffix(c).map(|p| (p, &c[1..])))
}

/// The settings class a record was compiled with, when it is one the table has.
pub(crate) fn class_of(r: &Record) -> Option<Class> {
    match (r.opt.as_str(), r.debuginfo.as_str()) {
        ("0", "0") => Some(Class::D0),
        ("0", "line-tables-only") => Some(Class::LineTables),
        ("0", "2") => Some(Class::Full),
        ("3", "0") => Some(Class::Release),
        _ => None,
    }
}

/// Whether a record is a crate the table describes: a library or proc-macro of a dependency
/// (not a calibration project's own crate, a build script or a test), compiled successfully.
pub(crate) fn tabled(m: &Measured) -> bool {
    let r = &m.record;
    r.succeeded()
        && r.emit == "link"
        && !r.package.starts_with("cal-")
        && matches!(r.kind.as_str(), "lib" | "rlib" | "proc-macro")
}

/// Feature variants of a crate whose peaks differ by less than this share, or by less than
/// [`SAME_PEAK_MIB`], are one row (with the larger figures).
const SAME_PEAK: f64 = 0.10;
const SAME_PEAK_MIB: u64 = 32;

/// The text of `data/peaks.tsv` from the corpus.
pub(crate) fn table_text(corpus: &[Measured]) -> String {
    type Key = (String, String, String); // package, version, kind
    let mut cells: BTreeMap<Key, BTreeMap<String, ([u64; 4], [u64; 4])>> = BTreeMap::new();
    for m in corpus.iter().filter(|m| tabled(m)) {
        let r = &m.record;
        let Some(class) = class_of(r) else { continue };
        let kind = if r.kind == "proc-macro" { "proc-macro" } else { "lib" };
        let key = (r.package.clone(), r.version.clone(), kind.to_string());
        let variant = cells
            .entry(key)
            .or_default()
            .entry(r.features.clone())
            .or_insert(([0; 4], [0; 4]));
        let i = class.index();
        variant.0[i] = variant.0[i].max(r.anon_kib.div_ceil(1024));
        variant.1[i] = variant.1[i].max(r.out_kib);
    }
    let mut projects: Vec<&str> = corpus.iter().map(|m| m.project.as_str()).collect();
    projects.sort_unstable();
    projects.dedup();
    let mut text = format!(
        "# lowmem_build peak table 1, generated from calibration/corpus (projects: {}) by `LOWMEM_BUILD_REGENERATE=1 cargo test --lib calibration`; do not edit\n\
         # package\tversion\tfeatures\tkind\td0\tlt\td2\trelease\tout_d0\tout_lt\tout_d2\tout_release  (anonymous peak MiB; artifact KiB)\n",
        projects.join(", ")
    );
    let cell = |n: u64| if n == 0 { "-".to_string() } else { n.to_string() };
    for ((package, version, kind), variants) in cells {
        let differ = (0..4).any(|i| {
            let peaks: Vec<u64> = variants.values().map(|v| v.0[i]).filter(|&p| p > 0).collect();
            let (lo, hi) = (peaks.iter().min(), peaks.iter().max());
            matches!((lo, hi), (Some(&lo), Some(&hi)) if hi - lo > SAME_PEAK_MIB && (hi - lo) as f64 > SAME_PEAK * hi as f64)
        });
        let rows: Vec<(String, ([u64; 4], [u64; 4]))> = if differ {
            variants
                .into_iter()
                .map(|(f, v)| (if f.is_empty() { "-".into() } else { f }, v))
                .collect()
        } else {
            let mut merged = ([0; 4], [0; 4]);
            for v in variants.values() {
                for i in 0..4 {
                    merged.0[i] = merged.0[i].max(v.0[i]);
                    merged.1[i] = merged.1[i].max(v.1[i]);
                }
            }
            vec![("*".to_string(), merged)]
        };
        for (features, (peaks, outs)) in rows {
            text.push_str(&format!(
                "{package}\t{version}\t{features}\t{kind}\t{}\t{}\n",
                peaks.map(cell).join("\t"),
                outs.map(cell).join("\t")
            ));
        }
    }
    text
}

/// Compares `generated` with the file at `path` (relative to the repository), or rewrites the
/// file when `LOWMEM_BUILD_REGENERATE=1`.
pub(crate) fn check_generated(path: &str, generated: &str) {
    let file = repo().join(path);
    if std::env::var_os("LOWMEM_BUILD_REGENERATE").is_some_and(|v| v == "1") {
        std::fs::write(&file, generated).unwrap();
        return;
    }
    let shipped = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        shipped == generated,
        "{path} is not what calibration/corpus gives; run `LOWMEM_BUILD_REGENERATE=1 cargo test --lib calibration` and commit the result"
    );
}

#[test]
fn the_shipped_table_is_generated_from_the_corpus() {
    let corpus = load_corpus();
    assert!(!corpus.is_empty(), "calibration/corpus/units is empty");
    check_generated("data/peaks.tsv", &table_text(&corpus));
}

#[test]
fn corpus_file_names_give_project_and_config() {
    assert_eq!(split_name("polars-min-dev-d2"), Some(("polars-min", "dev-d2")));
    assert_eq!(split_name("web-release"), Some(("web", "release")));
    assert_eq!(split_name("odd"), None);
}
