//! The fixes, ranked by their effect on this build's estimate, each for a setting not already in
//! effect and only when it changes the estimate.

use super::{safe_jobs, COMFORT};
use crate::estimate::{Estimator, Knobs};
use crate::settings::{BuildSettings, Debuginfo, Linker, Lto, Origin};
use crate::size::Bytes;
use std::fmt;

/// A fix that lowers this build's estimate by less than this share is not given.
const MEANINGFUL: f64 = 0.05;

/// What one codegen unit did to a large crate (`scripts/codegen-units`; a test checks these
/// figures against calibration/corpus/codegen-units.tsv).
pub(crate) const CODEGEN_UNITS_MEASURED: &str =
    "measured: codegen-units = 1 made polars-core need 1.78x the memory (1323 -> 2356 MiB)";

/// What turning debuginfo off did to a real build: polars-min's dev build in
/// `calibration/corpus/builds.tsv` (a test checks these figures against it).
pub(crate) const DEBUGINFO_MEASURED: &str = "measured on polars-min: anonymous peak -32% (line-tables-only -26%), build 261 s instead of 935 s";

/// One fix: what to set, where else it can go, and what it is expected to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Advice {
    /// What to do, copy-pasteable (usually an `export` line).
    pub action: String,
    /// The same as a manifest or config entry, when there is one.
    pub instead: Option<String>,
    /// Its expected effect on this build, and the measurement behind it.
    pub effect: String,
    /// The estimated peak with this fix and every earlier one applied; `None` for advice the
    /// estimate does not cover.
    pub peak_after: Option<u64>,
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.action)?;
        if let Some(instead) = &self.instead {
            write!(f, " (or {instead})")?;
        }
        if let Some(peak) = self.peak_after {
            write!(f, " -> est. peak {}", Bytes(peak))?;
        }
        write!(f, "; {}", self.effect)
    }
}

/// Linkers found on the machine, for the linker advice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LinkersOnPath {
    pub(crate) mold: bool,
    pub(crate) lld: bool,
}

