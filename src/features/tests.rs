//! `verify` against real cargo: the fixture workspace (tests/fixtures/features/ws) is copied to
//! a temporary directory and each member is checked with the environment cargo gives its build
//! script.

use super::*;
use crate::env::Env;
use crate::files::scratch_dir;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::sync::OnceLock;

/// A copy of the fixture workspace, removed on drop.
struct Fixture {
    root: PathBuf,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The host triple, as cargo reports it.
fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let out = std::process::Command::new(env!("CARGO"))
            .arg("-vV")
            .output()
            .expect("cargo -vV");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .expect("a host line")
            .to_string()
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let root = scratch_dir(name);
        copy_dir(&repo().join("tests/fixtures/features/ws"), &root);
        // The members reach lowmem_build through a path relative to the repository.
        let repo_path = format!("path = {:?}", repo().display().to_string());
        for entry in std::fs::read_dir(&root).unwrap() {
            let manifest = entry.unwrap().path().join("Cargo.toml");
            if let Ok(text) = std::fs::read_to_string(&manifest) {
                let text = text.replace("path = \"../../../../..\"", &repo_path);
                std::fs::write(&manifest, text).unwrap();
            }
        }
        std::fs::create_dir_all(root.join("out")).unwrap();
        Fixture { root }
    }

    /// The environment cargo gives `member`'s build script, with `features` active (as
    /// `CARGO_CFG_FEATURE`), plus `extra`.
    fn env(&self, member: &str, features: &str, extra: &[(&str, &str)]) -> Env {
        let mut vars: BTreeMap<String, OsString> = BTreeMap::new();
        let dir = self.root.join(member);
        let out = self.root.join("out").join(member);
        std::fs::create_dir_all(&out).unwrap();
        for (key, value) in [
            ("CARGO", OsString::from(env!("CARGO"))),
            ("CARGO_MANIFEST_DIR", dir.into_os_string()),
            ("CARGO_PKG_NAME", OsString::from(member)),
            ("TARGET", OsString::from(host())),
            ("HOST", OsString::from(host())),
            ("CARGO_CFG_FEATURE", OsString::from(features)),
            ("CARGO_ENCODED_RUSTFLAGS", OsString::new()),
            ("OUT_DIR", out.into_os_string()),
        ] {
            vars.insert(key.to_string(), value);
        }
        for (key, value) in extra {
            vars.insert(key.to_string(), OsString::from(value));
        }
        Env::from_map(vars)
    }

    fn without(&self, env: Env, keys: &[&str]) -> Env {
        let mut vars: BTreeMap<String, OsString> = BTreeMap::new();
        for key in [
            "CARGO",
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "TARGET",
            "HOST",
            "CARGO_CFG_FEATURE",
            "CARGO_ENCODED_RUSTFLAGS",
            "OUT_DIR",
            "CARGO_FEATURE_FULL",
            "CARGO_HOME",
        ] {
            if let Some(v) = env.get_os(key) {
                if !keys.contains(&key) {
                    vars.insert(key.to_string(), v.clone());
                }
            }
        }
        Env::from_map(vars)
    }

    fn check(&self, member: &str, features: &str) -> FeatureReport {
        verify(
            &self.env(member, features, &[]),
            &polars_minimal_dtypes(),
            None,
        )
    }
}

