//! `cargo lowmem`: the memory governor for cargo builds, and the recorder of every rustc's peak.
//!
//! Run as cargo's `RUSTC_WRAPPER` (`RUSTC_WRAPPER=cargo-lowmem cargo build`), it runs each
//! rustc, measures its peak anonymous memory and resident set, and appends them to the store in
//! the target directory (`<target-dir>/lowmem/peaks.tsv`, format in `lowmem_build::store`),
//! which later builds and `lowmem_build::check()` read.
#![deny(unsafe_code)]

mod sample;
#[allow(unsafe_code)]
mod sys;
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
    let Some(first) = args.first().cloned() else {
        return usage();
    };
    if is_rustc(&first) {
        let rest = args.split_off(1);
        return code(wrap::run(first, rest));
    }
    match first.to_str() {
        Some("-h" | "--help" | "help") => usage(),
        Some("-V" | "--version") => {
            println!("cargo-lowmem {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "error: cargo-lowmem: unknown command `{}`",
                first.to_string_lossy()
            );
            usage();
            ExitCode::from(2)
        }
    }
}

/// Whether cargo is running us as `RUSTC_WRAPPER`: the first argument is the compiler.
fn is_rustc(arg: &OsString) -> bool {
    let path = Path::new(arg);
    path.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == "rustc" || s.starts_with("rustc-") || s == "clippy-driver")
}

fn code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn usage() -> ExitCode {
    eprintln!("usage: RUSTC_WRAPPER=cargo-lowmem cargo build   (records each rustc's peak in <target-dir>/lowmem/peaks.tsv)");
    ExitCode::SUCCESS
}
