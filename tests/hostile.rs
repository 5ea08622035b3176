//! Hostile environments through real cargo builds: malformed knobs, odd machines (the `odd-*`
//! fixture trees of tests/fixtures/machines), odd projects, a nested cargo that fails, prints
//! garbage or never returns, and lowmem_build in a registry dependency's build script.
//!
//! In every case warn mode builds with at most one warning per problem, naming the variable or
//! file and what is accepted; deny fails only for low memory, never because a probe, a file or
//! the nested cargo misbehaved. Every build here shares one target dir whose path holds a space
//! and a non-ASCII letter, so every OUT_DIR these build scripts see does too.

mod common;

use common::{cargo, cargo_command, heavy_store, repo, repo_toml, shared_target, temp_dir, Built};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The target dir of this file (see the module docs).
fn target() -> PathBuf {
    shared_target("hostile target ü")
}

/// A directory of packages under the system's temp dir, removed on drop.
struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        Project {
            dir: temp_dir(&format!("hostile-{name}")),
        }
    }

    fn write(&self, path: &str, text: &str) -> &Project {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// A binary package `name` in `sub` (`""` for the root) whose build.rs is `build_rs`, with
    /// lowmem_build as a build-dependency and `manifest_extra` appended to its Cargo.toml.
    fn package(&self, sub: &str, name: &str, build_rs: &str, manifest_extra: &str) -> &Project {
        let at = |file: &str| {
            if sub.is_empty() {
                file.to_string()
            } else {
                format!("{sub}/{file}")
            }
        };
        self.write(
            &at("Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [build-dependencies]\nlowmem_build = {{ path = {}, features = [\"feature-check\", \"unstable-internals\"] }}\n{manifest_extra}",
                repo_toml()
            ),
        )
        .write(&at("build.rs"), build_rs)
        .write(&at("src/main.rs"), "fn main() {}\n")
    }

    /// The repository's Cargo.lock in `sub`: the same versions, and no registry needed.
    fn lock(&self, sub: &str) -> &Project {
        std::fs::copy(
            repo().join("Cargo.lock"),
            self.dir.join(sub).join("Cargo.lock"),
        )
        .unwrap();
        self
    }

    fn build(&self, args: &[&str], env: &[(&str, &str)]) -> Built {
        let mut all = vec!["build"];
        all.extend_from_slice(args);
        cargo(&self.dir, &target(), &all, env)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The lowmem_build warnings of package `name` (cargo prefixes them `warning: name@0.1.0: `).
fn warnings_of<'a>(built: &'a Built, name: &str) -> Vec<&'a str> {
    let prefix = format!("warning: {name}@0.1.0: lowmem_build: ");
    built
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

/// Asserts that `built` shows `text` in exactly one lowmem_build warning.
fn once(built: &Built, text: &str) {
    assert_eq!(built.count(text), 1, "{text:?} in:\n{}", built.stderr);
}

const VERBOSE: (&str, &str) = ("LOWMEM_BUILD_VERBOSE", "1");
const DENY: (&str, &str) = ("LOWMEM_BUILD", "deny");

/// The malformed values of every knob, set on cargo's own environment (non-UTF-8 ones too):
/// one warning each naming the variable and what is accepted; the build goes on with the value
/// build.rs gives, in deny mode too.
#[test]
fn malformed_knobs_are_one_warning_each_and_never_fail_the_build() {
    let p = Project::new("knobs");
    p.package(
        "",
        "hx-knobs",
        "fn main() {\n    lowmem_build::Config::new().memory(64 << 30).check();\n}\n",
        "",
    )
    .lock("");
    let cases: [(&str, &[u8]); 11] = [
        ("LOWMEM_BUILD_MEMORY", b""),
        ("LOWMEM_BUILD_MEMORY", b"abc"),
        ("LOWMEM_BUILD_MEMORY", b"-1"),
        ("LOWMEM_BUILD_MEMORY", b"1e99GiB"),
        ("LOWMEM_BUILD_MEMORY", b"18446744073709551616"),
        ("LOWMEM_BUILD_MEMORY", b"2\xffGiB"),
        ("LOWMEM_BUILD_MIN_MEMORY", b"lots"),
        ("LOWMEM_BUILD_VERBOSE", b"loud"),
        ("LOWMEM_BUILD_VERBOSE", b"\xfe"),
        ("LOWMEM_BUILD", b"maybe"),
        ("LOWMEM_BUILD", b"de\xffny"),
    ];
    for (key, value) in cases {
        let policies: &[Option<&str>] = if key == "LOWMEM_BUILD" {
            &[None]
        } else {
            &[None, Some("deny")]
        };
        for policy in policies {
            let mut cmd = cargo_command(&p.dir, &target(), &["build"]);
            cmd.env(key, OsStr::from_bytes(value));
            if let Some(policy) = policy {
                cmd.env("LOWMEM_BUILD", policy);
            }
            let built = Built::from(cmd.output().unwrap());
            built.assert_ok();
            let warnings = built.warnings();
            assert_eq!(warnings.len(), 1, "{key}: {}", built.stderr);
            assert!(
                warnings[0].starts_with(&format!("{key}=")),
                "{}",
                warnings[0]
            );
            assert!(warnings[0].contains("; accepted: "), "{}", warnings[0]);
        }
    }
}

/// `NUM_JOBS` and `OUT_DIR` as cargo never gives them, through `Config::env_var` in a real
/// build script (cargo overwrites both for build scripts, so the outer environment cannot), and
/// the real OUT_DIR with a space and a non-ASCII letter: notes in verbose mode, never a failure.
#[test]
fn odd_num_jobs_and_out_dir_are_notes_not_failures() {
    let p = Project::new("seams");
    p.package(
        "",
        "hx-seams",
        r#"fn main() {
    println!("cargo:rerun-if-env-changed=HOSTILE_SEAM");
    let mut config = lowmem_build::Config::new();
    config.memory(64 << 30).polars_minimal_dtypes();
    match std::env::var("HOSTILE_SEAM").as_deref() {
        Ok("num-jobs-0") => config.env_var("NUM_JOBS", Some("0")),
        Ok("num-jobs-missing") => config.env_var("NUM_JOBS", None),
        Ok("out-dir-nowhere") => config.env_var("OUT_DIR", Some("/nonexistent/lowmem build/out")),
        _ => &mut config,
    };
    config.check();
}
"#,
        "",
    )
    .lock("");

    // The real OUT_DIR: the verdict is stored there and read back on the next run.
    let first = p.build(&[], &[VERBOSE]);
    first.assert_ok();
    assert!(first.warns("checked with cargo tree"), "{}", first.stderr);
    let again = p.build(&[], &[VERBOSE, ("LOWMEM_BUILD_MIN_MEMORY", "1MiB")]);
    again.assert_ok();
    once(&again, "verdict from the cache in OUT_DIR");

    let cases = [
        (
            "num-jobs-0",
            "NUM_JOBS from cargo is missing or not a positive number; assuming all cores",
        ),
        ("num-jobs-missing", "(assumed: not in a build script)"),
        (
            "out-dir-nowhere",
            "verdict not cached: cannot write /nonexistent/lowmem build/out/lowmem_build-features.txt",
        ),
    ];
    for (seam, note) in cases {
        let quiet = p.build(&[], &[("HOSTILE_SEAM", seam)]);
        quiet.assert_quiet();
        let verbose = p.build(&[], &[("HOSTILE_SEAM", seam), VERBOSE]);
        verbose.assert_ok();
        once(&verbose, note);
        p.build(&[], &[("HOSTILE_SEAM", seam), DENY]).assert_quiet();
    }
}

