//! Real callers built by real cargo: the crate in examples/downstream (and variations of it) is
//! copied to a temporary directory and built with `cargo build`; the assertions are on cargo's
//! own output and on what the built binary prints.

mod common;

use common::{cargo, heavy_store, repo, shared_target, temp_dir, Built};
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

/// The measured case: 1.1 GiB with debug 0, 2.6 GiB with full debuginfo.
const HEAVY: [u64; 3] = [1100, 1300, 2600];

#[test]
fn a_crate_without_heavy_dependencies_is_ok_and_silent_at_1gib() {
    let crate_ = Downstream::new("ds-light", "");
    let built = crate_.build_jobs("2", &[("LOWMEM_BUILD_MEMORY", "1GiB")]);
    built.assert_quiet();
    let printed = crate_.run_binary();
    assert!(printed.contains("tier=ok"), "{printed}");
    assert!(printed.contains("budget_mb=1024"), "{printed}");
    assert!(printed.contains("mode=normal"), "{printed}");
    // What it did estimate, in verbose mode: this small graph, not polars.
    let verbose = crate_.build_jobs(
        "2",
        &[
            ("LOWMEM_BUILD_MEMORY", "1GiB"),
            ("LOWMEM_BUILD_VERBOSE", "1"),
        ],
    );
    verbose.assert_ok();
    assert!(verbose.warns("memory is sufficient"), "{}", verbose.stderr);
    assert!(!verbose.stderr.contains("polars"), "{}", verbose.stderr);
    assert!(verbose.warns("heaviest crates"), "{}", verbose.stderr);
}

#[test]
fn a_small_budget_warns_with_fixes_and_a_large_one_is_silent() {
    let crate_ = Downstream::new("ds-warn", "");
    let store = heavy_store("bin", &crate_.dir, "ds-warn", HEAVY);
    let low = crate_.build_jobs(
        "2",
        &[
            ("LOWMEM_BUILD_MEMORY", "2GiB"),
            ("LOWMEM_BUILD_STORE", &store),
        ],
    );
    low.assert_ok();
    let warnings = low.warnings();
    assert!(warnings[0].starts_with("memory is LOW"), "{}", low.stderr);
    assert!(warnings[0].contains("budget 2.0 GiB (LOWMEM_BUILD_MEMORY)"));
    assert!(
        warnings[0].contains("at the link ds-warn (link) ≈ 2.5 GiB (measured here)"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("fix 1: export CARGO_PROFILE_DEV_DEBUG=0")),
        "{warnings:#?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("CARGO_BUILD_JOBS")),
        "one crate: fewer jobs change nothing: {warnings:#?}"
    );
    assert!(crate_.run_binary().contains("tier=low"));
    assert!(crate_.run_binary().contains("mode=lowmem"));

    let critical = crate_.build(&[
        ("LOWMEM_BUILD_MEMORY", "512MiB"),
        ("LOWMEM_BUILD_STORE", &store),
    ]);
    critical.assert_ok();
    assert!(critical.warnings()[0].starts_with("memory is CRITICAL"));
    assert!(crate_.run_binary().contains("tier=critical"));

    let large = crate_.build(&[
        ("LOWMEM_BUILD_MEMORY", "64GiB"),
        ("LOWMEM_BUILD_STORE", &store),
    ]);
    large.assert_quiet();
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
    let store = heavy_store("bin", &crate_.dir, "ds-deny", HEAVY);
    let denied = crate_.build(&[
        ("LOWMEM_BUILD", "deny"),
        ("LOWMEM_BUILD_MEMORY", "2GiB"),
        ("LOWMEM_BUILD_STORE", &store),
    ]);
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
        .build(&[
            ("LOWMEM_BUILD", "deny"),
            ("LOWMEM_BUILD_MEMORY", "64GiB"),
            ("LOWMEM_BUILD_STORE", &store),
        ])
        .assert_ok();
    crate_
        .build(&[
            ("LOWMEM_BUILD", "warn"),
            ("LOWMEM_BUILD_MEMORY", "2GiB"),
            ("LOWMEM_BUILD_STORE", &store),
        ])
        .assert_ok();
}

