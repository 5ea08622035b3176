//! Real callers built by real cargo: the crate in examples/downstream (and variations of it) is
//! copied to a temporary directory and built with `cargo build`; the assertions are on cargo's
//! own output and on what the built binary prints.

mod common;

use common::{cargo, repo, shared_target, temp_dir, Built};
use std::path::PathBuf;
use std::process::Command;

/// A downstream crate in a temporary directory, removed on drop.
struct Downstream {
    dir: PathBuf,
    name: String,
}

impl Downstream {
    /// A copy of examples/downstream named `name`; `manifest_extra` is appended to Cargo.toml.
    fn new(name: &str, manifest_extra: &str) -> Downstream {
        let dir = temp_dir(name);
        let example = repo().join("examples/downstream");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let manifest = std::fs::read_to_string(example.join("Cargo.toml"))
            .unwrap()
            .replace(
                "name = \"lowmem-downstream\"",
                &format!("name = \"{name}\""),
            )
            .replace(
                "path = \"../..\"",
                &format!("path = {:?}", repo().display().to_string()),
            );
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("{manifest}\n{manifest_extra}"),
        )
        .unwrap();
        for file in ["build.rs", "src/main.rs"] {
            std::fs::copy(example.join(file), dir.join(file)).unwrap();
        }
        // Same versions as the repository, and no need to reach a registry.
        if repo().join("Cargo.lock").is_file() {
            std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        }
        Downstream {
            dir,
            name: name.to_string(),
        }
    }

    fn write(&self, path: &str, text: &str) -> &Downstream {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn cargo(&self, args: &[&str], env: &[(&str, &str)]) -> Built {
        cargo(&self.dir, &shared_target("downstream-target"), args, env)
    }

    fn build(&self, env: &[(&str, &str)]) -> Built {
        self.cargo(&["build"], env)
    }

    /// `cargo build -j <jobs>`.
    fn build_jobs(&self, jobs: &str, env: &[(&str, &str)]) -> Built {
        self.cargo(&["build", "-j", jobs], env)
    }

    /// Runs the built binary and returns what it printed.
    fn run_binary(&self) -> String {
        let exe = shared_target("downstream-target")
            .join("debug")
            .join(&self.name);
        let out = Command::new(exe).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_small_budget_warns_with_fixes_and_a_large_one_is_silent() {
    let crate_ = Downstream::new("ds-warn", "");
    let small = crate_.build_jobs("2", &[("LOWMEM_BUILD_MEMORY", "512MiB")]);
    small.assert_ok();
    let warnings = small.warnings();
    assert!(
        warnings[0].starts_with("memory is CRITICAL"),
        "{}",
        small.stderr
    );
    assert!(warnings[0].contains("budget 512 MiB (LOWMEM_BUILD_MEMORY)"));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("export CARGO_PROFILE_DEV_DEBUG=0")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("export CARGO_BUILD_JOBS=1")),
        "{warnings:#?}"
    );
    assert!(crate_.run_binary().contains("tier=critical"));
    assert!(crate_.run_binary().contains("mode=lowmem"));

    let large = crate_.build(&[("LOWMEM_BUILD_MEMORY", "64GiB")]);
    large.assert_ok();
    assert!(large.warnings().is_empty(), "{}", large.stderr);
    assert!(
        !large.stderr.contains("unexpected `cfg`"),
        "{}",
        large.stderr
    );
    let printed = crate_.run_binary();
    assert!(printed.contains("tier=ok"), "{printed}");
    assert!(printed.contains("budget_mb=65536"), "{printed}");
    assert!(printed.contains("mode=normal"), "{printed}");
}

#[test]
fn deny_fails_the_build_with_the_headline_and_fixes() {
    let crate_ = Downstream::new("ds-deny", "");
    let denied = crate_.build(&[("LOWMEM_BUILD", "deny"), ("LOWMEM_BUILD_MEMORY", "1GiB")]);
    assert!(!denied.success, "{}", denied.stderr);
    assert!(
        denied.stderr.contains("lowmem_build: memory is"),
        "{}",
        denied.stderr
    );
    assert!(
        denied.stderr.contains("export CARGO_PROFILE_DEV_DEBUG=0"),
        "{}",
        denied.stderr
    );
    assert!(
        denied.stderr.contains("LOWMEM_BUILD=deny"),
        "{}",
        denied.stderr
    );
    // cargo 1.84+ shows `cargo::error` as `error: <pkg>@<version>: ...`.
    assert!(
        denied
            .stderr
            .contains("error: ds-deny@0.1.0: lowmem_build:"),
        "{}",
        denied.stderr
    );

    // Deny with enough memory builds, and warn mode with the same small budget builds.
    crate_
        .build(&[("LOWMEM_BUILD", "deny"), ("LOWMEM_BUILD_MEMORY", "64GiB")])
        .assert_ok();
    crate_
        .build(&[("LOWMEM_BUILD", "warn"), ("LOWMEM_BUILD_MEMORY", "1GiB")])
        .assert_ok();
}

