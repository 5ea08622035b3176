//! `cargo lowmem build --report` on a real build: the memory report (one HTML file under the
//! target directory) and the saved run it is drawn from agree with the store's records, and
//! `cargo lowmem report` redraws it from the saved run and from the store.

mod common;

use common::{generate_lockfile, isolated_command, temp_dir};
use lowmem_build::store;
use std::path::{Path, PathBuf};

const LOWMEM: &str = env!("CARGO_BIN_EXE_cargo-lowmem");

/// A workspace: a library with some weight and a binary that links it.
fn project(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers = [\"lib\", \"app\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("lib/src")).unwrap();
    std::fs::create_dir_all(dir.join("app/src")).unwrap();
    std::fs::write(
        dir.join("lib/Cargo.toml"),
        "[package]\nname = \"gen-lib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let mut source = String::new();
    for i in 0..1500 {
        source.push_str(&format!(
            "pub fn f{i}(x: u64) -> u64 {{ x.wrapping_mul({i} + 3).rotate_left(7) ^ {i} }}\n"
        ));
    }
    std::fs::write(dir.join("lib/src/lib.rs"), source).unwrap();
    std::fs::write(
        dir.join("app/Cargo.toml"),
        "[package]\nname = \"gen-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ngen-lib = { path = \"../lib\" }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app/src/main.rs"),
        "fn main() { println!(\"{}\", gen_lib::f7(3)); }\n",
    )
    .unwrap();
    generate_lockfile(&dir);
    dir
}

fn lowmem(dir: &Path, target: &Path, args: &[&str]) -> (bool, String) {
    let args: Vec<&str> = ["lowmem"].iter().chain(args).copied().collect();
    let out = isolated_command(LOWMEM, dir, target, &args)
        .env_remove("RUSTC_WRAPPER")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn report_path(stderr: &str) -> PathBuf {
    PathBuf::from(
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Memory report saved to "))
            .unwrap_or_else(|| panic!("no report path in: {stderr}")),
    )
}

/// The anonymous peak the report's table gives for each crate.
fn table_peaks(html: &str, krate: &str) -> Vec<u64> {
    html.split("<tr>")
        .filter(|row| row.starts_with(&format!("<td>{krate}</td>")))
        .filter_map(|row| {
            let at = row.find("data-anon-kib=\"")? + "data-anon-kib=\"".len();
            row[at..].split('"').next()?.parse().ok()
        })
        .collect()
}

#[test]
fn a_real_build_gets_a_report_that_matches_the_records() {
    let dir = project("report");
    let target = dir.join("target");
    let (ok, stderr) = lowmem(&dir, &target, &["build", "-j2", "--report"]);
    assert!(ok, "{stderr}");
    let path = report_path(&stderr);
    assert!(path.starts_with(target.join("lowmem/report")), "{path:?}");
    assert_eq!(path.extension().unwrap(), "html");
    let html = std::fs::read_to_string(&path).unwrap();
    // Self-contained: no script, nothing fetched.
    assert!(!html.contains("<script"));
    assert_eq!(html.matches("http").count(), 1, "only the SVG namespace");
    // Every rustc of this build is in the table with the anonymous peak the store recorded.
    let records = store::read(&store::path_in(&target));
    for krate in ["gen_lib", "gen_app"] {
        let recorded: Vec<u64> = records
            .iter()
            .filter(|r| r.krate == krate)
            .map(|r| r.anon_kib)
            .collect();
        assert!(!recorded.is_empty(), "{krate} not in the store");
        let mut shown = table_peaks(&html, krate);
        let mut recorded = recorded;
        shown.sort_unstable();
        recorded.sort_unstable();
        assert_eq!(shown, recorded, "{krate}");
    }
    // The library, the heaviest rustc, has a band of its own; the small ones are drawn too.
    assert!(html.contains("<title>gen_lib: "), "{html}");
    assert!(
        html.contains("<title>gen_app") || html.contains("smaller rustc and linker runs"),
        "{html}"
    );
    // The summary: the peak, the budget, the settings, the measuring cost.
    assert!(html.contains("peak (summed RSS)"), "{html}");
    assert!(
        html.contains("available memory") || html.contains("cgroup"),
        "{html}"
    );
    assert!(html.contains("profile dev, jobs 2"), "{html}");
    assert!(
        html.contains("sampling ") && html.contains("the wrappers in all"),
        "{html}"
    );
    // The estimate's sources are named per crate.
    assert!(html.contains("<td>size model</td>"), "{html}");

    // Redrawn from the saved run: the same rows.
    let run = path.with_extension("run");
    std::fs::remove_file(&path).unwrap();
    let (ok, stderr) = lowmem(&dir, &target, &["report", run.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let again = std::fs::read_to_string(report_path(&stderr)).unwrap();
    assert_eq!(
        table_peaks(&again, "gen_lib"),
        table_peaks(&html, "gen_lib")
    );

    // From the store: the latest build, each run flat at its peaks.
    let (ok, stderr) = lowmem(
        &dir,
        &target,
        &["report", store::path_in(&target).to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    let from_store = report_path(&stderr);
    assert!(from_store.starts_with(target.join("lowmem/report")));
    let drawn = std::fs::read_to_string(from_store).unwrap();
    assert_eq!(
        table_peaks(&drawn, "gen_lib"),
        table_peaks(&html, "gen_lib")
    );

    // Not a run: one line naming the file and what is accepted.
    let bogus = dir.join("bogus.txt");
    std::fs::write(&bogus, "hello\n").unwrap();
    let (ok, stderr) = lowmem(&dir, &target, &["report", bogus.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("bogus.txt holds no rustc runs; give a saved run"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
