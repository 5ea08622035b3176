//! `cargo lowmem`: runs cargo builds with memory in bounds. As cargo's `RUSTC_WRAPPER` it admits
//! each rustc only when its expected peak fits, makes the newest give way under pressure,
//! records every rustc's measured peak in the target directory's store, and after a failed build
//! says whether the OOM killer killed a rustc and what to change.
//!
//! ```text
//! cargo lowmem preflight [--release | --profile P] [--memory SIZE] [--manifest-path PATH] [-j N]
//! cargo lowmem build | check | test | run | bench | doc | clippy [--memory SIZE] [--retry] [--report] [cargo args...]
//! cargo lowmem exec [--memory SIZE] [--report] -- <command...>   (maturin develop, cargo nextest, ...)
//! cargo lowmem build --report ...                        (and a memory report: HTML, under target/)
//! cargo lowmem report <file>                             (the report redrawn from a saved run or a store)
//! RUSTC_WRAPPER=cargo-lowmem cargo build                 (always on: governed from the store;
//!                                                         LOWMEM_BUILD_GOVERNOR=off records only)
//! ```
//! `install`, `rustc`, `rustdoc` and the aliases `b`, `c`, `t`, `r`, `d` are governed too.
#![deny(unsafe_code)]

mod admission;
mod args;
mod behind;
mod fault;
// The library's one way to write a file whole, compiled into the tool from the same source (it
// is crate-private there, and one helper is not worth public API); its test helpers serve the
// tool's tests too, not all of them.
#[path = "../../files.rs"]
#[cfg_attr(test, allow(dead_code))]
mod files;
mod governed;
mod governor;
mod html;
mod pool;
mod postmortem;
mod preflight;
mod replay;
mod report;
mod rules;
mod sample;
#[allow(unsafe_code)]
mod sys;
mod timeline;
mod unit;
mod wrap;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match call(&args) {
        Call::Wrapper => {
            let rest = args.split_off(1);
            code(wrap::run(args.remove(0), rest))
        }
        Call::Subcommand => {
            // `cargo lowmem ...` runs `cargo-lowmem lowmem ...`.
            if args.first().is_some_and(|a| a == "lowmem") {
                args.remove(0);
            }
            subcommand(&args)
        }
    }
}

/// How this program was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// As a `RUSTC_WRAPPER`: the first argument is the compiler.
    Wrapper,
    /// As `cargo lowmem ...` (cargo passes `lowmem` first) or `cargo-lowmem ...`.
    Subcommand,
}

/// Tells a wrapper call from a subcommand, so that the two are never confused: cargo always runs
/// a subcommand as `cargo-lowmem lowmem ...`, and a first argument that names a compiler is
/// always a wrapper call, bare or not (maturin runs `$RUSTC_WRAPPER rustc -vV`; cargo passes
/// rustc's full path), even though `rustc` is also one of cargo's commands.
fn call(args: &[OsString]) -> Call {
    let Some(first) = args.first() else {
        return Call::Subcommand;
    };
    let text = first.to_string_lossy();
    if text == "lowmem" {
        return Call::Subcommand;
    }
    let path = Path::new(first);
    let compiler = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == "rustc" || s.starts_with("rustc-") || s.starts_with("clippy-driver"));
    if compiler {
        return Call::Wrapper;
    }
    let ours = [
        "preflight",
        "exec",
        "report",
        "help",
        "-h",
        "--help",
        "-V",
        "--version",
    ];
    if ours.contains(&text.as_ref()) || args::VERBS.contains(&text.as_ref()) {
        return Call::Subcommand;
    }
    // A workspace wrapper cargo put before the compiler, or a compiler by another name.
    if text.contains(std::path::MAIN_SEPARATOR) || path.is_file() {
        Call::Wrapper
    } else {
        Call::Subcommand
    }
}

fn subcommand(args: &[OsString]) -> ExitCode {
    match args::parse(args) {
        Ok(args::Command::Help) => usage(),
        Ok(args::Command::Version) => {
            println!("cargo-lowmem {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(args::Command::Preflight(options)) => preflight::run(&options),
        Ok(args::Command::Cargo {
            verb,
            args,
            options,
        }) => governed::run_cargo(&verb, &args, &options),
        Ok(args::Command::Exec { command, options }) => governed::run_exec(&command, &options),
        Ok(args::Command::Report { file }) => report::redraw(Path::new(&file)),
        Err(problem) => {
            eprintln!("error: cargo-lowmem: {problem}");
            usage();
            ExitCode::from(2)
        }
    }
}

fn code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn usage() -> ExitCode {
    eprintln!(
        "cargo-lowmem {}: keeps a cargo build within the memory it has

usage:
  cargo lowmem preflight [--release | --profile P] [--memory SIZE] [--manifest-path PATH] [-j N]
  cargo lowmem <build | check | test | run | bench | doc | clippy> [--memory SIZE] [--retry] [--report] [cargo args...]
      (also install, rustc, rustdoc, and the aliases b, c, t, r, d)
  cargo lowmem exec [--memory SIZE] [--report] -- <command...>
  cargo lowmem report <saved run or store file>   (the memory report, redrawn)
  RUSTC_WRAPPER=cargo-lowmem cargo build     (always on: each rustc admitted from the store's peaks;
      LOWMEM_BUILD_GOVERNOR=off only records them)",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_of(args: &[&str]) -> Call {
        call(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn a_compiler_first_is_always_a_wrapper_call() {
        // maturin: `$RUSTC_WRAPPER rustc -vV`.
        assert_eq!(call_of(&["rustc", "-vV"]), Call::Wrapper);
        assert_eq!(call_of(&["rustc", "--crate-name", "x"]), Call::Wrapper);
        // cargo: the full path.
        assert_eq!(
            call_of(&["/root/.rustup/toolchains/stable/bin/rustc", "-"]),
            Call::Wrapper
        );
        assert_eq!(call_of(&["clippy-driver", "x.rs"]), Call::Wrapper);
        assert_eq!(call_of(&["rustc-1.95", "-vV"]), Call::Wrapper);
        // A workspace wrapper cargo put first.
        assert_eq!(call_of(&["/usr/bin/sccache", "rustc"]), Call::Wrapper);
        // cargo's subcommand call: `cargo lowmem rustc` is cargo's `rustc` command, governed.
        assert_eq!(
            call_of(&["lowmem", "rustc", "--", "-Zfoo"]),
            Call::Subcommand
        );
        assert_eq!(call_of(&["lowmem", "build"]), Call::Subcommand);
        assert_eq!(call_of(&["build", "--release"]), Call::Subcommand);
        assert_eq!(call_of(&["preflight"]), Call::Subcommand);
        assert_eq!(call_of(&["--version"]), Call::Subcommand);
        assert_eq!(call_of(&[]), Call::Subcommand);
        assert_eq!(call_of(&["frobnicate"]), Call::Subcommand);
    }
}
