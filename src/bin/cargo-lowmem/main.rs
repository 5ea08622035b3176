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
// The library's one way to write a file whole, compiled into the tool from the same source (it
// is crate-private there, and one helper is not worth public API); its test helpers serve the
// tool's tests too, not all of them.
#[path = "../../files.rs"]
#[cfg_attr(test, allow(dead_code))]
mod files;
mod governed;
mod governor;
mod html;
mod postmortem;
mod preflight;
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
    // `cargo lowmem ...` runs `cargo-lowmem lowmem ...`.
    if args.first().is_some_and(|a| a == "lowmem") {
        args.remove(0);
    }
    if let Some(first) = args.first().filter(|a| is_compiler(a)) {
        let first = first.clone();
        let rest = args.split_off(1);
        return code(wrap::run(first, rest));
    }
    match args::parse(&args) {
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

/// Whether cargo is running us as `RUSTC_WRAPPER`: the first argument is the compiler (or a
/// workspace wrapper cargo put before it), never one of our commands.
fn is_compiler(arg: &OsString) -> bool {
    let text = arg.to_string_lossy();
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
        return false;
    }
    let path = Path::new(arg);
    let named = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == "rustc" || s.starts_with("rustc-") || s.starts_with("clippy-driver"));
    named || text.contains(std::path::MAIN_SEPARATOR) || path.is_file()
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
