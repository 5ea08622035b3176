//! Running `cargo tree` for the caller: locked, offline, with a deadline, never writing a file.

use super::caller::Caller;
use super::tree::FORMAT;
use crate::env::Env;
use std::time::Duration;

/// Longest a `cargo tree` may take. It takes well under a second on a polars-sized graph; past
/// this something is wrong (a lock held, a hung filesystem) and the build must go on.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(20);

/// The arguments for the caller's tree (`invert` empty) or for the inverted trees of the crates
/// in `invert` (package specs such as `polars@0.55.2`).
pub(crate) fn args(caller: &Caller, invert: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "tree",
        "--manifest-path",
        &caller.manifest.display().to_string(),
        "-e",
        "normal,features",
        "--prefix",
        "depth",
        "-f",
        FORMAT,
        "--locked",
        "--offline",
        "--color",
        "never",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(caller.selection_args());
    for spec in invert {
        args.push("-i".to_string());
        args.push(spec.clone());
    }
    args
}

/// Runs `$CARGO tree` with [`args`]. `--locked` keeps cargo from writing Cargo.lock and
/// `--offline` plus `CARGO_NET_OFFLINE` from the network (the outer `--offline` is not passed
/// down to a nested cargo); `CARGO_ENCODED_RUSTFLAGS` stays, since `cfg`-gated dependencies
/// resolve by it. Errors are one line.
pub(crate) fn run(env: &Env, caller: &Caller, invert: &[String]) -> Result<String, String> {
    let cargo = env.text("CARGO").unwrap_or("cargo");
    let mut command = env.command(cargo);
    command
        .args(args(caller, invert))
        .current_dir(caller.dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TERM_COLOR", "never");
    if let Some(flags) = env.get_os("CARGO_ENCODED_RUSTFLAGS") {
        command.env("CARGO_ENCODED_RUSTFLAGS", flags);
    }
    let done = crate::process::run(command, TIMEOUT)?;
    if done.success {
        Ok(done.stdout)
    } else {
        Err(format!(
            "`cargo tree` failed: {}",
            first_error(&done.stderr)
        ))
    }
}

/// The line that says what went wrong: the first `error:` line, else the first non-empty one,
/// cut to a length that fits a warning.
fn first_error(stderr: &str) -> String {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines()
        .find_map(|l| l.strip_prefix("error:"))
        .map(str::trim)
        .or_else(|| lines().next())
        .unwrap_or("no message");
    let mut cut: String = line.chars().take(300).collect();
    if cut.len() < line.len() {
        cut.push_str("...");
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::toml::Table;
    use std::path::PathBuf;

    #[test]
    fn arguments_select_the_caller_and_stay_offline() {
        let caller = Caller {
            name: "app".into(),
            version: Some("0.1.0".into()),
            manifest: PathBuf::from("/ws/app/Cargo.toml"),
            features: vec!["full".into()],
            target: Some("x86_64-unknown-linux-gnu".into()),
            table: Table::new(),
        };
        let args = args(&caller, &["polars@0.55.2".to_string()]).join(" ");
        assert_eq!(
            args,
            "tree --manifest-path /ws/app/Cargo.toml -e normal,features --prefix depth -f {p}|{f} \
             --locked --offline --color never -p app@0.1.0 --no-default-features --features full \
             --target x86_64-unknown-linux-gnu -i polars@0.55.2"
        );
    }

    #[test]
    fn the_error_line_is_found_and_cut() {
        let stderr = "    Updating crates.io index\nerror: the lock file /ws/Cargo.lock needs to be updated but --locked was passed\n\nCaused by: x\n";
        assert_eq!(
            first_error(stderr),
            "the lock file /ws/Cargo.lock needs to be updated but --locked was passed"
        );
        assert_eq!(first_error("\n  odd  \n"), "odd");
        assert_eq!(first_error(""), "no message");
        let long = format!("error: {}", "é".repeat(400));
        assert_eq!(first_error(&long).chars().count(), 303);
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_cargo_is_a_message() {
        let caller = Caller {
            name: "app".into(),
            version: None,
            manifest: std::env::temp_dir().join("Cargo.toml"),
            features: Vec::new(),
            target: None,
            table: Table::new(),
        };
        let env = Env::from_pairs(&[("CARGO", "/nonexistent/cargo")]);
        let err = run(&env, &caller, &[]).unwrap_err();
        assert!(err.contains("/nonexistent/cargo"), "{err}");
    }
}