/// One odd machine: its fixture, whether its memory is really short, and the notes the probe
/// must give (each exactly once, in verbose mode).
struct OddMachine {
    name: &'static str,
    short: bool,
    notes: &'static [&'static str],
}

const ODD_MACHINES: [OddMachine; 8] = [
    OddMachine {
        name: "odd-no-mountinfo",
        short: true,
        notes: &["cannot read mounts (/proc/self/mountinfo:"],
    },
    OddMachine {
        name: "odd-empty-limit",
        short: false,
        notes: &[r#"/sys/fs/cgroup/memory.max holds "", not a number of bytes or `max`"#],
    },
    OddMachine {
        name: "odd-truncated",
        short: true,
        notes: &["/proc/self/mountinfo lists no cgroup mount"],
    },
    OddMachine {
        name: "odd-garbage",
        short: true,
        notes: &[
            r#"memory.usage_in_bytes holds "lots", not a number of bytes"#,
            "memory.limit_in_bytes holds ",
        ],
    },
    OddMachine {
        name: "odd-limit-zero",
        short: false,
        notes: &["/sys/fs/cgroup/memory.max is 0, which no running process could live under"],
    },
    OddMachine {
        name: "odd-usage-over-limit",
        short: true,
        notes: &[],
    },
    OddMachine {
        name: "odd-swap-only-v1",
        short: false,
        notes: &[],
    },
    OddMachine {
        name: "odd-swap-only-v2",
        short: false,
        notes: &[],
    },
];

/// The odd fixture machines through `Config::system_root` in a real build script: warn builds
/// with no probe warning (the notes show, once each, in verbose mode); deny fails exactly where
/// the memory is really short (a limit found, or usage over it) and never because of a file
/// that is missing, empty, cut short, garbage or 0.
#[test]
fn odd_machines_warn_once_per_problem_and_deny_fails_only_when_short() {
    let p = Project::new("machines");
    p.package(
        "",
        "hx-machines",
        r#"fn main() {
    println!("cargo:rerun-if-env-changed=HOSTILE_MACHINE");
    let mut config = lowmem_build::Config::new();
    if let Ok(root) = std::env::var("HOSTILE_MACHINE") {
        config.system_root(root);
    }
    config.check();
}
"#,
        "",
    )
    .lock("");
    // Measured here: 2.0 GiB with debug 0, more with debuginfo; machines limited to 1-1.5 GiB
    // are short even at the leanest settings.
    let store = heavy_store("bin", &p.dir, "hx-machines", [2000, 2200, 3000]);
    let fixtures = repo().join("tests/fixtures/machines");
    for machine in &ODD_MACHINES {
        let root = fixtures.join(machine.name).display().to_string();
        let on = ("HOSTILE_MACHINE", root.as_str());
        let stored = ("LOWMEM_BUILD_STORE", store.as_str());
        let context = |b: &Built| format!("{}: {}", machine.name, b.stderr);

        let warned = p.build(&[], &[on, stored]);
        assert!(warned.success, "{}", context(&warned));
        let warnings = warned.warnings();
        if machine.short {
            assert!(
                warnings[0].starts_with("memory is "),
                "{}",
                context(&warned)
            );
        } else {
            assert!(warnings.is_empty(), "{}", context(&warned));
        }
        for note in machine.notes {
            assert_eq!(warned.count(note), 0, "{}", context(&warned));
        }

        let verbose = p.build(&[], &[on, stored, VERBOSE]);
        assert!(verbose.success, "{}", context(&verbose));
        for note in machine.notes {
            assert_eq!(verbose.count(note), 1, "{note}: {}", context(&verbose));
        }

        let denied = p.build(&[], &[on, stored, DENY]);
        assert_eq!(denied.success, !machine.short, "{}", context(&denied));
        if machine.short {
            assert!(
                denied.stderr.contains("lowmem_build: memory is CRITICAL"),
                "{}",
                context(&denied)
            );
        }
        p.build(&[], &[on, stored, DENY, ("LOWMEM_BUILD_MEMORY", "64GiB")])
            .assert_quiet();
    }
}

