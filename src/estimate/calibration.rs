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
/// Peaks (MiB) and artifacts (KiB) by class.
type Figures = ([u64; 4], [u64; 4]);
/// Package, version and kind to the figures of each feature set.
type Cells = BTreeMap<(String, String, String), BTreeMap<String, Figures>>;

pub(crate) fn table_text(corpus: &[Measured]) -> String {
    let mut cells: Cells = BTreeMap::new();
    for m in corpus.iter().filter(|m| tabled(m)) {
        let r = &m.record;
        let Some(class) = super::record_class(r) else {
            continue;
        };
        let kind = if r.kind == "proc-macro" {
            "proc-macro"
        } else {
            "lib"
        };
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
    let ratios = fill_ratios(&cells);
    let mut text = format!(
        "# lowmem_build peak table 1, generated from calibration/corpus (projects: {}) by `LOWMEM_BUILD_REGENERATE=1 cargo test --lib calibration`; do not edit\n\
         # package\tversion\tfeatures\tkind\td0\tlt\td2\trelease\tout_d0\tout_lt\tout_d2\tout_release  (anonymous peak MiB; artifact KiB)\n\
         # A crate measured with debug 0 and 2 but not with line tables or in release (projects built only so) has those cells derived by the corpus's median ratios: lt = d0 + {:.2} (d2 - d0), release = {:.2} d0 (artifacts: {:.2} and {:.2})\n",
        projects.join(", "),
        ratios[0],
        ratios[1],
        ratios[2],
        ratios[3],
    );
    let cell = |n: u64| {
        if n == 0 {
            "-".to_string()
        } else {
            n.to_string()
        }
    };
    for ((package, version, kind), variants) in cells {
        let differ = (0..4).any(|i| {
            let peaks: Vec<u64> = variants.values().map(|v| v.0[i]).filter(|&p| p > 0).collect();
            let (lo, hi) = (peaks.iter().min(), peaks.iter().max());
            matches!((lo, hi), (Some(&lo), Some(&hi)) if hi - lo > SAME_PEAK_MIB && (hi - lo) as f64 > SAME_PEAK * hi as f64)
        });
        let rows: Vec<(String, Figures)> = if differ {
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
        for (features, (mut peaks, mut outs)) in rows {
            fill(&mut peaks, ratios[0], ratios[1]);
            fill(&mut outs, ratios[2], ratios[3]);
            text.push_str(&format!(
                "{package}\t{version}\t{features}\t{kind}\t{}\t{}\n",
                peaks.map(cell).join("\t"),
                outs.map(cell).join("\t")
            ));
        }
    }
    text
}

/// The corpus's median ratios for cells a row lacks, from rows that have all four: where line
/// tables sit between debug 0 and 2, and release over debug 0; for peaks, then artifacts.
fn fill_ratios(cells: &Cells) -> [f64; 4] {
    let mut between = [Vec::new(), Vec::new()];
    let mut release = [Vec::new(), Vec::new()];
    for variants in cells.values() {
        for v in variants.values() {
            for (k, figures) in [v.0, v.1].iter().enumerate() {
                let [d0, lt, d2, rel] = figures.map(|f| f as f64);
                if d0 > 0.0 && lt > 0.0 && d2 > d0 * 1.05 && rel > 0.0 {
                    between[k].push(((lt - d0) / (d2 - d0)).clamp(0.0, 1.0));
                    release[k].push(rel / d0);
                }
            }
        }
    }
    [
        quantile(&mut between[0], 0.5),
        quantile(&mut release[0], 0.5),
        quantile(&mut between[1], 0.5),
        quantile(&mut release[1], 0.5),
    ]
    .map(|r| {
        if r.is_finite() {
            (r * 100.0).round() / 100.0
        } else {
            1.0
        }
    })
}

/// Fills a row's missing line-tables and release cells from its debug 0 and 2 cells.
fn fill(figures: &mut [u64; 4], between: f64, release: f64) {
    let [d0, lt, d2, rel] = *figures;
    if d0 == 0 || d2 == 0 {
        return;
    }
    if lt == 0 {
        figures[1] = (d0 as f64 + between * d2.saturating_sub(d0) as f64).round() as u64;
    }
    if rel == 0 {
        figures[3] = (d0 as f64 * release).round() as u64;
    }
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
    assert_eq!(
        split_name("polars-min-dev-d2"),
        Some(("polars-min", "dev-d2"))
    );
    assert_eq!(split_name("web-release"), Some(("web", "release")));
    assert_eq!(split_name("odd"), None);
}

/// Least squares: the coefficients `w` minimising Σ (y − w·x)², by the normal equations
/// (Gaussian elimination with partial pivoting; the systems here are 2×2 and 3×3).
pub(crate) fn least_squares(xs: &[Vec<f64>], ys: &[f64]) -> Vec<f64> {
    let n = xs.first().map_or(0, Vec::len);
    let mut m = vec![vec![0.0; n + 1]; n];
    for (x, &y) in xs.iter().zip(ys) {
        for a in 0..n {
            for b in 0..n {
                m[a][b] += x[a] * x[b];
            }
            m[a][n] += x[a] * y;
        }
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
            .unwrap();
        m.swap(col, pivot);
        for row in 0..n {
            if row != col && m[col][col] != 0.0 {
                let factor = m[row][col] / m[col][col];
                let pivot_row = m[col].clone();
                for (cell, pivot) in m[row].iter_mut().zip(pivot_row).skip(col) {
                    *cell -= factor * pivot;
                }
            }
        }
    }
    (0..n)
        .map(|i| {
            if m[i][i] == 0.0 {
                0.0
            } else {
                m[i][n] / m[i][i]
            }
        })
        .collect()
}

#[test]
fn least_squares_recovers_a_plane() {
    let xs: Vec<Vec<f64>> = (0..20)
        .map(|i| vec![1.0, f64::from(i), f64::from(i * i % 7)])
        .collect();
    let ys: Vec<f64> = xs.iter().map(|x| 2.0 + 0.5 * x[1] - 3.0 * x[2]).collect();
    let w = least_squares(&xs, &ys);
    for (got, want) in w.iter().zip([2.0, 0.5, -3.0]) {
        assert!((got - want).abs() < 1e-9, "{w:?}");
    }
}

/// One package of a calibration project's graph, as the estimate sees it at run time.
#[derive(Debug, Clone)]
pub(crate) struct Scanned {
    pub(crate) project: String,
    pub(crate) package: String,
    pub(crate) version: String,
    /// How many packages it depends on, transitively.
    pub(crate) deps: usize,
    pub(crate) bytes: u64,
}

/// One calibration project's graph as the crate's graph reader saw it.
pub(crate) struct ScannedGraph {
    pub(crate) project: String,
    pub(crate) graph: crate::graph::Graph,
}

/// `calibration/corpus/packages.tsv`: every package of every calibration project's graph as
/// the graph reader saw it (written by `scan_calibration_graphs`, which needs the projects'
/// sources in the local cargo registry; everything else needs only this file). Columns:
/// project, index, package, version, flags (`r` root, `t` for the target, `h` for the host,
/// `p` proc-macro, `l` links), .rs bytes of the lib (0 when unknown), dependency indices, the
/// enabled features.
pub(crate) fn load_graphs() -> Vec<ScannedGraph> {
    use crate::graph::{Graph, Package, SourceKind, SourceSize};
    let text = std::fs::read_to_string(corpus().join("packages.tsv")).unwrap_or_default();
    let mut graphs: Vec<(String, Vec<Package>, Vec<usize>)> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 7 {
            continue;
        }
        if graphs.last().map_or(true, |g| g.0 != f[0]) {
            graphs.push((f[0].to_string(), Vec::new(), Vec::new()));
        }
        let (_, packages, roots) = graphs.last_mut().unwrap();
        let flags = f[4];
        let bytes: u64 = f[5].parse().unwrap_or(0);
        if flags.contains('r') {
            roots.push(packages.len());
        }
        packages.push(Package {
            name: f[2].to_string(),
            version: f[3].to_string(),
            source: SourceKind::Registry,
            dir: None,
            crate_name: f[2].replace('-', "_"),
            proc_macro: flags.contains('p'),
            has_build_script: false,
            links: flags.contains('l'),
            for_host: flags.contains('h'),
            for_target: flags.contains('t'),
            deps: f[6].split(',').filter_map(|d| d.parse().ok()).collect(),
            features: f
                .get(7)
                .map(|list| {
                    list.split(',')
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            features_known: f.get(7).is_some(),
            size: (bytes > 0).then_some(SourceSize {
                bytes,
                files: 0,
                root_bytes: 0,
            }),
        });
    }
    graphs
        .into_iter()
        .map(|(project, packages, roots)| ScannedGraph {
            project,
            graph: Graph::from_packages(packages, roots),
        })
        .collect()
}

/// Every package of the scanned graphs with its size features, for the size model.
pub(crate) fn load_scanned() -> Vec<Scanned> {
    let mut out = Vec::new();
    for g in load_graphs() {
        let n = g.graph.packages.len();
        for (i, p) in g.graph.packages.iter().enumerate() {
            out.push(Scanned {
                project: g.project.clone(),
                package: p.name.clone(),
                version: p.version.clone(),
                deps: (0..n).filter(|&j| g.graph.depends_on(i, j)).count(),
                bytes: p.size.map_or(0, |s| s.bytes),
            });
        }
    }
    out
}

/// Reads each calibration project's graph with the crate's own graph reader and writes
/// `calibration/corpus/packages.tsv`. Run by `scripts/calibrate` after the builds (it needs the
/// sources in the local registry, which CI does not have).
#[test]
#[ignore]
fn scan_calibration_graphs() {
    use crate::graph::{self, CfgSet, Inputs, Root};
    let env = crate::env::Env::process(&[]);
    let cargo_home = env.cargo_home();
    let cfg = std::process::Command::new("rustc")
        .args(["--print", "cfg"])
        .output()
        .unwrap();
    let version = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let host = version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::trim);
    let platform = CfgSet::from_rustc_print(host, &String::from_utf8_lossy(&cfg.stdout));
    let mut out = String::from(
        "# each calibration project's graph as lowmem_build reads it: project, index, package, version, flags (r root, t target, h host, p proc-macro, l links), .rs bytes of the lib, dependency indices, features\n",
    );
    let mut projects: Vec<PathBuf> = std::fs::read_dir(repo().join("calibration/projects"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    projects.sort();
    for dir in projects {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let roots = [Root::Dir(dir.clone())];
        let g = graph::read(&Inputs {
            workspace: &dir,
            roots: &roots,
            root_features: None,
            target: &platform,
            host: &platform,
            dev_deps: false,
            measure: &graph::measure_all,
            cargo_home: cargo_home.as_deref(),
            cache_dir: None,
        });
        assert!(g.problems.is_empty(), "{name}: {:?}", g.problems);
        for (i, p) in g.packages.iter().enumerate() {
            let mut flags = String::new();
            for (on, flag) in [
                (g.roots.contains(&i), 'r'),
                (p.for_target, 't'),
                (p.for_host, 'h'),
                (p.proc_macro, 'p'),
                (p.links, 'l'),
            ] {
                if on {
                    flags.push(flag);
                }
            }
            let deps: Vec<String> = p.deps.iter().map(usize::to_string).collect();
            out.push_str(&format!(
                "{name}\t{i}\t{}\t{}\t{flags}\t{}\t{}\t{}\n",
                p.name,
                p.version,
                p.size.map_or(0, |s| s.bytes),
                deps.join(","),
                p.features.join(",")
            ));
        }
    }
    std::fs::write(corpus().join("packages.tsv"), out).unwrap();
}

/// Relative error quantiles, for the README and the model file's comments.
pub(crate) fn quantile(errors: &mut [f64], q: f64) -> f64 {
    if errors.is_empty() {
        return f64::NAN;
    }
    errors.sort_by(f64::total_cmp);
    errors[((errors.len() - 1) as f64 * q).round() as usize]
}

/// A crate's measured figures with the size features, one per package, version, features and
/// class (the largest anonymous peak and artifact of its measurements).
pub(crate) struct Point {
    pub(crate) package: String,
    pub(crate) class: Class,
    pub(crate) anon_mib: f64,
    pub(crate) out_kib: f64,
    pub(crate) bytes: u64,
    pub(crate) deps: usize,
}

pub(crate) fn points(corpus: &[Measured], scanned: &[Scanned]) -> Vec<Point> {
    let mut by_key: BTreeMap<(String, String, String, Class), Point> = BTreeMap::new();
    for m in corpus.iter().filter(|m| tabled(m)) {
        let r = &m.record;
        let Some(class) = super::record_class(r) else {
            continue;
        };
        let Some(s) = scanned
            .iter()
            .find(|s| s.project == m.project && s.package == r.package && s.version == r.version)
        else {
            continue;
        };
        if s.bytes == 0 {
            continue;
        }
        let key = (
            r.package.clone(),
            r.version.clone(),
            r.features.clone(),
            class,
        );
        let point = by_key.entry(key).or_insert(Point {
            package: r.package.clone(),
            class,
            anon_mib: 0.0,
            out_kib: 0.0,
            bytes: s.bytes,
            deps: s.deps,
        });
        point.anon_mib = point.anon_mib.max(r.anon_kib as f64 / 1024.0);
        point.out_kib = point.out_kib.max(r.out_kib as f64);
    }
    by_key.into_values().collect()
}

fn features(p: &Point) -> Vec<f64> {
    vec![1.0, (p.bytes as f64).ln(), (1.0 + p.deps as f64).ln()]
}

/// Fits `ln(y) = a + b ln(bytes) + c ln(1 + deps)` on `points`.
pub(crate) fn fit_log(points: &[&Point], y: impl Fn(&Point) -> f64) -> [f64; 3] {
    let xs: Vec<Vec<f64>> = points.iter().map(|p| features(p)).collect();
    let ys: Vec<f64> = points.iter().map(|p| y(p).max(1.0).ln()).collect();
    let w = least_squares(&xs, &ys);
    [w[0], w[1], w[2]]
}

pub(crate) fn predict_log(w: [f64; 3], p: &Point) -> f64 {
    features(p)
        .iter()
        .zip(w)
        .map(|(x, w)| x * w)
        .sum::<f64>()
        .exp()
}

/// The records of one build (project and config), in their corpus order.
pub(crate) fn builds(corpus: &[Measured]) -> Vec<Vec<&Measured>> {
    let mut out: Vec<Vec<&Measured>> = Vec::new();
    for m in corpus {
        match out.last_mut() {
            Some(last) if last[0].project == m.project && last[0].config == m.config => {
                last.push(m)
            }
            _ => out.push(vec![m]),
        }
    }
    out
}

/// For each record of a build, the indices of the records it depends on, transitively (by the
/// hashes in `deps`); `None` when the build's hashes do not link up (recorded before the
/// store named dependencies by their file-name hash).
pub(crate) fn closures(build: &[&Measured]) -> Option<Vec<Vec<usize>>> {
    let index = |hash: &str| build.iter().position(|m| m.record.hash == hash);
    let direct: Vec<Vec<usize>> = build
        .iter()
        .map(|m| {
            m.record
                .deps
                .split(',')
                .filter(|h| !h.is_empty())
                .filter_map(index)
                .collect()
        })
        .collect();
    let linked = direct.iter().any(|d| !d.is_empty());
    if !linked {
        return None;
    }
    let mut all = Vec::with_capacity(build.len());
    for start in 0..build.len() {
        let mut seen = vec![false; build.len()];
        let mut stack = direct[start].clone();
        while let Some(i) = stack.pop() {
            if !seen[i] {
                seen[i] = true;
                stack.extend(&direct[i]);
            }
        }
        all.push((0..build.len()).filter(|&i| seen[i]).collect());
    }
    Some(all)
}

/// A link measured: its class, inputs (MiB of the artifacts it linked) and anonymous peak.
pub(crate) struct Link {
    pub(crate) class: Class,
    pub(crate) inputs_mib: f64,
    pub(crate) anon_mib: f64,
}

pub(crate) fn links(corpus: &[Measured]) -> Vec<Link> {
    let mut out = Vec::new();
    for build in builds(corpus) {
        let Some(closures) = closures(&build) else {
            continue;
        };
        for (i, m) in build.iter().enumerate() {
            let r = &m.record;
            if !r.succeeded() || !matches!(r.kind.as_str(), "bin" | "build-script") {
                continue;
            }
            let Some(class) = super::record_class(r) else {
                continue;
            };
            let inputs_kib: u64 = closures[i]
                .iter()
                .map(|&j| &build[j].record)
                .filter(|d| d.kind != "proc-macro")
                .map(|d| d.out_kib)
                .sum();
            out.push(Link {
                class,
                inputs_mib: inputs_kib as f64 / 1024.0,
                anon_mib: r.anon_kib as f64 / 1024.0,
            });
        }
    }
    out
}

/// A build's records as the overlap model sees them: weights (anonymous peak, KiB) and how
/// each pair relates, from the dependency hashes and kinds of the records.
pub(crate) struct Moment {
    weights: Vec<u64>,
    relations: Vec<Vec<super::overlap::Relation>>,
    jobs: usize,
}

impl Moment {
    pub(crate) fn of(build: &[&Measured], closures: &[Vec<usize>], jobs: usize) -> Moment {
        use super::overlap::Relation;
        let n = build.len();
        let library = |i: usize| matches!(build[i].record.kind.as_str(), "lib" | "rlib");
        let index = |hash: &str| build.iter().position(|m| m.record.hash == hash);
        // Library -> library edges, closed transitively: cargo pipelines those.
        let direct: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                if !library(i) {
                    return Vec::new();
                }
                build[i]
                    .record
                    .deps
                    .split(',')
                    .filter_map(index)
                    .filter(|&d| library(d))
                    .collect()
            })
            .collect();
        let pipelined = crate::graph::reach::Reach::new(&direct);
        let relations = (0..n)
            .map(|top| {
                (0..n)
                    .map(|other| {
                        if pipelined.get(other, top) {
                            Relation::Pipelined
                        } else if closures[top].contains(&other) || closures[other].contains(&top) {
                            Relation::Apart
                        } else {
                            Relation::Independent
                        }
                    })
                    .collect()
            })
            .collect();
        Moment {
            weights: build.iter().map(|m| m.record.anon_kib).collect(),
            relations,
            jobs,
        }
    }

    /// The heaviest moment with these shares, MiB.
    pub(crate) fn mib(&self, shares: super::overlap::Shares) -> f64 {
        let relation = |a: usize, b: usize| self.relations[a][b];
        super::overlap::heaviest_moment(&self.weights, &relation, self.jobs, shares).0 / 1024.0
    }
}

/// A whole build measured: `builds.tsv`'s line.
pub(crate) struct Build {
    pub(crate) project: String,
    pub(crate) config: String,
    pub(crate) jobs: usize,
    pub(crate) anon_mib: f64,
    pub(crate) wall_s: f64,
}

pub(crate) fn load_builds() -> Vec<Build> {
    let text = std::fs::read_to_string(corpus().join("builds.tsv")).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.get(4) != Some(&"0") {
                return None;
            }
            let anon = f
                .get(8)
                .and_then(|v| v.parse().ok())
                .or_else(|| f.get(7)?.parse().ok())?;
            Some(Build {
                project: f[1].to_string(),
                config: f[2].to_string(),
                jobs: f[3].parse().ok()?,
                anon_mib: anon,
                wall_s: f[5].parse().ok()?,
            })
        })
        .collect()
}

