//! The fixes, ranked by their measured effect, each for a setting not already in effect.

use super::model::{estimate, Knobs, Workload};
use super::{safe_jobs, COMFORT};
use crate::settings::{BuildSettings, Debuginfo, Linker, Lto, Origin};
use std::fmt;

/// One fix: what to set, where else it can go, and what it is expected to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Advice {
    /// What to do, copy-pasteable (usually an `export` line).
    pub action: String,
    /// The same as a manifest or config entry, when there is one.
    pub instead: Option<String>,
    /// Its expected effect and the measurement behind it.
    pub effect: String,
    /// The estimated peak with this fix and every earlier one applied; `None` for alternatives
    /// the model does not cover.
    pub peak_after: Option<u64>,
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.action)?;
        if let Some(instead) = &self.instead {
            write!(f, " (or {instead})")?;
        }
        if let Some(peak) = self.peak_after {
            write!(f, " -> est. peak {}", crate::size::Bytes(peak))?;
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

/// The fixes for `settings` against `budget`, best first. Cumulative fixes carry the estimate
/// after them; the alternatives for keeping full debuginfo come last.
pub(crate) fn advise(
    workload: &Workload,
    settings: &BuildSettings,
    budget: u64,
    linkers: LinkersOnPath,
) -> Vec<Advice> {
    let prefix = settings.profile_env_prefix();
    let table = format!("[profile.{}]", settings.profile);
    let mut knobs = Knobs::from_settings(settings);
    let mut out = Vec::new();
    let mut push = |knobs: &Knobs, action: String, instead: Option<String>, effect: &str| {
        out.push(Advice {
            action,
            instead,
            effect: effect.to_string(),
            peak_after: Some(estimate(workload, knobs).peak),
        });
    };

    let debuginfo = &settings.debuginfo;
    let debuginfo_effect = if debuginfo.value > Debuginfo::LineTablesOnly {
        Some("measured on polars: peak -48% (line-tables-only -47%), build 21% faster")
    } else if debuginfo.value > Debuginfo::None
        && estimate(workload, &knobs).peak as f64 > budget as f64 * COMFORT
    {
        Some("measured on polars: final link 2.0 -> 1.3 GB, peak -1% to -26% with one job")
    } else {
        None
    };
    if let Some(effect) = debuginfo_effect {
        knobs.debuginfo = Debuginfo::None;
        let (action, mut instead) = setting_fix(
            &debuginfo.origin,
            &prefix,
            &table,
            "debug",
            "0",
            "-C debuginfo=0",
        );
        if debuginfo.value > Debuginfo::LineTablesOnly {
            instead = instead.map(|i| format!("{i}, or \"line-tables-only\" to keep backtraces"));
        }
        push(&knobs, action, instead, effect);
    }

    let units = &settings.codegen_units;
    if units.value < 16 && !matches!(units.origin, Origin::Default(_)) {
        knobs.codegen_units = 256;
        let action = match &units.origin {
            Origin::Env(var) => format!("unset {var}"),
            Origin::Rustflags => format!("remove -C codegen-units={} from RUSTFLAGS", units.value),
            other => format!("remove codegen-units = {} from {other}", units.value),
        };
        push(
            &knobs,
            action,
            None,
            "measured: codegen-units = 1 made polars-core need 2.2x the memory (1.7 -> 3.7 GB)",
        );
    }

    if settings.lto.value == Lto::Fat {
        knobs.lto = Lto::Thin;
        let (action, instead) = setting_fix(
            &settings.lto.origin,
            &prefix,
            &table,
            "lto",
            "\"thin\"",
            "-C lto=thin",
        );
        push(
            &knobs,
            action,
            instead,
            "fat LTO holds the whole program in one LLVM module (not measured here)",
        );
    }

    let jobs = safe_jobs(workload, &knobs, budget);
    if jobs < knobs.jobs {
        knobs.jobs = jobs;
        push(
            &knobs,
            format!("export CARGO_BUILD_JOBS={jobs}"),
            Some(format!("cargo build -j {jobs}, or [build] jobs = {jobs} in .cargo/config.toml")),
            "measured on polars with debug 0: one job instead of two cut the peak 25% at 1.7x the build time",
        );
    }

    let linker = &settings.linker.value;
    if !linker.is_lean()
        && settings.target.contains("linux")
        && estimate(workload, &knobs).link as f64 > budget as f64 * COMFORT
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

    // Alternatives for those who must keep full debuginfo.
    if debuginfo.value > Debuginfo::LineTablesOnly {
        let split = settings.split_debuginfo.value.as_str();
        if split == "off" && !settings.target.contains("windows") {
            out.push(Advice {
                action: format!(
                    "if full debuginfo must stay: export {prefix}SPLIT_DEBUGINFO=unpacked"
                ),
                instead: Some(format!("{table} split-debuginfo = \"unpacked\"")),
                effect: "keeps DWARF out of the final link (not measured here)".to_string(),
                peak_after: None,
            });
        }
        if settings.incremental.value {
            out.push(Advice {
                action: "if full debuginfo must stay: export CARGO_INCREMENTAL=0".to_string(),
                instead: Some(format!("{table} incremental = false")),
                effect: "helps when the incremental cache is large (not measured here)".to_string(),
                peak_after: None,
            });
        }
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
    let var = format!("{prefix}{}", crate::settings::env_name(key));
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
    use crate::settings::Setting;
    use crate::size::{GIB, MIB};
    use std::path::PathBuf;

    fn actions(advice: &[Advice]) -> Vec<&str> {
        advice.iter().map(|a| a.action.as_str()).collect()
    }

    #[test]
    fn dev_defaults_get_debuginfo_first_then_jobs_then_alternatives() {
        let settings = BuildSettings::dev_defaults(4);
        let advice = advise(
            &Workload::polars(),
            &settings,
            2 * GIB,
            LinkersOnPath::default(),
        );
        let actions = actions(&advice);
        assert_eq!(actions[0], "export CARGO_PROFILE_DEV_DEBUG=0");
        assert_eq!(actions[1], "export CARGO_BUILD_JOBS=1");
        assert!(
            actions[2].ends_with("SPLIT_DEBUGINFO=unpacked"),
            "{actions:?}"
        );
        assert_eq!(
            actions[3],
            "if full debuginfo must stay: export CARGO_INCREMENTAL=0"
        );
        assert_eq!(actions.len(), 4, "rust-lld is already lean: {actions:?}");
        // Each cumulative fix lowers the estimate.
        assert!(advice[1].peak_after < advice[0].peak_after);
        assert_eq!(advice[2].peak_after, None);
    }

    #[test]
    fn settings_already_in_effect_get_no_advice() {
        let mut settings = BuildSettings::dev_defaults(1);
        settings.debuginfo = Setting::new(
            Debuginfo::None,
            Origin::Env("CARGO_PROFILE_DEV_DEBUG".into()),
        );
        settings.incremental.value = false;
        let advice = advise(
            &Workload::polars(),
            &settings,
            1500 * MIB,
            LinkersOnPath::default(),
        );
        assert!(advice.is_empty(), "{:?}", actions(&advice));
    }

    #[test]
    fn few_codegen_units_fat_lto_and_gnu_ld_are_named_where_they_were_set() {
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
        let advice = advise(&Workload::polars(), &settings, 1200 * MIB, linkers);
        let actions = actions(&advice);
        assert_eq!(
            actions[0],
            "remove codegen-units = 1 from [profile.dev] in /ws/Cargo.toml"
        );
        assert_eq!(actions[1], "export CARGO_PROFILE_DEV_LTO=thin");
        assert_eq!(
            advice[1].instead.as_deref(),
            Some("lto = \"thin\" in [profile.dev] of /ws/Cargo.toml")
        );
        assert!(
            actions.contains(&"export RUSTFLAGS=\"-C link-arg=-fuse-ld=mold\""),
            "{actions:?}"
        );
        let linker = advice.iter().find(|a| a.action.contains("mold")).unwrap();
        assert!(linker.effect.contains("--no-keep-memory"));
    }

    #[test]
    fn rustflags_and_custom_profiles_get_the_matching_fix() {
        let mut settings = BuildSettings::dev_defaults(2);
        settings.profile = "ci-fast".to_string();
        let advice = advise(
            &Workload::polars(),
            &settings,
            3 * GIB,
            LinkersOnPath::default(),
        );
        assert_eq!(advice[0].action, "export CARGO_PROFILE_CI_FAST_DEBUG=0");
        settings.debuginfo.origin = Origin::Rustflags;
        let advice = advise(
            &Workload::polars(),
            &settings,
            3 * GIB,
            LinkersOnPath::default(),
        );
        assert!(
            advice[0].action.contains("-C debuginfo=0 in RUSTFLAGS"),
            "{}",
            advice[0].action
        );
    }
}