#[test]
fn an_old_rust_version_caller_builds_and_deny_still_fails_cleanly() {
    let crate_ = Downstream::new("ds-msrv", "");
    let manifest = std::fs::read_to_string(crate_.dir.join("Cargo.toml")).unwrap();
    crate_.write(
        "Cargo.toml",
        &manifest.replace(
            "edition = \"2021\"",
            "edition = \"2021\"\nrust-version = \"1.70\"",
        ),
    );
    for memory in ["64GiB", "512MiB"] {
        let built = crate_.build(&[("LOWMEM_BUILD_MEMORY", memory)]);
        built.assert_ok();
        assert!(!built.stderr.contains("cargo::"), "{}", built.stderr);
        assert!(
            !built.stderr.contains("unexpected `cfg`"),
            "{}",
            built.stderr
        );
    }
    let denied = crate_.build(&[("LOWMEM_BUILD", "deny"), ("LOWMEM_BUILD_MEMORY", "512MiB")]);
    assert!(!denied.success);
    assert!(
        denied
            .stderr
            .contains("failed to run custom build command for `ds-msrv"),
        "{}",
        denied.stderr
    );
    assert!(
        denied
            .stderr
            .contains("error: lowmem_build: memory is CRITICAL"),
        "{}",
        denied.stderr
    );
    assert!(!denied.stderr.contains("cargo::"), "{}", denied.stderr);
}

/// The debug advice is given for the dev default and dropped when debug = 0 is set through any
/// of the places cargo reads it from.
#[test]
fn settings_from_profile_config_and_env_are_seen() {
    let debug_advice = |built: &Built| built.warnings().iter().any(|w| w.contains("_DEBUG=0"));
    let tight = [
        ("LOWMEM_BUILD_MEMORY", "2GiB"),
        ("LOWMEM_BUILD_VERBOSE", "1"),
    ];

    let plain = Downstream::new("ds-plain", "");
    let built = plain.build(&tight);
    built.assert_ok();
    assert!(debug_advice(&built), "{}", built.stderr);

    let manifest = Downstream::new("ds-manifest", "[profile.dev]\ndebug = 0\n");
    let built = manifest.build(&tight);
    built.assert_ok();
    assert!(!debug_advice(&built), "{}", built.stderr);
    assert!(
        built.stderr.contains("[profile.dev] in"),
        "{}",
        built.stderr
    );

    let config = Downstream::new("ds-config", "");
    config.write(
        ".cargo/config.toml",
        "[profile.dev]\ndebug = \"line-tables-only\"\n[build]\njobs = 1\n",
    );
    let built = config.build(&tight);
    built.assert_ok();
    // The full-debuginfo fix is dropped; at 2 GiB the line-tables link still does not fit
    // comfortably, so only the follow-up to debug = 0 remains.
    assert!(!built.warns("peak -48%"), "{}", built.stderr);
    assert!(built.warns("final link 2.0 -> 1.3 GB"), "{}", built.stderr);
    assert!(
        built.stderr.contains("line-tables-only ([profile.dev] in"),
        "{}",
        built.stderr
    );
    assert!(
        built
            .stderr
            .contains("jobs              1 (NUM_JOBS from cargo)"),
        "{}",
        built.stderr
    );

    let env = Downstream::new("ds-env", "");
    let mut with_env = tight.to_vec();
    with_env.push(("CARGO_PROFILE_DEV_DEBUG", "0"));
    let built = env.build(&with_env);
    built.assert_ok();
    assert!(!debug_advice(&built), "{}", built.stderr);
    assert!(
        built
            .stderr
            .contains("debug             0 (CARGO_PROFILE_DEV_DEBUG)"),
        "{}",
        built.stderr
    );
}

#[test]
fn a_malformed_knob_is_one_warning_and_the_build_goes_on() {
    let crate_ = Downstream::new("ds-knob", "");
    let built = crate_.build(&[("LOWMEM_BUILD_MEMORY", "lots"), ("LOWMEM_BUILD", "maybe")]);
    built.assert_ok();
    let warnings = built.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("LOWMEM_BUILD_MEMORY=\"lots\" is not a size; accepted:")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("LOWMEM_BUILD=\"maybe\" is not understood")),
        "{warnings:#?}"
    );
}

/// Feature rules in a caller that did not turn on `feature-check`: the default build of this
/// crate cannot check them. Warn mode says so once and builds; deny mode fails with the fix
/// (the rules were asked for and nothing would enforce them).
#[test]
fn feature_rules_without_the_feature_check_feature_say_how_to_turn_it_on() {
    let crate_ = Downstream::new("ds-no-feature-check", "");
    crate_.write(
        "build.rs",
        "fn main() {\n    lowmem_build::Config::new().polars_minimal_dtypes().check();\n}\n",
    );
    let warned = crate_.build(&[("LOWMEM_BUILD_MEMORY", "64GiB")]);
    warned.assert_ok();
    assert_eq!(
        warned.warnings(),
        vec![
            "feature rules are set but not checked: lowmem_build was built without its \
             `feature-check` feature; add `features = [\"feature-check\"]` to `lowmem_build` \
             under [build-dependencies]"
        ],
        "{}",
        warned.stderr
    );

    let denied = crate_.build(&[("LOWMEM_BUILD", "deny"), ("LOWMEM_BUILD_MEMORY", "64GiB")]);
    assert!(!denied.success, "{}", denied.stderr);
    assert!(
        denied.stderr.contains(
            "error: ds-no-feature-check@0.1.0: lowmem_build: feature check: feature rules are set but not checked"
        ),
        "{}",
        denied.stderr
    );
    assert!(
        !denied.stderr.contains("warning: ds-no-feature-check"),
        "the problem is the error, not also a warning:\n{}",
        denied.stderr
    );
}