/// A limit tried in a memory cgroup: `limits.tsv`'s line.
pub(crate) struct Limit {
    pub(crate) project: String,
    pub(crate) config: String,
    pub(crate) jobs: usize,
    pub(crate) limit_mib: f64,
    pub(crate) passed: bool,
}

pub(crate) fn load_limits() -> Vec<Limit> {
    let text = std::fs::read_to_string(corpus().join("limits.tsv")).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some(Limit {
                project: f.get(1)?.to_string(),
                config: f.get(2)?.to_string(),
                jobs: f.get(3)?.parse().ok()?,
                limit_mib: f.get(4)?.parse().ok()?,
                passed: *f.get(5)? == "pass",
            })
        })
        .collect()
}

/// What a build needs beyond its anonymous peak (the file-backed working set the kernel cannot
/// drop: the compiler's own code, the files being read): for each build bisected in a memory
/// cgroup, the midpoint between the largest limit that failed and the smallest that passed,
/// minus the build's anonymous peak; the largest of these, so that the need is not understated.
pub(crate) fn working_set_mib(builds: &[Build], limits: &[Limit]) -> f64 {
    let mut largest: f64 = 0.0;
    for b in builds {
        let tried = limits
            .iter()
            .filter(|l| l.project == b.project && l.config == b.config && l.jobs == b.jobs);
        let pass = tried
            .clone()
            .filter(|l| l.passed)
            .map(|l| l.limit_mib)
            .fold(f64::INFINITY, f64::min);
        let fail = tried
            .filter(|l| !l.passed)
            .map(|l| l.limit_mib)
            .fold(0.0, f64::max);
        if pass.is_finite() && fail > 0.0 && fail < pass {
            largest = largest.max((pass + fail) / 2.0 - b.anon_mib);
        }
    }
    largest
}