/// A package inside another package's directory (no workspace anywhere), and a member of a
/// virtual workspace whose root profile has a key cargo does not know.
#[test]
fn no_workspace_and_a_virtual_workspace_read_the_right_manifest() {
    let p = Project::new("layouts");
    // The outer package's profile is not the inner one's: it is no workspace root.
    p.write(
        "outer/Cargo.toml",
        "[package]\nname = \"hx-outer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[profile.dev]\ndebug = 0\n",
    )
    .write("outer/src/lib.rs", "")
    .package(
        "outer/inner",
        "hx-inner",
        "fn main() {\n    lowmem_build::check();\n}\n",
        "",
    )
    .lock("outer/inner");
    let inner = cargo(
        &p.dir.join("outer/inner"),
        &target(),
        &["build"],
        &[VERBOSE, ("LOWMEM_BUILD_MEMORY", "64GiB")],
    );
    inner.assert_ok();
    once(&inner, "debug             2 (full)");
    assert_eq!(inner.count("outer/Cargo.toml"), 0, "{}", inner.stderr);
    assert_eq!(inner.count("note "), 0, "{}", inner.stderr);

    p.write(
        "ws/Cargo.toml",
        "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n[profile.dev]\ndebug = \"line-tables-only\"\nno-such-key = 1\n",
    )
    .package(
        "ws/app",
        "hx-member",
        "fn main() {\n    lowmem_build::check();\n}\n",
        "",
    )
    .lock("ws");
    let ws = p.dir.join("ws");
    let member = cargo(
        &ws,
        &target(),
        &["build"],
        &[VERBOSE, ("LOWMEM_BUILD_MEMORY", "64GiB")],
    );
    member.assert_ok();
    once(
        &member,
        &format!(
            "line-tables-only ([profile.dev] in {})",
            ws.join("Cargo.toml").display()
        ),
    );
    assert!(
        member.stderr.contains("no-such-key"),
        "cargo's own warning: {}",
        member.stderr
    );
    assert_eq!(member.count("no-such-key"), 0, "{}", member.stderr);
    assert_eq!(member.count("note "), 0, "{}", member.stderr);
}