/// `try_check()?` from a build script whose `main` returns `Result`: it never fails the build
/// itself (warn mode's warnings are printed), and the `Error` it returns fails the build script
/// with the same lines `check()` would fail it with.
#[test]
fn try_check_leaves_failing_to_the_caller() {
    let crate_ = Downstream::new("ds-try", "");
    crate_.write(
        "build.rs",
        r#"fn main() -> Result<(), lowmem_build::Error> {
    let result = lowmem_build::try_check();
    if std::env::var_os("DS_TRY_IGNORE").is_some() {
        println!("cargo:warning=ignored: {}", result.is_err());
        return Ok(());
    }
    result?;
    Ok(())
}
"#,
    );
    let store = heavy_store("bin", &crate_.dir, "ds-try", HEAVY);
    let short = [
        ("LOWMEM_BUILD", "deny"),
        ("LOWMEM_BUILD_MEMORY", "2GiB"),
        ("LOWMEM_BUILD_STORE", store.as_str()),
    ];
    let failed = crate_.build(&short);
    assert!(!failed.success, "{}", failed.stderr);
    // The warnings warn mode prints, then the error from `main`'s `Err` (its `Debug`).
    assert!(failed.warns("memory is"), "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("Error: MemoryShort: lowmem_build: memory is"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("LOWMEM_BUILD=warn lets it go on"));
    assert!(!failed.stderr.contains("error: ds-try@0.1.0: lowmem_build:"));

    // The caller may ignore it: the build goes on with the warnings.
    let mut ignored: Vec<(&str, &str)> = short.to_vec();
    ignored.push(("DS_TRY_IGNORE", "1"));
    let built = crate_.build(&ignored);
    built.assert_ok();
    assert!(built.stderr.contains("ignored: true"), "{}", built.stderr);
    assert!(built.warns("fix 1:"), "{}", built.stderr);
    // Enough memory: Ok.
    crate_
        .build(&[
            ("LOWMEM_BUILD", "deny"),
            ("LOWMEM_BUILD_MEMORY", "64GiB"),
            ("LOWMEM_BUILD_STORE", &store),
        ])
        .assert_quiet();
}

/// The three switches: a build script that turns off the `rerun-if` lines keeps cargo's
/// default (rerun when any file of the package changes), one that turns off the hints gets
/// none, and warnings go alone.
#[test]
fn each_kind_of_directive_has_its_own_switch() {
    let crate_ = Downstream::new("ds-switch", "");
    let build_rs = |setter: &str| {
        format!(
            "fn main() {{
    lowmem_build::Config::new().{setter}(false).check();
}}
"
        )
    };
    let short = [("LOWMEM_BUILD_MEMORY", "1MiB")];
    let output = |b: &Built| -> Vec<String> {
        b.stdout
            .lines()
            .filter_map(|l| l.split_once("] ").map(|(_, rest)| rest.to_string()))
            .filter(|l| l.starts_with("cargo:"))
            .collect()
    };
    let has = |lines: &[String], prefix: &str| lines.iter().any(|l| l.starts_with(prefix));

    crate_.write("build.rs", &build_rs("rerun_directives"));
    let built = crate_.cargo(&["build", "-vv"], &short);
    built.assert_ok();
    let lines = output(&built);
    assert!(
        has(&lines, "cargo:rustc-env=LOWMEM_BUILD_TIER="),
        "{lines:#?}"
    );
    assert!(!has(&lines, "cargo:rerun-if"), "{lines:#?}");
    assert!(built.warns("memory is"), "{}", built.stderr);
    // With no rerun-if line, cargo reruns the build script when a source file changes.
    crate_.write("src/extra.rs", "// touched\n");
    let again = crate_.cargo(&["build", "-vv"], &short);
    assert!(
        again.stderr.contains("build-script-build`"),
        "the build script did not rerun: {}",
        again.stderr
    );

    // Without the hints, `env!("LOWMEM_BUILD_TIER")` would not compile.
    crate_.write("build.rs", &build_rs("rustc_hints"));
    crate_.write("src/main.rs", "fn main() {}\n");
    let built = crate_.cargo(&["build", "-vv"], &short);
    built.assert_ok();
    let lines = output(&built);
    assert!(!has(&lines, "cargo:rustc-"), "{lines:#?}");
    assert!(
        has(&lines, "cargo:rerun-if-env-changed=LOWMEM_BUILD_MEMORY"),
        "{lines:#?}"
    );
    assert!(built.warns("memory is"), "{}", built.stderr);

    crate_.write("build.rs", &build_rs("cargo_warnings"));
    let built = crate_.cargo(&["build", "-vv"], &short);
    built.assert_ok();
    assert!(built.warnings().is_empty(), "{}", built.stderr);
    let lines = output(&built);
    assert!(has(&lines, "cargo:rustc-cfg=lowmem"), "{lines:#?}");
    assert!(has(&lines, "cargo:rerun-if-env-changed="), "{lines:#?}");
}