impl Fixture {
    fn edit(&self, path: &str, from: &str, to: &str) {
        let path = self.root.join(path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{} has no {from:?}", path.display());
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn assert_clean(report: &FeatureReport) {
    assert_eq!(report.problem, None, "{report:#?}");
    assert!(report.checked, "{report:#?}");
    assert!(report.violations.is_empty(), "{report:#?}");
}

#[test]
fn the_minimal_member_passes_and_nothing_is_written_but_the_cache() {
    let ws = Fixture::new("minimal");
    let lock_before = std::fs::read(ws.root.join("Cargo.lock")).unwrap();
    let report = ws.check("minimal", "");
    assert_clean(&report);
    assert!(!report.cached);
    assert_eq!(
        std::fs::read(ws.root.join("Cargo.lock")).unwrap(),
        lock_before
    );
    assert!(!ws.root.join("target").exists());
    assert!(!ws.root.join("minimal/Cargo.lock").exists());
    assert!(ws.root.join("out/minimal").join(cache::FILE).is_file());
    // The workspace's manifests and the lockfile are watched.
    for file in [
        "Cargo.toml",
        "minimal/Cargo.toml",
        "helper/Cargo.toml",
        "Cargo.lock",
    ] {
        assert!(
            report.files.contains(&ws.root.join(file)),
            "{file}: {:?}",
            report.files
        );
    }
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("packages of `minimal` checked")),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_feature_of_another_member_is_a_violation_naming_it() {
    let ws = Fixture::new("via-helper");
    let report = ws.check("via-helper", "");
    assert!(report.checked && report.problem.is_none(), "{report:#?}");
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    let polars = &report.violations[0];
    assert_eq!(polars.krate, "polars");
    assert!(!polars.missing);
    assert!(polars.features.contains(&"dtype-full".to_string()));
    assert!(polars.features.contains(&"dtype-time".to_string()));
    assert!(!polars.features.contains(&"dtype-i8".to_string()));
    assert_eq!(polars.enabled_by.len(), 1, "{polars:#?}");
    assert!(
        polars.enabled_by[0]
            .starts_with("feature `full` of crate `helper` enables `polars/dtype-full`"),
        "{polars:#?}"
    );
    assert!(polars.enabled_by[0].ends_with("(via-helper -> helper/full -> polars/dtype-full)"));
    assert_eq!(
        polars.fix,
        "via-helper/Cargo.toml: remove `full` from the features of `helper`"
    );
    let line = polars.to_string();
    assert!(line.starts_with("`polars` has `dtype-array`"), "{line}");
    assert!(!line.contains('\n'));
    assert_eq!(report.violations[1].krate, "polars-core");
    assert!(!report.violations[1]
        .features
        .contains(&"dtype-full".to_string()));
}

#[test]
fn a_crate_the_workspace_cannot_edit_gets_choices_and_a_member_gets_the_fix() {
    let ws = Fixture::new("vendored");
    let report = ws.check("via-vendored", "");
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    let polars = &report.violations[0];
    assert_eq!(polars.features, ["dtype-time"]);
    assert_eq!(polars.fix, "");
    assert_eq!(
        polars.to_string(),
        "`polars` has `dtype-time` on, which the feature rules forbid: crate `forcer` enables \
         `polars/dtype-time` (via-vendored -> forcer -> polars/dtype-time); no fix in this \
         workspace: `forcer` is not a package of it and turns them on itself; it comes in \
         through the dependency on `forcer` in via-vendored/Cargo.toml; choices: allow them in \
         the feature rules, or change that dependency (another version, other features)"
    );
    // polars-core's dtype-time comes from polars' and so from the same place.
    assert_eq!(report.violations[1].choices, polars.choices);

    // Not excluded, the same crate is a member: its manifest is the workspace's to fix.
    ws.edit("Cargo.toml", "exclude = [\"vendored\"]", "exclude = []");
    let report = ws.check("via-vendored", "");
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    assert_eq!(
        report.violations[0].fix,
        "vendored/forcer/Cargo.toml: remove `dtype-time` from the features of `polars`"
    );
    assert_eq!(report.violations[0].choices, "");
}

#[test]
fn default_features_left_on_get_the_default_features_advice() {
    let ws = Fixture::new("defaults");
    let report = ws.check("defaults", "");
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    let polars = &report.violations[0];
    assert_eq!(
        polars.features,
        ["dtype-datetime", "dtype-duration", "dtype-slim"]
    );
    assert_eq!(
        polars.fix,
        "defaults/Cargo.toml: set `default-features = false` on `polars` and list the features you need"
    );
    assert!(polars.enabled_by[0].starts_with(
        "crate `defaults` depends on `polars` with its default features on (`polars/default`)"
    ));
    assert_eq!(report.violations[1].fix, polars.fix);
}

#[test]
fn dev_other_target_and_unrelated_build_dependencies_do_not_count() {
    let ws = Fixture::new("elsewhere");
    for member in ["dev-only", "other-target", "minimal"] {
        let report = ws.check(member, "");
        assert_clean(&report);
    }
    // The member whose build script uses dtype-full has no normal polars at all.
    let report = ws.check("build-dep-elsewhere", "");
    assert_clean(&report);
    assert!(
        report
            .notes
            .contains(&"rule about `polars`: not in the graph, nothing to check".to_string()),
        "{:?}",
        report.notes
    );
}

#[test]
fn an_opt_in_feature_counts_only_when_on() {
    let ws = Fixture::new("opt-in");
    assert_clean(&ws.check("opt-in", ""));
    let report = ws.check("opt-in", "full");
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    let polars = &report.violations[0];
    assert!(
        polars.enabled_by[0].starts_with(
            "feature `full` of crate `opt-in` (requested for this build) enables `polars/dtype-full`"
        ),
        "{polars:#?}"
    );
    assert_eq!(
        polars.fix,
        "build `opt-in` without feature `full` (`--features full`, or a crate that enables it), \
         or remove `polars/dtype-full` from feature `full` in opt-in/Cargo.toml"
    );

    // Turned on by the package's own default: the manifest is to blame, not the command line.
    ws.edit(
        "opt-in/Cargo.toml",
        "[features]\n",
        "[features]\ndefault = [\"full\"]\n",
    );
    let report = ws.check("opt-in", "default,full");
    let polars = &report.violations[0];
    assert!(
        polars.enabled_by[0].starts_with(
            "feature `full` of crate `opt-in` enables `polars/dtype-full` (opt-in/default -> opt-in/full -> polars/dtype-full)"
        ),
        "{polars:#?}"
    );
    assert_eq!(
        polars.fix,
        "opt-in/Cargo.toml: remove `polars/dtype-full` from feature `full` of `opt-in`"
    );
    ws.edit(
        "opt-in/Cargo.toml",
        "[features]\ndefault = [\"full\"]\n",
        "[features]\n",
    );

    // Older cargo: no CARGO_CFG_FEATURE, only CARGO_FEATURE_<NAME>.
    let old = ws.without(
        ws.env("opt-in", "", &[("CARGO_FEATURE_FULL", "1")]),
        &["CARGO_CFG_FEATURE", "OUT_DIR"],
    );
    let report = verify(&old, &polars_minimal_dtypes(), None);
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    let old = ws.without(ws.env("opt-in", "", &[]), &["CARGO_CFG_FEATURE", "OUT_DIR"]);
    assert_clean(&verify(&old, &polars_minimal_dtypes(), None));
}

#[test]
fn the_verdict_is_cached_until_a_manifest_changes() {
    let ws = Fixture::new("cache");
    let first = ws.check("via-helper", "");
    assert!(!first.cached);
    let second = ws.check("via-helper", "");
    assert!(second.cached, "{second:#?}");
    assert_eq!(second.violations, first.violations);
    assert_eq!(second.files, first.files);
    // Another feature set is another key.
    assert!(!ws.check("via-helper", "default").cached);
    // helper drops `full`: the cache is stale and the violation is gone.
    ws.edit(
        "helper/Cargo.toml",
        "full = [\"polars/dtype-full\"]",
        "full = []",
    );
    let third = ws.check("via-helper", "");
    assert!(!third.cached);
    assert_clean(&third);
}

#[test]
fn custom_rules_notes_and_missing_features() {
    let ws = Fixture::new("rules");
    let rules = [
        Rule::Forbid {
            krate: "arrow".into(),
            features: vec!["ffi".into()],
        },
        Rule::AllowOnly {
            krate: "polars_core".into(),
            pattern: "dtype-*".into(),
            allowed: vec!["dtype-i8".into(), "dtype-date".into()],
        },
        Rule::Require {
            krate: "polars".into(),
            features: vec!["lazy".into(), "parquet".into()],
        },
    ];
    let report = verify(&ws.env("minimal", "", &[]), &rules, None);
    assert!(report.checked);
    assert_eq!(
        report.notes[0],
        "rule about `arrow`: not in the graph, nothing to check"
    );
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    let core = &report.violations[0];
    assert_eq!(core.krate, "polars_core");
    assert_eq!(core.features, ["dtype-i16", "dtype-u16", "dtype-u8"]);
    assert_eq!(
        core.enabled_by[0],
        "feature `dtype-i16` of crate `polars` enables `polars-core/dtype-i16` \
         (minimal -> polars/dtype-i16 -> polars-core/dtype-i16)"
    );
    assert_eq!(
        core.fix,
        "minimal/Cargo.toml: remove `dtype-i16` from the features of `polars`; \
         minimal/Cargo.toml: remove `dtype-u16` from the features of `polars`; \
         minimal/Cargo.toml: remove `dtype-u8` from the features of `polars`"
    );
    let polars = &report.violations[1];
    assert!(polars.missing);
    assert_eq!(polars.features, ["parquet"]);
    assert_eq!(
        polars.to_string(),
        "`polars` lacks `parquet`, which the feature rules require; fix: minimal/Cargo.toml: add `parquet` to the features of `polars`"
    );
}

#[test]
fn outside_a_build_script_a_manifest_path_is_checked_with_default_features() {
    let ws = Fixture::new("test-pattern");
    let env = Env::from_pairs(&[("CARGO", env!("CARGO"))]);
    let report = verify(
        &env,
        &polars_minimal_dtypes(),
        Some(&ws.root.join("defaults/Cargo.toml")),
    );
    assert!(!report.cached);
    assert_eq!(report.violations.len(), 2, "{report:#?}");
    assert!(!ws.root.join("out/defaults").exists());
    // opt-in's `full` is not a default feature.
    let report = verify(
        &env,
        &polars_minimal_dtypes(),
        Some(&ws.root.join("opt-in/Cargo.toml")),
    );
    assert_clean(&report);
}

#[test]
fn what_cannot_run_is_one_problem_or_a_note() {
    let ws = Fixture::new("problems");
    // No rules: nothing to do.
    let none = verify(&ws.env("minimal", "", &[]), &[], None);
    assert_eq!(none, FeatureReport::default());

    // A registry dependency's build script: a note, no cargo call.
    let home = ws.root.display().to_string();
    let env = ws.env("minimal", "", &[("CARGO_HOME", &home)]);
    let registry = ws.root.join("registry/src/index/minimal");
    copy_dir(&ws.root.join("minimal"), &registry);
    let mut vars = BTreeMap::new();
    for key in ["CARGO", "TARGET", "CARGO_HOME"] {
        if let Some(v) = env.get_os(key) {
            vars.insert(key.to_string(), v.clone());
        }
    }
    vars.insert(
        "CARGO_MANIFEST_DIR".to_string(),
        registry.clone().into_os_string(),
    );
    let report = verify(&Env::from_map(vars), &polars_minimal_dtypes(), None);
    assert!(!report.checked && report.problem.is_none(), "{report:#?}");
    assert!(
        report.notes[0].contains("registry, git or vendored"),
        "{report:#?}"
    );

    // cargo cannot run: one line, the build goes on.
    let env = ws.env("minimal", "", &[("CARGO", "/nonexistent/cargo")]);
    let report = verify(&env, &polars_minimal_dtypes(), None);
    assert!(!report.checked);
    let problem = report.problem.unwrap();
    assert!(
        problem.starts_with("feature check skipped: could not run"),
        "{problem}"
    );

    // cargo fails (an unknown feature): its error line.
    let report = ws.check("minimal", "no-such-feature");
    let problem = report.problem.unwrap_or_default();
    assert!(
        problem.starts_with("feature check skipped: `cargo tree` failed:"),
        "{problem}"
    );
    assert!(!problem.contains('\n'));

    // No Cargo.lock: skipped, and none is written.
    std::fs::remove_file(ws.root.join("Cargo.lock")).unwrap();
    let report = ws.check("minimal", "");
    assert!(!report.checked);
    assert!(report.problem.unwrap_or_default().contains("no Cargo.lock"));
    assert!(!ws.root.join("Cargo.lock").exists());
}

/// The committed lockfile must match the fixture's manifests (and lowmem_build's own
/// dependencies, which it includes): `cargo tree --locked` fails otherwise. To refresh it, copy
/// the repository's Cargo.lock over it and run `cargo tree --offline` in the fixture.
#[test]
fn the_fixture_lockfile_is_current() {
    let ws = Fixture::new("lockfile");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--workspace", "--locked", "--offline", "-e", "all"])
        .current_dir(&ws.root)
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
