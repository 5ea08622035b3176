//! The error [`Config::try_check`](crate::Config::try_check) returns when the policy fails the
//! build.

use crate::Report;
use std::fmt;

/// Why the policy (`LOWMEM_BUILD=deny` or [`Policy::Deny`](crate::Policy::Deny)) fails this
/// build. Its `Display` is the message [`check()`](crate::check) would fail the build with,
/// one line per reason: the headline, the fixes, the broken feature rules, and how to let the
/// build go on.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    report: Box<Report>,
}

/// The first reason the policy fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The tier is `low` or `critical`.
    MemoryShort,
    /// A feature rule is broken.
    FeatureRuleBroken,
    /// Feature rules are set, but this crate was built without its `feature-check` feature,
    /// so nothing checks them.
    FeatureCheckNotCompiled,
}

impl Error {
    /// The first reason `report` fails the build, or `None` when it does not.
    pub(crate) fn of(report: &Report) -> Option<ErrorKind> {
        if !report.fails() {
            None
        } else if report.tier.is_short() {
            Some(ErrorKind::MemoryShort)
        } else if !report.features.violations.is_empty() {
            Some(ErrorKind::FeatureRuleBroken)
        } else {
            Some(ErrorKind::FeatureCheckNotCompiled)
        }
    }

    pub(crate) fn new(kind: ErrorKind, report: Report) -> Error {
        Error {
            kind,
            report: Box::new(report),
        }
    }

    /// The first reason the build fails.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The whole report.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The whole report, owned.
    pub fn into_report(self) -> Report {
        *self.report
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::output::failure_message(&self.report).join("\n"))
    }
}

/// The message, as `Display` gives it: `fn main() -> Result<(), Error>` prints a failing build
/// script's error with `Debug`, and a dump of the report would bury it.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {self}", self.kind)
    }
}

impl std::error::Error for Error {}
