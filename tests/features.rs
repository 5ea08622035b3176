//! The feature check through real cargo builds: the fixture workspace in
//! tests/fixtures/features/ws (local stand-ins for `polars` and `polars-core`, one member per
//! case) is copied to a temporary directory and its members are built with `cargo build`; the
//! assertions are on cargo's own output. Each member's build.rs calls
//! `Config::new().polars_minimal_dtypes().check()`; some tests write another build.rs.

mod common;

use common::{cargo, repo, repo_toml, shared_target, temp_dir, Built};
use std::path::{Path, PathBuf};

/// A copy of the fixture workspace, removed on drop.
struct Workspace {
    root: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

impl Workspace {
    fn new(name: &str) -> Workspace {
        let root = temp_dir(&format!("features-{name}"));
        copy_dir(&repo().join("tests/fixtures/features/ws"), &root);
        let ws = Workspace { root };
        // The members reach lowmem_build through a path relative to the repository.
        for entry in std::fs::read_dir(&ws.root).unwrap() {
            let manifest = entry.unwrap().path().join("Cargo.toml");
            if let Ok(text) = std::fs::read_to_string(&manifest) {
                std::fs::write(&manifest, text.replace("\"../../../../..\"", &repo_toml()))
                    .unwrap();
            }
        }
        ws
    }

