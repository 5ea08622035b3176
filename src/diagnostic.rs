//! Diagnostics: what the check could not read or did not accept, one line each, with whether
//! it is printed always or only in verbose mode.

use std::fmt;

/// One thing the check could not read or did not accept, as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// What kind of thing it is, which decides when it is printed.
    pub kind: DiagnosticKind,
    /// The line, naming the variable or file and what is accepted.
    pub message: String,
}

/// What a [`Diagnostic`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A value the user gave is malformed (an environment variable, a declared feature rule):
    /// printed as a warning, always.
    Input,
    /// The feature check could not run (`cargo tree` failed, or this crate lacks its
    /// `feature-check` feature): printed as a warning unless the policy is `off`.
    FeatureCheck,
    /// A reading the probe, the settings or the estimate could not make or ignored (a cgroup
    /// file, a config file, a manifest), or a remark of the feature check: printed with
    /// `LOWMEM_BUILD_VERBOSE=1`.
    Note,
}

impl Diagnostic {
    /// A diagnostic of `kind`.
    pub(crate) fn new(kind: DiagnosticKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind,
            message: message.into(),
        }
    }

    /// Notes, one per line of `lines`.
    pub(crate) fn notes(lines: impl IntoIterator<Item = String>) -> impl Iterator<Item = Self> {
        lines
            .into_iter()
            .map(|line| Diagnostic::new(DiagnosticKind::Note, line))
    }
}

impl fmt::Display for Diagnostic {
    /// The message alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
