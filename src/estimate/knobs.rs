//! The settings the estimate reads, as plain data, so that "what if" questions are cheap to ask.

use crate::settings::{BuildSettings, Debuginfo, Lto};

/// Measured (`scripts/codegen-units`, calibration/corpus/codegen-units.tsv, which a test holds
/// this to): codegen-units = 1 made polars-core's rustc 1.78x larger (1323 -> 2356 MiB of
/// anonymous memory at debug 0).
pub(crate) const ONE_CODEGEN_UNIT: f64 = 1.78;

/// The build settings that move memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Knobs {
    pub(crate) jobs: u32,
    pub(crate) debuginfo: Debuginfo,
    pub(crate) codegen_units: u32,
    pub(crate) lto: Lto,
    pub(crate) optimised: bool,
    pub(crate) split_debuginfo: bool,
}

impl Knobs {
    pub(crate) fn from_settings(settings: &BuildSettings) -> Knobs {
        Knobs {
            jobs: settings.jobs.value.max(1),
            debuginfo: settings.debuginfo.value,
            codegen_units: settings.codegen_units.value.max(1),
            lto: settings.lto.value,
            optimised: settings.opt_level.value != "0",
            split_debuginfo: matches!(
                settings.split_debuginfo.value.as_str(),
                "unpacked" | "packed"
            ),
        }
    }

    /// The leanest settings the advice can reach: no debuginfo, one job, default codegen
    /// units, no fat LTO.
    pub(crate) fn leanest(&self) -> Knobs {
        Knobs {
            jobs: 1,
            debuginfo: Debuginfo::None,
            codegen_units: self.codegen_units.max(16),
            lto: if self.lto == Lto::Fat {
                Lto::Thin
            } else {
                self.lto
            },
            ..*self
        }
    }
}

/// Codegen units below 16 grow a crate, up to [`ONE_CODEGEN_UNIT`] at one unit (log-linear
/// between; only 1 and the defaults were measured).
pub(crate) fn codegen_factor(units: u32) -> f64 {
    if units >= 16 {
        return 1.0;
    }
    let steps_below_16 = 4.0 - f64::from(units.max(1)).log2();
    1.0 + (ONE_CODEGEN_UNIT - 1.0) * steps_below_16 / 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_units_cost_more() {
        assert_eq!(codegen_factor(256), 1.0);
        assert!((codegen_factor(1) - ONE_CODEGEN_UNIT).abs() < 1e-9);
        assert!(codegen_factor(4) > codegen_factor(8));
    }
}
