//! Output: the directives a report turns into (pure), and printing them (the edge).

mod directives;

pub(crate) use directives::{directives, Capabilities, Output};

use std::io::Write;

/// Prints `output` the way cargo reads it: directives on stdout; when the build must fail on a
/// cargo that has no `cargo::error`, the message on stderr and exit status 1.
pub(crate) fn emit(output: &Output) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in &output.stdout {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    if let Some(message) = &output.exit_with {
        let mut err = std::io::stderr().lock();
        for line in message {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
        std::process::exit(1);
    }
}
