//! Output: the directives a report turns into (pure), and printing them (the edge).

mod directives;

pub(crate) use directives::{directives, failure_message, Capabilities, Output};

use std::io::Write;
use std::path::PathBuf;

/// Which kinds of directives to print; each can be turned off alone, as pkg-config's can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Switches {
    /// `cargo:warning` lines.
    pub(crate) warnings: bool,
    /// `cargo:rustc-env`, `cargo:rustc-cfg` and `cargo:rustc-check-cfg`.
    pub(crate) hints: bool,
    /// `cargo:rerun-if-env-changed` and `cargo:rerun-if-changed`.
    pub(crate) rerun: bool,
}

impl Switches {
    /// Everything on, or everything off.
    pub(crate) const fn all(on: bool) -> Switches {
        Switches {
            warnings: on,
            hints: on,
            rerun: on,
        }
    }
}

/// What printing a report needs besides the verdict: decided once, when the report is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Printing {
    /// Print the whole report as warnings (`LOWMEM_BUILD_VERBOSE`).
    pub(crate) verbose: bool,
    /// The kinds of directives to print.
    pub(crate) switches: Switches,
    /// What the running cargo and the caller accept.
    pub(crate) caps: Capabilities,
    /// The variables read that a user can set, for `rerun-if-env-changed`.
    pub(crate) watched_env: Vec<String>,
    /// The manifests, config files and Cargo.lock read, each once, for `rerun-if-changed`.
    pub(crate) files: Vec<PathBuf>,
    /// Whether the build runs under `cargo lowmem` (its governor directory is set).
    pub(crate) governed: bool,
}

/// Prints `output` the way cargo reads it: directives on stdout; when the build must fail on a
/// cargo that has no `cargo::error`, the message on stderr. Returns whether the build script
/// must now exit with status 1 (only [`Config::check`](crate::Config::check) does).
pub(crate) fn emit(output: &Output) -> bool {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in &output.stdout {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    let Some(message) = &output.exit_with else {
        return false;
    };
    let mut err = std::io::stderr().lock();
    for line in message {
        let _ = writeln!(err, "{line}");
    }
    let _ = err.flush();
    true
}
