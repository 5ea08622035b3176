//! The estimate: what this build needs at its peak, from its own dependency graph. Each crate's
//! peak comes from the best source there is (measured here before, the shipped table, a model
//! of the crate's size); the build's peak is the heaviest set of crates that can compile at the
//! same time at the jobs in effect, or the final link.

#[cfg(test)]
mod calibration;
pub(crate) mod overlap;
pub(crate) mod table;

/// The settings classes the table and the models distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    /// opt-level 0, no debuginfo.
    D0,
    /// opt-level 0, line tables only.
    LineTables,
    /// opt-level 0, full debuginfo (the dev default).
    Full,
    /// opt-level 3, no debuginfo (the release default).
    Release,
}

impl Class {
    /// The column of this class in the table.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