/// The fixes for `settings` against `budget`, best first, each carrying the estimate with it
/// and every earlier fix applied. A fix is given only when it lowers this build's estimate.
pub(crate) fn advise(
    estimator: &Estimator<'_>,
    settings: &BuildSettings,
    budget: u64,
    linkers: LinkersOnPath,
) -> Vec<Advice> {
    let prefix = settings.profile_env_prefix();
    let table = format!("[profile.{}]", settings.profile);
    let mut knobs = Knobs::from_settings(settings);
    let mut out = Vec::new();
    // Applies `change` to the knobs when it lowers the estimate enough; returns the fix's
    // estimate and how much it saved.
    let try_fix = |knobs: &mut Knobs, change: &dyn Fn(&mut Knobs)| -> Option<(u64, f64)> {
        let before = estimator.estimate(knobs).peak;
        let mut changed = *knobs;
        change(&mut changed);
        let after = estimator.estimate(&changed).peak;
        let saved = 1.0 - after as f64 / before.max(1) as f64;
        if saved < MEANINGFUL {
            return None;
        }
        *knobs = changed;
        Some((after, saved))
    };
    let effect = |saved: f64, note: &str| {
        let mut text = format!("this build's estimate -{:.0}%", saved * 100.0);
        if !note.is_empty() {
            text.push_str("; ");
            text.push_str(note);
        }
        text
    };

    let debuginfo = &settings.debuginfo;
    if debuginfo.value > Debuginfo::None {
        let line_tables = estimator
            .estimate(&Knobs {
                debuginfo: Debuginfo::LineTablesOnly,
                ..knobs
            })
            .peak;
        if let Some((after, saved)) = try_fix(&mut knobs, &|k| k.debuginfo = Debuginfo::None) {
            let (action, mut instead) = setting_fix(
                &debuginfo.origin,
                &prefix,
                &table,
                "debug",
                "0",
                "-C debuginfo=0",
            );
            if debuginfo.value > Debuginfo::LineTablesOnly {
                instead = instead.map(|i| {
                    format!(
                        "{i}, or \"line-tables-only\" to keep backtraces: est. peak {}",
                        Bytes(line_tables)
                    )
                });
            }
            out.push(Advice {
                action,
                instead,
                effect: effect(saved, DEBUGINFO_MEASURED),
                peak_after: Some(after),
            });
        }
    }

    let units = &settings.codegen_units;
    if units.value < 16 && !matches!(units.origin, Origin::Default(_)) {
        if let Some((after, saved)) = try_fix(&mut knobs, &|k| k.codegen_units = 256) {
            let action = match &units.origin {
                Origin::Env(var) => format!("unset {var}"),
                Origin::Rustflags => {
                    format!("remove -C codegen-units={} from RUSTFLAGS", units.value)
                }
                other => format!("remove codegen-units = {} from {other}", units.value),
            };
            out.push(Advice {
                action,
                instead: None,
                effect: effect(saved, CODEGEN_UNITS_MEASURED),
                peak_after: Some(after),
            });
        }
    }

    if settings.lto.value == Lto::Fat {
        if let Some((after, saved)) = try_fix(&mut knobs, &|k| k.lto = Lto::Thin) {
            let (action, instead) = setting_fix(
                &settings.lto.origin,
                &prefix,
                &table,
                "lto",
                "\"thin\"",
                "-C lto=thin",
            );
            out.push(Advice {
                action,
                instead,
                effect: effect(
                    saved,
                    "fat LTO holds the whole program in one LLVM module (assumed, not measured)",
                ),
                peak_after: Some(after),
            });
        }
    }

    let jobs = safe_jobs(estimator, &knobs, budget);
    if jobs < knobs.jobs {
        if let Some((after, saved)) = try_fix(&mut knobs, &|k| k.jobs = jobs) {
            out.push(Advice {
                action: format!("export CARGO_BUILD_JOBS={jobs}"),
                instead: Some(format!(
                    "cargo build -j {jobs}, or [build] jobs = {jobs} in .cargo/config.toml"
                )),
                effect: effect(
                    saved,
                    "measured on polars-min in a 2 GiB cgroup: -j1 finished where -j2 was OOM-killed (scripts/governor-polars)",
                ),
                peak_after: Some(after),
            });
        }
    }

    let linker = &settings.linker.value;
    let estimate = estimator.estimate(&knobs);
    if !linker.is_lean()
        && settings.target.contains("linux")
        && estimate.link as f64 > budget as f64 * COMFORT
        && estimate.link >= estimate.compile
    {
        let ld = if linkers.mold { "mold" } else { "lld" };
        let mut effect =
            format!("{ld} needs less memory than {linker} for large links (not measured here)");
        if !linkers.mold && !linkers.lld {
            effect.push_str("; install lld or mold first");
        }
        if *linker == Linker::Bfd {
            effect.push_str("; staying with GNU ld, add -C link-arg=-Wl,--no-keep-memory");
        }
        out.push(Advice {
            action: format!("export RUSTFLAGS=\"-C link-arg=-fuse-ld={ld}\""),
            instead: Some(format!(
                "rustflags = [\"-C\", \"link-arg=-fuse-ld={ld}\"] under [target.{}] in .cargo/config.toml",
                settings.target
            )),
            effect,
            peak_after: None,
        });
    }
    out
}