/// A `.cargo/config.toml` that cargo does not read (the build runs from the parent directory
/// with `--manifest-path`) but lowmem_build does (it looks from the package's directory): invalid
/// TOML, values of the wrong type, an `inherits` cycle. Cargo itself rejects each of these in a
/// file it reads, so this is where lowmem_build meets them in a real build.
#[test]
fn a_broken_config_cargo_ignores_is_one_note_naming_the_file() {
    let p = Project::new("configs");
    p.package(
        "app",
        "hx-configs",
        "fn main() {\n    lowmem_build::check();\n}\n",
        "\n[profile.lowmem]\ninherits = \"dev\"\n",
    )
    .lock("app");
    let config = p.dir.join("app/.cargo/config.toml").display().to_string();
    let cases: [(&str, &[&str], Vec<String>); 3] = [
        (
            "[profile.dev]\ndebug = 0\n[build\njobs = 1\n",
            &[],
            vec![format!("{config}: not valid TOML (line 3")],
        ),
        (
            "[profile.dev]\ndebug = \"lots\"\ncodegen-units = \"many\"\n",
            &[],
            vec![
                format!("debug = \"lots\" ([profile.dev] in {config}) is not understood; accepted: 0, 1, 2"),
                format!("codegen-units = \"many\" ([profile.dev] in {config}) is not understood; accepted: a whole number from 1"),
            ],
        ),
        (
            "[profile.lowmem]\ninherits = \"loop\"\n[profile.loop]\ninherits = \"lowmem\"\n",
            &["--profile", "lowmem"],
            vec![format!(
                "profile `lowmem` inherits in a cycle (lowmem -> loop -> lowmem, set in [profile.loop] in {config}); assuming it is like dev"
            )],
        ),
    ];
    for (text, args, notes) in cases {
        p.write("app/.cargo/config.toml", text);
        let mut all = vec!["--manifest-path", "app/Cargo.toml"];
        all.extend_from_slice(args);
        let memory = ("LOWMEM_BUILD_MEMORY", "64GiB");
        p.build(&all, &[memory]).assert_quiet();
        let verbose = p.build(&all, &[memory, VERBOSE]);
        verbose.assert_ok();
        for note in &notes {
            once(&verbose, note);
        }
        p.build(&all, &[memory, DENY]).assert_quiet();
    }
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) -> String {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// A workspace of two members with feature rules, one in warn and one in deny mode (in
/// build.rs), both taking the cargo to run from `HOSTILE_FAKE_CARGO` through
/// `Config::env_var("CARGO", ..)`. Cargo sets `CARGO` for build scripts to its own path whatever
/// its caller's environment says, so this seam is the way a real build runs a fake cargo.
fn nested_cargo_workspace(name: &str) -> Project {
    let p = Project::new(name);
    p.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"warn\", \"deny\"]\nresolver = \"2\"\n",
    );
    for (member, policy) in [("warn", "Warn"), ("deny", "Deny")] {
        p.package(
            member,
            &format!("nc-{member}"),
            &format!(
                r#"fn main() {{
    println!("cargo:rerun-if-env-changed=HOSTILE_FAKE_CARGO");
    let mut config = lowmem_build::Config::new();
    config
        .memory(64 << 30)
        .policy(lowmem_build::Policy::{policy})
        .polars_minimal_dtypes();
    if let Ok(fake) = std::env::var("HOSTILE_FAKE_CARGO") {{
        config.env_var("CARGO", Some(&fake));
    }}
    config.check();
}}
"#
            ),
            "",
        );
    }
    p.lock("");
    p
}