/// Each measured build's moment model and its measured anonymous peak, MiB.
pub(crate) fn build_moments(corpus: &[Measured], whole: &[Build]) -> Vec<(String, Moment, f64)> {
    let mut out = Vec::new();
    for build in builds(corpus) {
        let (project, config) = (&build[0].project, &build[0].config);
        let Some(measured) = whole
            .iter()
            .find(|b| &b.project == project && &b.config == config)
        else {
            continue;
        };
        let Some(closures) = closures(&build) else {
            continue;
        };
        out.push((
            format!("{project} {config}"),
            Moment::of(&build, &closures, measured.jobs),
            measured.anon_mib,
        ));
    }
    out
}

/// The shares (in steps of 0.05) and the constant (0 to 300 MiB in steps of 5: cargo and the
/// like never take memory away) that make the moments closest to the measured peaks: least
/// squares of the relative error.
pub(crate) fn fit_shares(moments: &[(String, Moment, f64)]) -> (super::overlap::Shares, f64) {
    let steps: Vec<f64> = (0..=20).map(|s| f64::from(s) * 0.05).collect();
    let constants: Vec<f64> = (0..=60).map(|s| f64::from(s) * 5.0).collect();
    let mut best = (
        f64::INFINITY,
        super::overlap::Shares {
            pipelined: 0.0,
            independent: 0.0,
        },
        0.0,
    );
    for &pipelined in &steps {
        for &independent in &steps {
            let shares = super::overlap::Shares {
                pipelined,
                independent,
            };
            let predicted: Vec<(f64, f64)> = moments
                .iter()
                .map(|(_, m, measured)| (m.mib(shares), *measured))
                .collect();
            for &c in &constants {
                let error: f64 = predicted
                    .iter()
                    .map(|(p, m)| ((p + c - m) / m).powi(2))
                    .sum();
                if error < best.0 {
                    best = (error, shares, c);
                }
            }
        }
    }
    (best.1, best.2)
}

