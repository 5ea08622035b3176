//! The pre-flight check: prints the full report for this machine before a heavy build.
//!
//! ```text
//! cargo run --example preflight                 # as a dev build would see it
//! cargo run --example preflight -- --release    # as a release build would
//! cargo run --example preflight -- --profile lowmem --memory 2GiB
//! cargo run --example preflight -- --manifest-path ../app/Cargo.toml -j 4
//! ```
//! The package is the one in the current directory unless `--manifest-path` names another; its
//! dependency graph (from Cargo.lock) is what is estimated.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut config = lowmem_build::Config::new();
    config.cargo_directives(false);
    let mut manifest = std::path::PathBuf::from("Cargo.toml");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--release" => {
                config.profile("release");
            }
            "--profile" => match args.next() {
                Some(name) => {
                    config.profile(&name);
                }
                None => return usage("--profile needs a name"),
            },
            "--memory" => match args.next() {
                Some(size) => {
                    config.env_var("LOWMEM_BUILD_MEMORY", Some(&size));
                }
                None => return usage("--memory needs a size such as 2GiB"),
            },
            "--manifest-path" => match args.next() {
                Some(path) => manifest = path.into(),
                None => return usage("--manifest-path needs a path to a Cargo.toml"),
            },
            "-j" | "--jobs" => match args.next() {
                Some(jobs) => {
                    config.env_var("CARGO_BUILD_JOBS", Some(&jobs));
                }
                None => return usage("-j needs a number"),
            },
            "-h" | "--help" => return usage(""),
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    if manifest.is_file() {
        config.manifest_path(&manifest);
    }
    let report = config.check();
    println!("lowmem_build pre-flight check\n\n{}\n", report.headline());
    print!("{report}");
    if report.tier.is_short() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("preflight: {problem}");
    }
    eprintln!(
        "usage: cargo run --example preflight [-- [--release | --profile NAME] [--memory SIZE] [--manifest-path PATH] [-j N]]"
    );
    ExitCode::from(if problem.is_empty() { 0 } else { 1 })
}
