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
pub(crate) fn table_text(corpus: &[Measured]) -> String {
    type Key = (String, String, String); // package, version, kind
    let mut cells: BTreeMap<Key, BTreeMap<String, ([u64; 4], [u64; 4])>> = BTreeMap::new();
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
    let mut text = format!(
        "# lowmem_build peak table 1, generated from calibration/corpus (projects: {}) by `LOWMEM_BUILD_REGENERATE=1 cargo test --lib calibration`; do not edit\n\
         # package\tversion\tfeatures\tkind\td0\tlt\td2\trelease\tout_d0\tout_lt\tout_d2\tout_release  (anonymous peak MiB; artifact KiB)\n",
        projects.join(", ")
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
                for k in col..=n {
                    m[row][k] -= factor * m[col][k];
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
    pub(crate) deps: usize,
    pub(crate) bytes: u64,
}

/// `calibration/corpus/packages.tsv`: every package of every calibration project's graph with
/// the features the size model reads (written by `scan_calibration_graphs`, which needs the
/// projects' sources in the local cargo registry; the fit itself needs only this file).
pub(crate) fn load_scanned() -> Vec<Scanned> {
    let text = std::fs::read_to_string(corpus().join("packages.tsv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some(Scanned {
                project: f.first()?.to_string(),
                package: f.get(1)?.to_string(),
                version: f.get(2)?.to_string(),
                deps: f.get(3)?.parse().ok()?,
                bytes: f.get(4)?.parse().ok()?,
            })
        })
        .collect()
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
        "# package facts of each calibration project's graph, as lowmem_build reads it: project, package, version, dependencies (transitive), .rs bytes of the lib\n",
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
        let n = g.packages.len();
        for (i, p) in g.packages.iter().enumerate() {
            let deps = (0..n).filter(|&j| g.depends_on(i, j)).count();
            let bytes = p.size.map_or(0, |s| s.bytes);
            out.push_str(&format!(
                "{name}\t{}\t{}\t{deps}\t{bytes}\n",
                p.name, p.version
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
    pub(crate) project: String,
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
            project: m.project.clone(),
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
    pub(crate) project: String,
    pub(crate) krate: String,
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
                project: m.project.clone(),
                krate: r.krate.clone(),
                class,
                inputs_mib: inputs_kib as f64 / 1024.0,
                anon_mib: r.anon_kib as f64 / 1024.0,
            });
        }
    }
    out
}

/// The heaviest set of records of a build that can run together at `jobs`: the heaviest of
/// them and the sum of the others, MiB.
pub(crate) fn measured_overlap(
    build: &[&Measured],
    closures: &[Vec<usize>],
    jobs: usize,
) -> (f64, f64) {
    let weights: Vec<u64> = build.iter().map(|m| m.record.anon_kib).collect();
    let comparable = |a: usize, b: usize| closures[a].contains(&b) || closures[b].contains(&a);
    let (total, chosen) = super::overlap::heaviest_overlap(&weights, &comparable, jobs);
    let top = chosen.first().map_or(0, |&i| weights[i]);
    (top as f64 / 1024.0, (total - top) as f64 / 1024.0)
}

/// A whole build measured: `builds.tsv`'s line.
pub(crate) struct Build {
    pub(crate) project: String,
    pub(crate) config: String,
    pub(crate) jobs: usize,
    pub(crate) anon_mib: f64,
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
            })
        })
        .collect()
}

/// A limit tried in a memory cgroup: `limits.tsv`'s line.
pub(crate) struct Limit {
    pub(crate) project: String,
    pub(crate) config: String,
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
            .filter(|l| l.project == b.project && l.config == b.config);
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
    let mut xs = Vec::new();
    let mut ys = Vec::new();
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
        let (top, rest) = measured_overlap(&build, &closures, measured.jobs);
        xs.push(vec![1.0, rest]);
        ys.push(measured.anon_mib - top);
    }
    let w = least_squares(&xs, &ys);
    let (c, g) = (
        w.first().copied().unwrap_or(0.0),
        w.get(1).copied().unwrap_or(1.0),
    );
    let working_set = working_set_mib(&whole, &load_limits());
    text.push_str(&format!("build\t-\t{g:.4}\t{:.1}\n", c + working_set));
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