/// The text of `data/model.tsv` from the corpus, with the fits' in-sample errors as comments.
pub(crate) fn model_text(corpus: &[Measured], scanned: &[Scanned]) -> String {
    let points = points(corpus, scanned);
    let mut text = String::from(
        "# lowmem_build model 1, generated from calibration/corpus by `LOWMEM_BUILD_REGENERATE=1 cargo test --lib calibration`; do not edit (format: src/estimate/model.rs)\n",
    );
    for class in Class::ALL {
        let of_class: Vec<&Point> = points.iter().filter(|p| p.class == class).collect();
        let w = fit_log(&of_class, |p| p.anon_mib);
        text.push_str(&format!(
            "crate\t{}\t{:.4}\t{:.4}\t{:.4}\n",
            class.name(),
            w[0],
            w[1],
            w[2]
        ));
    }
    for class in Class::ALL {
        let of_class: Vec<&Point> = points
            .iter()
            .filter(|p| p.class == class && p.out_kib > 0.0)
            .collect();
        let w = fit_log(&of_class, |p| p.out_kib);
        text.push_str(&format!(
            "out\t{}\t{:.4}\t{:.4}\t{:.4}\n",
            class.name(),
            w[0],
            w[1],
            w[2]
        ));
    }
    let links = links(corpus);
    for class in Class::ALL {
        let of_class: Vec<&Link> = links.iter().filter(|l| l.class == class).collect();
        let xs: Vec<Vec<f64>> = of_class.iter().map(|l| vec![1.0, l.inputs_mib]).collect();
        let ys: Vec<f64> = of_class.iter().map(|l| l.anon_mib).collect();
        let w = least_squares(&xs, &ys);
        text.push_str(&format!(
            "link\t{}\t{:.2}\t{:.4}\n",
            class.name(),
            w.first().copied().unwrap_or(0.0),
            w.get(1).copied().unwrap_or(0.0)
        ));
    }
    let whole = load_builds();
    let moments = build_moments(corpus, &whole);
    let (shares, c) = fit_shares(&moments);
    let working_set = working_set_mib(&whole, &load_limits());
    text.push_str(&format!(
        "build\t-\t{:.2}\t{:.2}\t{:.1}\n",
        shares.pipelined,
        shares.independent,
        c + working_set
    ));
    let mut scripts: Vec<f64> = corpus
        .iter()
        .filter(|m| m.record.kind == "build-script" && m.record.succeeded())
        .map(|m| m.record.anon_kib as f64 / 1024.0)
        .collect();
    text.push_str(&format!("script\t-\t{:.1}\n", quantile(&mut scripts, 0.5)));
    text
}