/// How to change profile `key` to `value`, given where its current value came from: the
/// variable to export, and the manifest entry to write instead.
fn setting_fix(
    origin: &Origin,
    prefix: &str,
    table: &str,
    key: &str,
    value: &str,
    flag: &str,
) -> (String, Option<String>) {
    let var = format!("{prefix}{}", crate::env::envify(key));
    let plain = value.trim_matches('"');
    match origin {
        Origin::Rustflags => (
            format!("use {flag} in RUSTFLAGS (rustflags set it now)"),
            None,
        ),
        Origin::Manifest(path, t) | Origin::Config(path, t) if origin.is_dependency_override() => (
            format!("set {key} = {value} in {t} of {}", path.display()),
            None,
        ),
        Origin::Manifest(path, t) | Origin::Config(path, t) => (
            format!("export {var}={plain}"),
            Some(format!("{key} = {value} in {t} of {}", path.display())),
        ),
        _ => (
            format!("export {var}={plain}"),
            Some(format!("{table} {key} = {value}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::tests::polars_like;
    use crate::settings::Setting;
    use crate::size::{GIB, MIB};
    use std::path::PathBuf;

    fn actions(advice: &[Advice]) -> Vec<&str> {
        advice.iter().map(|a| a.action.as_str()).collect()
    }

    #[test]
    fn dev_defaults_get_debuginfo_first_then_jobs() {
        // polars-like at 1200 MiB: debug 0 first; then one job, since the library dependents
        // cargo pipelines beside polars-core would not fit.
        let graph = polars_like();
        let e = Estimator::for_tests(&graph);
        let settings = BuildSettings::dev_defaults(4);
        let advice = advise(&e, &settings, 1200 * MIB, LinkersOnPath::default());
        let actions = actions(&advice);
        assert_eq!(actions[0], "export CARGO_PROFILE_DEV_DEBUG=0");
        assert!(
            advice[0].effect.starts_with("this build's estimate -"),
            "{}",
            advice[0].effect
        );
        assert!(
            advice[0]
                .instead
                .as_deref()
                .unwrap()
                .contains("line-tables-only"),
            "{:?}",
            advice[0].instead
        );
        assert_eq!(
            actions,
            [
                "export CARGO_PROFILE_DEV_DEBUG=0",
                "export CARGO_BUILD_JOBS=1"
            ]
        );
        assert!(advice[1].peak_after < advice[0].peak_after);
        let plenty = advise(&e, &settings, 64 * GIB, LinkersOnPath::default());
        assert_eq!(plenty[0].action, "export CARGO_PROFILE_DEV_DEBUG=0");
        assert_eq!(plenty.len(), 1);
    }

    #[test]
    fn jobs_are_advised_only_when_they_change_the_estimate() {
        // Two independent heavy crates: a second job adds the other one.
        use crate::graph::{Graph, Package};
        let mut packages: Vec<Package> = polars_like().packages;
        packages.truncate(4);
        packages[0].deps = vec![1, 2];
        packages[1].deps.clear();
        packages[2].deps.clear();
        packages[3].deps.clear();
        packages[1].name = "polars-core".into();
        packages[2].name = "polars-ops".into();
        let graph = Graph::from_packages(packages, vec![0]);
        let e = Estimator::for_tests(&graph);
        let mut settings = BuildSettings::dev_defaults(2);
        settings.debuginfo = Setting::new(
            Debuginfo::None,
            Origin::Env("CARGO_PROFILE_DEV_DEBUG".into()),
        );
        let one = e
            .estimate(&Knobs {
                jobs: 1,
                ..Knobs::from_settings(&settings)
            })
            .peak;
        let advice = advise(&e, &settings, one * 11 / 10, LinkersOnPath::default());
        assert_eq!(actions(&advice), ["export CARGO_BUILD_JOBS=1"]);
        assert_eq!(advice[0].peak_after, Some(one));
    }

    #[test]
    fn settings_already_in_effect_get_no_advice() {
        let graph = polars_like();
        let e = Estimator::for_tests(&graph);
        let mut settings = BuildSettings::dev_defaults(1);
        settings.debuginfo = Setting::new(
            Debuginfo::None,
            Origin::Env("CARGO_PROFILE_DEV_DEBUG".into()),
        );
        settings.incremental.value = false;
        let advice = advise(&e, &settings, 1000 * MIB, LinkersOnPath::default());
        assert!(advice.is_empty(), "{:?}", actions(&advice));
    }

    #[test]
    fn few_codegen_units_fat_lto_and_gnu_ld_are_named_where_they_were_set() {
        let graph = polars_like();
        let e = Estimator::for_tests(&graph);
        let mut settings = BuildSettings::dev_defaults(2);
        settings.debuginfo.value = Debuginfo::None;
        let manifest = Origin::Manifest(PathBuf::from("/ws/Cargo.toml"), "[profile.dev]".into());
        settings.codegen_units = Setting::new(1, manifest.clone());
        settings.lto = Setting::new(Lto::Fat, manifest);
        settings.linker = Setting::new(
            Linker::Bfd,
            Origin::Default("x86_64-unknown-linux-gnu".into()),
        );
        let linkers = LinkersOnPath {
            mold: true,
            lld: false,
        };
        let advice = advise(&e, &settings, 700 * MIB, linkers);
        let actions = actions(&advice);
        assert_eq!(
            actions[0],
            "remove codegen-units = 1 from [profile.dev] in /ws/Cargo.toml"
        );
        assert!(advice[0].peak_after.unwrap() < e.estimate(&Knobs::from_settings(&settings)).peak);
        assert_eq!(
            actions[1], "export CARGO_PROFILE_DEV_LTO=thin",
            "{actions:?}"
        );
        assert_eq!(
            advice[1].instead.as_deref(),
            Some("lto = \"thin\" in [profile.dev] of /ws/Cargo.toml")
        );
    }

    #[test]
    fn rustflags_and_custom_profiles_get_the_matching_fix() {
        let graph = polars_like();
        let e = Estimator::for_tests(&graph);
        let mut settings = BuildSettings::dev_defaults(2);
        settings.profile = "ci-fast".to_string();
        let advice = advise(&e, &settings, GIB, LinkersOnPath::default());
        assert_eq!(advice[0].action, "export CARGO_PROFILE_CI_FAST_DEBUG=0");
        settings.debuginfo.origin = Origin::Rustflags;
        let advice = advise(&e, &settings, GIB, LinkersOnPath::default());
        assert!(
            advice[0].action.contains("-C debuginfo=0 in RUSTFLAGS"),
            "{}",
            advice[0].action
        );
    }
}
