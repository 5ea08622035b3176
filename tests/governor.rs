//! `cargo lowmem build` in real memory cgroups, where the kernel's OOM killer really kills rustc.
//!
//! A generated workspace of two independent crates of 11,000 plain functions each: each rustc
//! takes about 670 MiB of anonymous memory (measured here), so a plain `cargo build -j2` does not
//! fit in 1 GiB and `-j1` does. Needs root and a memory cgroup this process may make children
//! of (cgroup v1 `memory.limit_in_bytes` or v2 `memory.max`); elsewhere each test says why it is
//! skipped and passes.

mod common;

use common::{
    generate_lockfile, generated_source, heavy_store, isolated_command, temp_dir, write_files,
    Cgroup,
};
use lowmem_build::store;
use std::path::PathBuf;
use std::process::Command;

/// The generated workspace: crates gen-a and gen-b, each 11,000 small functions.
fn workspace(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers = [\"gen-a\", \"gen-b\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    for c in ["a", "b"] {
        let krate = dir.join(format!("gen-{c}"));
        std::fs::create_dir_all(krate.join("src")).unwrap();
        std::fs::write(
            krate.join("Cargo.toml"),
            format!("[package]\nname = \"gen-{c}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        )
        .unwrap();
        std::fs::write(krate.join("src/lib.rs"), generated_source(11_000, "f")).unwrap();
    }
    generate_lockfile(&dir);
    dir
}

const LOWMEM: &str = env!("CARGO_BIN_EXE_cargo-lowmem");

/// In 1 GiB, `cargo lowmem build -j2` finishes where the two crates together would not fit: the
/// governor holds one back or makes it give way; the kernel kills nothing. The store then holds
/// both crates' peaks, and a second build admits from them: one waits for the other from the
/// start, and nothing is killed or retried.
#[test]
fn two_heavy_crates_build_in_1gib_with_the_governor() {
    let Some(cgroup) = Cgroup::new("fits", 1024) else {
        return;
    };
    let dir = workspace("governor-fits");
    let target = dir.join("target");
    let (ok, stderr) = cgroup.run(
        &dir,
        &target,
        LOWMEM,
        &["lowmem", "build", "-j2", "--workspace"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(cgroup.oom_kills(), 0, "{stderr}");
    let records = store::read(&store::path_in(&target));
    for krate in ["gen_a", "gen_b"] {
        let peak = records
            .iter()
            .filter(|r| r.krate == krate && r.succeeded())
            .map(|r| r.anon_kib)
            .max()
            .unwrap_or(0);
        assert!(peak > 300 * 1024, "{krate}: {peak} KiB\n{stderr}");
    }

    // Again from clean, the store kept: the estimate knows both peaks before either starts.
    std::fs::remove_dir_all(target.join("debug")).unwrap();
    let (ok, stderr) = cgroup.run(
        &dir,
        &target,
        LOWMEM,
        &["lowmem", "build", "-j2", "--workspace"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(cgroup.oom_kills(), 0, "{stderr}");
    assert!(stderr.contains("     Waiting gen_"), "{stderr}");
    assert!(!stderr.contains("Retrying"), "{stderr}");

    // Always on: plain cargo with `build.rustc-wrapper = "cargo-lowmem"` governs too.
    std::fs::remove_dir_all(target.join("debug")).unwrap();
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(
        dir.join(".cargo/config.toml"),
        format!("[build]\nrustc-wrapper = {LOWMEM:?}\n"),
    )
    .unwrap();
    // A store past its size limit: with no `cargo lowmem` parent, a wrapper compacts it.
    let peaks = store::path_in(&target);
    let mut filler = store::Record::default();
    filler.krate = "filler".into();
    filler.package = "filler".into();
    filler.version = "0.1.0".into();
    store::append(&peaks, &filler).unwrap();
    let line = format!("{}\n", filler.to_line());
    let repeats = (store::COMPACT_ABOVE_BYTES as usize / line.len()) + 1;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&peaks)
        .unwrap();
    std::io::Write::write_all(&mut file, line.repeat(repeats).as_bytes()).unwrap();
    drop(file);
    let before = store::read(&peaks).len();
    let (ok, stderr) = cgroup.run(
        &dir,
        &target,
        env!("CARGO"),
        &["build", "-j2", "--workspace"],
    );
    assert!(ok, "{stderr}");
    assert_eq!(cgroup.oom_kills(), 0, "{stderr}");
    assert!(stderr.contains("     Waiting gen_"), "{stderr}");
    let after = store::read(&peaks);
    assert!(
        std::fs::metadata(&peaks).unwrap().len() <= store::COMPACT_ABOVE_BYTES,
        "not compacted: {before} records before, {} after",
        after.len()
    );
    assert!(after.iter().filter(|r| r.krate == "filler").count() <= 3);
    assert!(after.iter().any(|r| r.krate.starts_with("gen_")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Below what one crate needs, the build fails, and the post-mortem names the OOM kill, the
/// crate and the budget (the governor retried it alone first).
#[test]
fn a_crate_that_cannot_fit_gets_a_post_mortem() {
    let Some(cgroup) = Cgroup::new("short", 384) else {
        return;
    };
    let dir = workspace("governor-short");
    let target = dir.join("target");
    let (ok, stderr) = cgroup.run(
        &dir,
        &target,
        LOWMEM,
        &["lowmem", "build", "-j2", "-p", "gen-a", "--report"],
    );
    assert!(!ok, "{stderr}");
    assert!(cgroup.oom_kills() >= 1);
    // The memory report shows the kill, the crate it hit and the limit it hit.
    let path = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Memory report saved to "))
        .unwrap_or_else(|| panic!("no report path in: {stderr}"));
    let html = std::fs::read_to_string(path).unwrap();
    assert!(path.starts_with(target.to_str().unwrap()), "{path}");
    assert!(
        html.contains("OOM-killed by the kernel") && html.contains("<td>gen_a</td>"),
        "{html}"
    );
    assert!(html.contains(">cgroup limit 384 MiB</text>"), "{html}");
    assert!(
        html.contains("<td>OOM-killed by the kernel</td></tr>"),
        "{html}"
    );
    assert!(
        stderr
            .contains("error: cargo-lowmem: the kernel's OOM killer killed rustc compiling gen_a"),
        "{stderr}"
    );
    assert!(stderr.contains("the budget was"), "{stderr}");
    assert!(
        stderr.contains("Retrying gen_a: OOM-killed; again, alone"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Feature rules declared as data: `cargo lowmem preflight` reports the broken rule before
/// anything compiles, and under the governor, in deny mode, the build stops as the offending
/// crate is about to compile, naming it, the feature and who turned it on; warn mode says so and
/// builds.
#[test]
fn feature_rules_in_the_manifest_stop_a_denied_build_before_the_crate_compiles() {
    let dir = temp_dir("governor-rules");
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[package]\nname = \"rules-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nheavy = { path = \"heavy\", features = [\"full\"] }\n\n\
         [package.metadata.lowmem_build]\nforbid-features = { heavy = [\"full\"] }\n",
    );
    write("src/main.rs", "fn main() { heavy::f(); }\n");
    write(
        "heavy/Cargo.toml",
        "[package]\nname = \"heavy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nfull = []\n",
    );
    write("heavy/src/lib.rs", "pub fn f() {}\n");
    generate_lockfile(&dir);
    let target = dir.join("target");
    let run = |args: &[&str], deny: bool| {
        let mut command = Command::new(LOWMEM);
        command
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("LOWMEM_BUILD_MEMORY");
        if deny {
            command.env("LOWMEM_BUILD", "deny");
        } else {
            command.env_remove("LOWMEM_BUILD");
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (_, stdout, stderr) = run(&["lowmem", "preflight"], false);
    assert!(
        stdout.contains("feature rule") && stdout.contains("`heavy` has `full` on"),
        "{stdout}\n{stderr}"
    );

    let (ok, _, stderr) = run(&["lowmem", "build"], true);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("error: cargo-lowmem: feature rule broken: `heavy` would be compiled with full (`heavy` must not have full); stopped before it compiles"),
        "{stderr}"
    );
    assert!(stderr.contains("heavy feature \"full\""), "{stderr}");
    assert!(stderr.contains("rules-app v0.1.0"), "{stderr}");
    let compiled = std::fs::read_dir(target.join("debug/deps"))
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libheavy"))
        })
        .unwrap_or(false);
    assert!(!compiled, "heavy must not have been compiled");

    let (ok, _, stderr) = run(&["lowmem", "build"], false);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("        Rule `heavy` would be compiled with full"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A wrapper already configured (sccache's place) keeps working: `cargo lowmem` runs it behind
/// itself for every rustc, from `RUSTC_WRAPPER` or `build.rustc-wrapper`; and `cargo lowmem exec`
/// governs any command that runs cargo.
#[test]
fn a_configured_wrapper_is_chained_and_exec_governs_any_command() {
    let dir = temp_dir("governor-chain");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"chained\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    // A stand-in for sccache: logs each compiler call, then runs it.
    let log = dir.join("inner.log");
    let inner = dir.join("inner-wrapper.sh");
    std::fs::write(
        &inner,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o755)).unwrap();
    let target = dir.join("target");
    let run = |args: &[&str], wrapper_env: bool| {
        let mut command = Command::new(LOWMEM);
        command
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_NET_OFFLINE", "true");
        if wrapper_env {
            command.env("RUSTC_WRAPPER", &inner);
        } else {
            command.env_remove("RUSTC_WRAPPER");
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stderr) = run(&["lowmem", "build"], true);
    assert!(ok, "{stderr}");
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(logged.contains("--crate-name chained"), "{logged}");
    let records = store::read(&store::path_in(&target));
    assert!(records.iter().any(|r| r.krate == "chained"), "measured too");

    // The config-file form.
    std::fs::remove_file(&log).unwrap();
    std::fs::remove_dir_all(&target).unwrap();
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(
        dir.join(".cargo/config.toml"),
        format!(
            "[build]\nrustc-wrapper = {:?}\n",
            inner.display().to_string()
        ),
    )
    .unwrap();
    let (ok, stderr) = run(&["lowmem", "build"], false);
    assert!(ok, "{stderr}");
    assert!(std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("--crate-name chained"));
    std::fs::remove_file(dir.join(".cargo/config.toml")).unwrap();

    // exec: the command runs with the governor in its environment.
    std::fs::remove_dir_all(&target).unwrap();
    let (ok, stderr) = run(&["lowmem", "exec", "--", env!("CARGO"), "build"], false);
    assert!(ok, "{stderr}");
    let records = store::read(&store::path_in(&target));
    assert!(records.iter().any(|r| r.krate == "chained"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Feature rules of workspace members: in a virtual workspace, `app` forbids `heavy/full` and
/// `extra` turns it on behind its feature `full`, which `app/full` enables; the root forbids
/// `heavy/debug-dump`. Under the governor in deny mode, the build stops before `heavy` compiles,
/// whether cargo runs from the root, from the member, or always on (`build.rustc-wrapper`,
/// where the rules come from the workspace cargo runs in).
#[test]
fn member_rules_apply_from_the_root_and_from_the_member() {
    let dir = temp_dir("governor-member-rules");
    write_files(
        &dir,
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\", \"extra\"]\nresolver = \"2\"\n\n\
                 [workspace.metadata.lowmem_build]\nforbid-features = { heavy = [\"debug-dump\"] }\n",
            ),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\nextra = { path = \"../extra\" }\n\n\
                 [features]\nfull = [\"extra/full\"]\ndump = [\"extra/dump\"]\n\n\
                 [package.metadata.lowmem_build]\nforbid-features = { heavy = [\"full\"] }\n",
            ),
            ("app/src/main.rs", "fn main() { extra::f(); }\n"),
            (
                "extra/Cargo.toml",
                "[package]\nname = \"extra\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\nheavy = { path = \"../heavy\" }\n\n\
                 [features]\nfull = [\"heavy/full\"]\ndump = [\"heavy/debug-dump\"]\n",
            ),
            ("extra/src/lib.rs", "pub fn f() { heavy::f() }\n"),
            (
                "heavy/Cargo.toml",
                "[package]\nname = \"heavy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [features]\nfull = []\ndebug-dump = []\n",
            ),
            ("heavy/src/lib.rs", "pub fn f() {}\n"),
        ],
    );
    generate_lockfile(&dir);
    let target = dir.join("target");
    let heavy_compiled = || {
        std::fs::read_dir(target.join("debug/deps"))
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("libheavy"))
            })
            .unwrap_or(false)
    };
    let denied = |cwd: &std::path::Path, program: &str, args: &[&str], rule: &str| {
        let _ = std::fs::remove_dir_all(&target);
        let out = isolated_command(program, cwd, &target, args)
            .env("LOWMEM_BUILD", "deny")
            .env_remove("RUSTC_WRAPPER")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "{args:?} in {}: {stderr}",
            cwd.display()
        );
        assert!(
            stderr.contains(&format!(
                "error: cargo-lowmem: feature rule broken: `heavy` would be compiled with {rule}"
            )),
            "{args:?} in {}: {stderr}",
            cwd.display()
        );
        assert!(!heavy_compiled(), "{args:?}: heavy was compiled");
    };
    // From the root, the member's rule.
    denied(
        &dir,
        LOWMEM,
        &["lowmem", "build", "-j2", "--features", "app/full"],
        "full",
    );
    // From the member that does not declare it, the other member's rule.
    denied(
        &dir.join("extra"),
        LOWMEM,
        &["lowmem", "build", "-j2", "--features", "full"],
        "full",
    );
    // From the member, the root's rule.
    denied(
        &dir.join("app"),
        LOWMEM,
        &["lowmem", "build", "-j2", "--features", "dump"],
        "debug-dump",
    );
    // Always on: the rules of the workspace cargo runs in.
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(
        dir.join(".cargo/config.toml"),
        format!("[build]\nrustc-wrapper = {LOWMEM:?}\n"),
    )
    .unwrap();
    denied(
        &dir,
        env!("CARGO"),
        &["build", "-j2", "--features", "app/full"],
        "full",
    );
    std::fs::remove_file(dir.join(".cargo/config.toml")).unwrap();
    // Without the feature, the same build goes through.
    let _ = std::fs::remove_dir_all(&target);
    let out = isolated_command(LOWMEM, &dir, &target, &["lowmem", "build", "-j2"])
        .env("LOWMEM_BUILD", "deny")
        .env_remove("RUSTC_WRAPPER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(heavy_compiled());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two governed builds at once, in one 1 GiB memory cgroup where their heavy crates (about 670
/// MiB each) fit only one at a time: they share one pool, so the second build's crate waits for
/// the first build's, and nothing is killed, by the governor or the kernel. The second build is
/// plain cargo with the always-on wrapper (`build.rustc-wrapper`). Each build knows its crate's
/// peak from a store (the crates were measured before: `heavy_store`).
#[test]
fn two_builds_at_once_share_one_budget() {
    let Some(cgroup) = Cgroup::new("two-builds", 1024) else {
        return;
    };
    let one = |name: &str, krate: &str| {
        let dir = temp_dir(name);
        write_files(
            &dir,
            &[
                (
                    "Cargo.toml",
                    &format!(
                        "[package]\nname = \"{krate}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
                    ),
                ),
                ("src/lib.rs", &generated_source(11_000, "f")),
            ],
        );
        generate_lockfile(&dir);
        let store = heavy_store("lib", &dir, krate, [700, 700, 700]);
        (dir, store)
    };
    let (first, first_store) = one("governor-two-a", "gen-one");
    let (second, second_store) = one("governor-two-b", "gen-two");
    std::fs::create_dir_all(second.join(".cargo")).unwrap();
    std::fs::write(
        second.join(".cargo/config.toml"),
        format!("[build]\nrustc-wrapper = {LOWMEM:?}\n"),
    )
    .unwrap();
    let mut a = cgroup.command(
        &first,
        &first.join("target"),
        LOWMEM,
        &["lowmem", "build", "-j2"],
    );
    a.env("LOWMEM_BUILD_STORE", &first_store);
    let mut b = cgroup.command(
        &second,
        &second.join("target"),
        env!("CARGO"),
        &["build", "-j2"],
    );
    b.env("LOWMEM_BUILD_STORE", &second_store);
    let a = a.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let b = b.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let stderr = format!(
        "{}\n---\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert!(a.status.success() && b.status.success(), "{stderr}");
    assert_eq!(cgroup.oom_kills(), 0, "{stderr}");
    assert!(!stderr.contains("Retrying"), "{stderr}");
    assert!(stderr.contains(" of another build (~"), "{stderr}");
    for (store, krate) in [(&first_store, "gen_one"), (&second_store, "gen_two")] {
        let records = store::read(std::path::Path::new(store));
        assert!(
            records.iter().any(|r| r.krate == krate
                && r.succeeded()
                && r.start_ms > 0
                && r.anon_kib > 300 * 1024),
            "{krate} measured\n{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&first);
    let _ = std::fs::remove_dir_all(&second);
}