#[test]
fn the_shipped_model_is_fitted_from_the_corpus() {
    let corpus = load_corpus();
    let scanned = load_scanned();
    assert!(
        !scanned.is_empty(),
        "calibration/corpus/packages.tsv is empty"
    );
    check_generated("data/model.tsv", &model_text(&corpus, &scanned));
}

/// The settings of a calibration config, as the estimate reads them.
pub(crate) fn knobs_of(config: &str, jobs: usize) -> Option<super::Knobs> {
    use crate::settings::{Debuginfo, Lto};
    let (debuginfo, optimised) = match config {
        "dev-d0" => (Debuginfo::None, false),
        "dev-lt" => (Debuginfo::LineTablesOnly, false),
        "dev-d2" => (Debuginfo::Full, false),
        "release" => (Debuginfo::None, true),
        _ => return None,
    };
    Some(super::Knobs {
        jobs: jobs as u32,
        debuginfo,
        codegen_units: if optimised { 16 } else { 256 },
        lto: Lto::Off,
        optimised,
        split_debuginfo: false,
    })
}

/// Relative error of `estimate` against `measured`.
fn off(estimate: f64, measured: f64) -> f64 {
    (estimate - measured) / measured
}

fn percent(x: f64) -> String {
    format!("{:+.0}%", x * 100.0)
}