    fn write(&self, path: &str, text: &str) -> &Workspace {
        let path = self.root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn edit(&self, path: &str, from: &str, to: &str) -> &Workspace {
        let text = std::fs::read_to_string(self.root.join(path)).unwrap();
        assert!(text.contains(from), "{path} has no {from:?}");
        self.write(path, &text.replace(from, to))
    }

    /// `cargo <args>` in the workspace, with a large memory budget so that only the feature
    /// check speaks.
    fn cargo(&self, args: &[&str], env: &[(&str, &str)]) -> Built {
        let mut all = vec![("LOWMEM_BUILD_MEMORY", "64GiB")];
        all.extend_from_slice(env);
        cargo(&self.root, &shared_target("features-target"), args, &all)
    }

    fn build(&self, args: &[&str], env: &[(&str, &str)]) -> Built {
        let mut all = vec!["build", "--offline"];
        all.extend_from_slice(args);
        self.cargo(&all, env)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn the_minimal_member_builds_quietly() {
    let ws = Workspace::new("minimal");
    ws.build(&["-p", "minimal"], &[]).assert_quiet();
}

#[test]
fn a_feature_of_another_member_warns_and_deny_fails_until_fixed() {
    let ws = Workspace::new("via-helper");
    let warned = ws.build(&["-p", "via-helper"], &[]);
    warned.assert_ok();
    assert!(
        warned.warns("feature `full` of crate `helper` enables `polars/dtype-full`"),
        "{}",
        warned.stderr
    );
    assert!(
        warned.warns("via-helper/Cargo.toml: remove `full` from the features of `helper`"),
        "{}",
        warned.stderr
    );

    let denied = ws.build(&["-p", "via-helper"], &[("LOWMEM_BUILD", "deny")]);
    assert!(!denied.success, "{}", denied.stderr);
    assert!(
        denied
            .stderr
            .contains("feature `full` of crate `helper` enables `polars/dtype-full`"),
        "{}",
        denied.stderr
    );

    // Fixing helper's manifest reruns the check (rerun-if-changed on the workspace manifests).
    ws.edit(
        "helper/Cargo.toml",
        "full = [\"polars/dtype-full\"]",
        "full = []",
    );
    ws.build(&["-p", "via-helper"], &[("LOWMEM_BUILD", "deny")])
        .assert_quiet();
}

#[test]
fn a_crate_the_workspace_cannot_edit_gets_choices_not_a_fix() {
    // `forcer` is vendored (excluded from the workspace) and turns on `polars/dtype-time` in its
    // own manifest.
    let ws = Workspace::new("vendored");
    let built = ws.build(&["-p", "via-vendored"], &[]);
    built.assert_ok();
    let warnings = built.warnings();
    let polars = warnings
        .iter()
        .find(|w| w.contains("`polars` has `dtype-time` on"))
        .unwrap_or_else(|| panic!("{}", built.stderr));
    assert!(
        polars.ends_with(
            "crate `forcer` enables `polars/dtype-time` (via-vendored -> forcer -> polars/dtype-time); \
             no fix in this workspace: `forcer` is not a package of it and turns them on itself; it \
             comes in through the dependency on `forcer` in via-vendored/Cargo.toml; choices: allow \
             them in the feature rules, or change that dependency (another version, other features)"
        ),
        "{polars}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("; fix: ")),
        "{}",
        built.stderr
    );
    let denied = ws.build(&["-p", "via-vendored"], &[("LOWMEM_BUILD", "deny")]);
    assert!(!denied.success, "{}", denied.stderr);
}

#[test]
fn deny_in_the_builder_fails_the_build() {
    let ws = Workspace::new("policy-deny");
    ws.write(
        "via-helper/build.rs",
        "fn main() {\n    lowmem_build::Config::new()\n        .policy(lowmem_build::Policy::Deny)\n        .polars_minimal_dtypes()\n        .check();\n}\n",
    );
    let denied = ws.build(&["-p", "via-helper"], &[]);
    assert!(!denied.success, "{}", denied.stderr);
    assert!(denied.stderr.contains("dtype-full"), "{}", denied.stderr);
}

#[test]
fn default_features_left_on_get_the_default_features_advice() {
    let ws = Workspace::new("defaults");
    let built = ws.build(&["-p", "defaults"], &[]);
    built.assert_ok();
    assert!(
        built.warns("defaults/Cargo.toml: set `default-features = false` on `polars`"),
        "{}",
        built.stderr
    );
    assert!(built.warns("dtype-datetime"), "{}", built.stderr);
}

#[test]
fn dev_other_target_and_unrelated_build_dependencies_do_not_count() {
    let ws = Workspace::new("elsewhere");
    ws.build(&["-p", "dev-only"], &[]).assert_quiet();
    ws.build(&["-p", "other-target"], &[]).assert_quiet();
    // Built together with the member whose build script uses polars with dtype-full.
    ws.build(&["-p", "minimal", "-p", "build-dep-elsewhere"], &[])
        .assert_quiet();
}

#[test]
fn an_opt_in_feature_counts_only_when_on() {
    let ws = Workspace::new("opt-in");
    ws.build(&["-p", "opt-in"], &[]).assert_quiet();
    let full = ws.build(&["-p", "opt-in", "--features", "full"], &[]);
    full.assert_ok();
    assert!(
        full.warns("feature `full` of crate `opt-in` (requested for this build) enables `polars/dtype-full`"),
        "{}",
        full.stderr
    );
}

#[test]
fn custom_rules_forbid_allow_only_and_require() {
    let ws = Workspace::new("custom");
    ws.write(
        "minimal/build.rs",
        r#"fn main() {
    lowmem_build::Config::new()
        .forbid_features("arrow", &["ffi"])
        .forbid_features("polars_core", &["dtype-u16"])
        .allow_only_features("polars", "dtype-*", &["dtype-i8", "dtype-i16", "dtype-u8", "dtype-u16", "dtype-date"])
        .require_features("polars", &["lazy", "parquet"])
        .check();
}
"#,
    );
    let built = ws.build(&["-p", "minimal"], &[("LOWMEM_BUILD_VERBOSE", "1")]);
    built.assert_ok();
    assert!(
        built.warns("`polars_core` has `dtype-u16` on"),
        "{}",
        built.stderr
    );
    assert!(
        built.warns("`polars` lacks `parquet`, which the feature rules require"),
        "{}",
        built.stderr
    );
    assert!(
        built.warns("minimal/Cargo.toml: add `parquet` to the features of `polars`"),
        "{}",
        built.stderr
    );
    // A rule about a crate that is not in the graph is a note, shown in verbose mode only.
    assert!(
        built.warns("rule about `arrow`: not in the graph"),
        "{}",
        built.stderr
    );
    let quiet = ws.build(&["-p", "minimal"], &[("LOWMEM_BUILD", "warn")]);
    assert!(!quiet.warns("rule about `arrow`"), "{}", quiet.stderr);
}

/// The check from a plain `#[test]`, which runs whatever cargo cached: a test in the member
/// names its own manifest.
#[test]
fn the_test_pattern_catches_a_violation_without_a_build_script() {
    let ws = Workspace::new("test-pattern");
    let test = r#"#[test]
fn polars_stays_minimal() {
    let report = lowmem_build::Config::new()
        .cargo_directives(false)
        .polars_minimal_dtypes()
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .check();
    for violation in &report.features.violations {
        eprintln!("VIOLATION {violation}");
    }
    assert!(report.features.checked, "{:?}", report.features);
    assert!(report.features.violations.is_empty());
}
"#;
    for member in ["minimal", "defaults"] {
        ws.write(&format!("{member}/tests/features.rs"), test);
        let manifest = format!("{member}/Cargo.toml");
        let text = std::fs::read_to_string(ws.root.join(&manifest)).unwrap();
        ws.write(
            &manifest,
            &format!(
                "{text}\n[dev-dependencies]\nlowmem_build = {{ path = {}, features = [\"feature-check\"] }}\n",
                repo_toml()
            ),
        );
    }
    let ok = ws.cargo(
        &["test", "--offline", "-p", "minimal", "--test", "features"],
        &[],
    );
    assert!(ok.success, "{}\n{}", ok.stdout, ok.stderr);
    let caught = ws.cargo(
        &["test", "--offline", "-p", "defaults", "--test", "features"],
        &[],
    );
    assert!(!caught.success, "{}", caught.stdout);
    let output = format!("{}{}", caught.stdout, caught.stderr);
    assert!(
        output.contains("defaults/Cargo.toml: set `default-features = false` on `polars`"),
        "{output}"
    );
}