/// Asserts that the build went on and each member said once why the feature check was skipped.
fn skipped_once(built: &Built, why: &str) {
    built.assert_ok();
    for member in ["nc-warn", "nc-deny"] {
        let warnings = warnings_of(built, member);
        assert_eq!(warnings.len(), 1, "{member}: {}", built.stderr);
        assert!(
            warnings[0].starts_with("feature check skipped: ") && warnings[0].contains(why),
            "{member}: {}",
            built.stderr
        );
    }
}

/// A nested cargo that fails, prints garbage or is not there: one warning each, the build goes
/// on, deny included.
#[test]
fn a_nested_cargo_that_fails_or_prints_garbage_is_one_warning() {
    let p = nested_cargo_workspace("nested");
    p.build(&[], &[]).assert_quiet();
    let fails = script(
        &p.dir.join("cargo-fails"),
        "echo 'error: the lock file is on fire' >&2\nexit 1",
    );
    let built = p.build(&[], &[("HOSTILE_FAKE_CARGO", &fails)]);
    skipped_once(&built, "`cargo tree` failed: the lock file is on fire");

    let garbage = script(
        &p.dir.join("cargo-garbage"),
        r"printf '\377\376\000garbage\n|\n7deep v1|x\n\n'; head -c 200000 /dev/zero | tr '\0' 'x'",
    );
    let built = p.build(&[], &[("HOSTILE_FAKE_CARGO", &garbage)]);
    skipped_once(&built, "`cargo tree` printed nothing readable for `nc-");

    let missing = p.dir.join("no-such-cargo").display().to_string();
    let built = p.build(&[], &[("HOSTILE_FAKE_CARGO", &missing)]);
    skipped_once(&built, &format!("could not run `{missing}`"));
}

/// A nested cargo that never returns: the check stops it at its 20 s timeout with one warning
/// and the build goes on. Its own target dir, so the wait does not hold the lock of the shared
/// one; both members wait side by side.
#[test]
fn a_nested_cargo_that_never_returns_is_stopped_at_the_timeout() {
    const TIMEOUT: Duration = Duration::from_secs(20);
    let p = nested_cargo_workspace("hang");
    let target = shared_target("hostile-hang");
    cargo(&p.dir, &target, &["build"], &[]).assert_quiet();
    let hangs = script(&p.dir.join("cargo-hangs"), "exec sleep 1000");
    let started = Instant::now();
    let built = cargo(
        &p.dir,
        &target,
        &["build"],
        &[("HOSTILE_FAKE_CARGO", &hangs)],
    );
    let took = started.elapsed();
    skipped_once(&built, "did not finish within 20 s and was stopped");
    assert!(
        took >= TIMEOUT,
        "the fake cargo was not waited for: {took:?}"
    );
    assert!(
        took < TIMEOUT + Duration::from_secs(30),
        "not stopped at the timeout: {took:?}"
    );
}