/// The README's tables, from the corpus and the shipped data: the size model's error on crates
/// over 100 MiB, and each measured build's estimate next to what it needed.
pub(crate) fn report_text(corpus: &[Measured], table: &str, model: &str) -> String {
    let scanned = load_scanned();
    let points = points(corpus, &scanned);
    let mut text = String::from(
        "| settings | crates over 100 MiB | median error, fitted on all | 90th percentile | median error, 5-fold cross-validated | 90th percentile |\n|---|---|---|---|---|---|\n",
    );
    for class in Class::ALL {
        let of_class: Vec<&Point> = points.iter().filter(|p| p.class == class).collect();
        let w = fit_log(&of_class, |p| p.anon_mib);
        let big: Vec<&&Point> = of_class.iter().filter(|p| p.anon_mib > 100.0).collect();
        let mut fitted: Vec<f64> = big
            .iter()
            .map(|p| off(predict_log(w, p), p.anon_mib).abs())
            .collect();
        let fold = |p: &Point| p.package.bytes().map(usize::from).sum::<usize>() % 5;
        let mut crossed: Vec<f64> = big
            .iter()
            .map(|p| {
                let train: Vec<&Point> = of_class
                    .iter()
                    .copied()
                    .filter(|q| fold(q) != fold(p))
                    .collect();
                off(predict_log(fit_log(&train, |q| q.anon_mib), p), p.anon_mib).abs()
            })
            .collect();
        let name = match class {
            Class::D0 => "dev, debug 0",
            Class::LineTables => "dev, line-tables-only",
            Class::Full => "dev, debug 2",
            Class::Release => "release (opt 3, debug 0)",
        };
        text.push_str(&format!(
            "| {name} | {} | {:.0}% | {:.0}% | {:.0}% | {:.0}% |\n",
            big.len(),
            quantile(&mut fitted, 0.5) * 100.0,
            quantile(&mut fitted, 0.9) * 100.0,
            quantile(&mut crossed, 0.5) * 100.0,
            quantile(&mut crossed, 0.9) * 100.0,
        ));
    }
    text.push('\n');
    text.push_str(
        "| project | settings | crates | estimate | measured anonymous peak | off by | memory-cgroup limits tried | estimate without the table | off by |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let graphs = load_graphs();
    let limits = load_limits();
    for build in load_builds() {
        let Some(g) = graphs.iter().find(|g| g.project == build.project) else {
            continue;
        };
        let Some(knobs) = knobs_of(&build.config, build.jobs) else {
            continue;
        };
        let mib = |table_text: &str| {
            let e = super::Estimator::with(&g.graph, &[], None, table_text, model);
            e.estimate(&knobs).peak as f64 / crate::size::MIB as f64
        };
        let (with_table, without) = (mib(table), mib(""));
        let mut tried: Vec<String> = limits
            .iter()
            .filter(|l| {
                l.project == build.project && l.config == build.config && l.jobs == build.jobs
            })
            .map(|l| {
                format!(
                    "{} MiB {}",
                    l.limit_mib,
                    if l.passed { "passed" } else { "OOM" }
                )
            })
            .collect();
        tried.dedup();
        text.push_str(&format!(
            "| {} | {} (-j{}) | {} | {:.0} MiB | {:.0} MiB | {} | {} | {:.0} MiB | {} |\n",
            build.project,
            build.config,
            build.jobs,
            g.graph.packages.len(),
            with_table,
            build.anon_mib,
            percent(off(with_table, build.anon_mib)),
            if tried.is_empty() {
                "-".to_string()
            } else {
                tried.join(", ")
            },
            without,
            percent(off(without, build.anon_mib)),
        ));
    }
    text
}

/// The README's calibration tables are what the corpus and the shipped data give.
#[test]
fn the_readme_tables_are_the_corpus_report() {
    let corpus = load_corpus();
    // From the texts the corpus gives (the tests above check that data/ holds them).
    let table = table_text(&corpus);
    let model = model_text(&corpus, &load_scanned());
    let report = report_text(&corpus, &table, &model);
    let readme_path = repo().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (begin, end) = ("<!-- calibration:begin -->\n", "<!-- calibration:end -->");
    let (Some(start), Some(stop)) = (readme.find(begin), readme.find(end)) else {
        panic!("README.md lacks the {begin:?} ... {end:?} markers");
    };
    let current = &readme[start + begin.len()..stop];
    if std::env::var_os("LOWMEM_BUILD_REGENERATE").is_some_and(|v| v == "1") {
        let updated = format!(
            "{}{report}{}",
            &readme[..start + begin.len()],
            &readme[stop..]
        );
        std::fs::write(&readme_path, updated).unwrap();
        return;
    }
    assert!(
        current == report,
        "README.md's calibration tables are not what the corpus gives; run `LOWMEM_BUILD_REGENERATE=1 cargo test --lib calibration`:\n{report}"
    );
}

/// The figure the debuginfo fix prints is this corpus's: polars-min's whole dev build at debug 0
/// and line-tables-only against debug 2 (anonymous peaks, wall times).
#[test]
fn the_debuginfo_advice_quotes_the_corpus() {
    let builds = load_builds();
    let polars = |config: &str| {
        builds
            .iter()
            .find(|b| b.project == "polars-min" && b.config == config)
            .unwrap_or_else(|| panic!("polars-min {config} is not in builds.tsv"))
    };
    let (d0, lt, d2) = (polars("dev-d0"), polars("dev-lt"), polars("dev-d2"));
    let less = |b: &Build| ((1.0 - b.anon_mib / d2.anon_mib) * 100.0).round();
    let expected = format!(
        "measured on polars-min: anonymous peak -{}% (line-tables-only -{}%), build {} s instead of {} s",
        less(d0),
        less(lt),
        d0.wall_s.round(),
        d2.wall_s.round()
    );
    assert_eq!(crate::assess::DEBUGINFO_MEASURED, expected);
}

/// The factor the estimate applies to one codegen unit, and the advice line, are what
/// `scripts/codegen-units` measured.
#[test]
fn the_codegen_units_factor_is_the_measured_one() {
    let text = std::fs::read_to_string(corpus().join("codegen-units.tsv")).unwrap();
    let peak = |units: &str| -> f64 {
        text.lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .find(|f| f.get(3) == Some(&units))
            .and_then(|f| f[4].parse().ok())
            .unwrap_or_else(|| panic!("no codegen_units {units} row in codegen-units.tsv"))
    };
    let (default, one) = (peak("-"), peak("1"));
    let factor = one / default;
    assert!(
        (super::knobs::ONE_CODEGEN_UNIT - factor).abs() < 0.005,
        "ONE_CODEGEN_UNIT {} but measured {factor:.3}",
        super::knobs::ONE_CODEGEN_UNIT
    );
    assert_eq!(
        crate::assess::CODEGEN_UNITS_MEASURED,
        format!("measured: codegen-units = 1 made polars-core need {factor:.2}x the memory ({default} -> {one} MiB)")
    );
}
