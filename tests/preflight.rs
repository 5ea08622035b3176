//! `cargo lowmem preflight` on a project made by `cargo new`, before its first build: no
//! Cargo.lock yet, as a user meets it.

mod common;

use common::{isolated_command, temp_dir};

const LOWMEM: &str = env!("CARGO_BIN_EXE_cargo-lowmem");

/// A new project whose dependencies are path dependencies has nothing to resolve: the estimate
/// comes from its manifests and the tier is known, and nothing is written into the project.
/// Once it has a registry dependency, the graph waits for cargo's Cargo.lock, and says so.
#[test]
fn a_new_project_before_its_first_build_gets_a_tier() {
    let dir = temp_dir("preflight-new");
    let new = std::process::Command::new(env!("CARGO"))
        .args(["new", "--vcs", "none", "--quiet", "app"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );
    let app = dir.join("app");
    let new_lib = std::process::Command::new(env!("CARGO"))
        .args(["new", "--vcs", "none", "--quiet", "--lib", "app/util"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(new_lib.status.success());
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        manifest.replace(
            "[dependencies]",
            "[dependencies]\nutil = { path = \"util\" }",
        ),
    )
    .unwrap();
    let preflight = || {
        let out = isolated_command(
            LOWMEM,
            &app,
            &app.join("target"),
            &["lowmem", "preflight", "--memory", "1GiB"],
        )
        .output()
        .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };

    let (code, stdout) = preflight();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("memory is sufficient"), "{stdout}");
    assert!(stdout.contains("\ntier              ok\n"), "{stdout}");
    assert!(stdout.contains("\ncrates            2\n"), "{stdout}");
    assert!(
        !app.join("Cargo.lock").exists(),
        "preflight wrote Cargo.lock"
    );

    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        manifest.replace("[dependencies]", "[dependencies]\nserde = \"1\""),
    )
    .unwrap();
    let (_, stdout) = preflight();
    assert!(stdout.contains("\ntier              unknown\n"), "{stdout}");
    assert!(stdout.contains("no Cargo.lock in"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