#[test]
fn an_old_rust_version_caller_builds_and_deny_still_fails_cleanly() {
    let crate_ = Downstream::new("ds-msrv", "");
    let store = heavy_store("bin", &crate_.dir, "ds-msrv", HEAVY);
    let manifest = std::fs::read_to_string(crate_.dir.join("Cargo.toml")).unwrap();
    crate_.write(
        "Cargo.toml",
        &manifest.replace(
            "edition = \"2021\"",
            "edition = \"2021\"\nrust-version = \"1.70\"",
        ),
    );
    for memory in ["64GiB", "512MiB"] {
        let built = crate_.build(&[
            ("LOWMEM_BUILD_MEMORY", memory),
            ("LOWMEM_BUILD_STORE", &store),
        ]);
        built.assert_ok();
        assert!(!built.stderr.contains("cargo::"), "{}", built.stderr);
        assert!(
            !built.stderr.contains("unexpected `cfg`"),
            "{}",
            built.stderr
        );
    }
    let denied = crate_.build(&[
        ("LOWMEM_BUILD", "deny"),
        ("LOWMEM_BUILD_MEMORY", "512MiB"),
        ("LOWMEM_BUILD_STORE", &store),
    ]);
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
    let tight = |store: &str| {
        vec![
            ("LOWMEM_BUILD_MEMORY", "2GiB".to_string()),
            ("LOWMEM_BUILD_VERBOSE", "1".to_string()),
            ("LOWMEM_BUILD_STORE", store.to_string()),
        ]
    };
    let build = |crate_: &Downstream, env: &[(&str, String)]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate_.build(&env)
    };

    let plain = Downstream::new("ds-plain", "");
    let store = heavy_store("bin", &plain.dir, "ds-plain", HEAVY);
    let built = build(&plain, &tight(&store));
    built.assert_ok();
    assert!(debug_advice(&built), "{}", built.stderr);

    let manifest = Downstream::new("ds-manifest", "[profile.dev]\ndebug = 0\n");
    let store = heavy_store("bin", &manifest.dir, "ds-manifest", HEAVY);
    let built = build(&manifest, &tight(&store));
    built.assert_ok();
    assert!(!debug_advice(&built), "{}", built.stderr);
    assert!(
        built.stderr.contains("[profile.dev] in"),
        "{}",
        built.stderr
    );

    let config = Downstream::new("ds-config", "");
    let store = heavy_store("bin", &config.dir, "ds-config", HEAVY);
    config.write(
        ".cargo/config.toml",
        "[profile.dev]\ndebug = \"line-tables-only\"\n[build]\njobs = 1\n",
    );
    let built = build(&config, &tight(&store));
    built.assert_ok();
    // With line tables the measured 1.3 GiB fits 2 GiB: no fix at all.
    assert!(!debug_advice(&built), "{}", built.stderr);
    assert!(built.warns("memory is sufficient"), "{}", built.stderr);
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
    let store = heavy_store("bin", &env.dir, "ds-env", HEAVY);
    let mut with_env = tight(&store);
    with_env.push(("CARGO_PROFILE_DEV_DEBUG", "0".to_string()));
    let built = build(&env, &with_env);
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

/// A typical web service (tokio, axum, serde, clap, regex, tracing: the calibration project
/// `web`, with its lock file) checks its own graph from its build script: at 2 GiB it is `ok`
/// and prints nothing. `cargo check` compiles the dependencies' metadata only, to keep the test
/// short; the build script runs as in a build. Needs the project's sources in the local
/// registry (`.ci/run` fetches them: `cargo fetch --manifest-path
/// calibration/projects/web/Cargo.toml`).
#[test]
fn a_web_service_graph_is_ok_at_2gib() {
    let dir = temp_dir("web");
    let project = repo().join("calibration/projects/web");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    for file in ["Cargo.lock", "src/main.rs"] {
        std::fs::copy(project.join(file), dir.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        manifest.replace(
            "[dependencies]",
            &format!(
                "[build-dependencies]\nlowmem_build = {{ path = {:?} }}\n\n[dependencies]",
                repo().display().to_string()
            ),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("build.rs"),
        "fn main() {\n    lowmem_build::check();\n}\n",
    )
    .unwrap();
    let target = shared_target("web-target");
    let checked = cargo(
        &dir,
        &target,
        &["check", "-vv", "-j", "2"],
        &[("LOWMEM_BUILD_MEMORY", "2GiB")],
    );
    checked.assert_quiet();
    // -vv shows the build script's output on stdout.
    assert!(
        checked
            .stdout
            .contains("] cargo:rustc-env=LOWMEM_BUILD_TIER=ok"),
        "{}",
        checked.stdout
    );
    // What it estimated, to see that it was this graph: verbose prints the report.
    let verbose = cargo(
        &dir,
        &target,
        &["check", "-j", "2"],
        &[
            ("LOWMEM_BUILD_MEMORY", "2GiB"),
            ("LOWMEM_BUILD_VERBOSE", "1"),
        ],
    );
    verbose.assert_ok();
    assert!(verbose.warns("memory is sufficient"), "{}", verbose.stderr);
    assert!(verbose.warns("heaviest crates"), "{}", verbose.stderr);
    assert!(verbose.warns("tokio"), "{}", verbose.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