/// Every file under `dir` with its size, modification time and contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime, Vec<u8>)> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(next) = todo.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            } else {
                let bytes = std::fs::read(entry.path()).unwrap();
                files.insert(entry.path(), (meta.len(), meta.modified().unwrap(), bytes));
            }
        }
    }
    files
}

/// lowmem_build in the build script of a package that comes from a registry (a directory
/// source standing in for an alternative registry, with `.cargo-checksum.json`): the feature
/// check is skipped with a note, deny still fails for low memory, and nothing is written into
/// the package's source directory.
#[test]
fn in_a_registry_dependency_nothing_is_written_to_its_source() {
    let p = Project::new("registry");
    p.write(
        "vendor/hx-dep/Cargo.toml",
        "[package]\nname = \"hx-dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[build-dependencies]\nlowmem_build = {version = \"0.1\", features = [\"feature-check\"]}\n",
    )
    .write(
        "vendor/hx-dep/build.rs",
        "fn main() {\n    lowmem_build::Config::new().polars_minimal_dtypes().require_features(\"hx-dep\", &[\"x\"]).check();\n}\n",
    )
    .write("vendor/hx-dep/src/lib.rs", "pub fn f() {}\n")
    .write(
        "vendor/hx-dep/.cargo-checksum.json",
        "{\"files\":{},\"package\":null}",
    )
    .write(
        "app/Cargo.toml",
        &format!(
            "[package]\nname = \"hx-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nhx-dep = {{ version = \"0.1\", registry = \"hostile\" }}\n\n\
             [patch.crates-io]\nlowmem_build = {{ path = {} }}\n",
            repo_toml()
        ),
    )
    .write("app/src/main.rs", "fn main() {\n    hx_dep::f();\n}\n")
    .write(
        "app/.cargo/config.toml",
        &format!(
            "[registries.hostile]\nindex = \"sparse+https://hostile.invalid/index/\"\n\n\
             [source.hostile-registry]\nregistry = \"sparse+https://hostile.invalid/index/\"\nreplace-with = \"vendored\"\n\n\
             [source.vendored]\ndirectory = {:?}\n",
            p.dir.join("vendor").display().to_string()
        ),
    )
    .lock("app");
    let source = p.dir.join("vendor/hx-dep");
    let before = snapshot(&source);
    let app = p.dir.join("app");

    let built = cargo(
        &app,
        &target(),
        &["build", "-vv"],
        &[VERBOSE, ("LOWMEM_BUILD_MEMORY", "64GiB")],
    );
    built.assert_ok();
    let skipped = format!(
        "feature check skipped: {} is a registry, git or vendored package",
        source.display()
    );
    assert_eq!(
        warnings_of(&built, "hx-dep")
            .iter()
            .filter(|w| w.contains(&skipped))
            .count(),
        1,
        "{}",
        built.stderr
    );
    assert_eq!(snapshot(&source), before, "the build wrote into the source");

    // The dependency's build script estimates the workspace that uses it (found from where
    // cargo was started), in which hx-dep was measured heavy.
    let store = heavy_store("lib", &p.dir, "hx-dep", [2000, 2200, 3000]);
    let denied = cargo(
        &app,
        &target(),
        &["build"],
        &[
            DENY,
            ("LOWMEM_BUILD_MEMORY", "512MiB"),
            ("LOWMEM_BUILD_STORE", &store),
        ],
    );
    assert!(!denied.success, "{}", denied.stderr);
    assert!(
        denied
            .stderr
            .contains("hx-dep@0.1.0: lowmem_build: memory is CRITICAL"),
        "{}",
        denied.stderr
    );
    assert_eq!(snapshot(&source), before, "the build wrote into the source");
}
