//! Turning a report into cargo directives, written so that they never break the caller: the
//! single-colon form for every key it has, `cargo::error` and check-cfg only where the running
//! cargo and the caller's `rust-version` accept them.

use crate::assess::Tier;
use crate::options::Policy;
use crate::Report;
use std::path::PathBuf;

/// The prefix of every message, so users can tell where a warning comes from.
const TAG: &str = "lowmem_build: ";

/// The line that points a short build at the governor, when it does not run under it.
pub(crate) const GOVERNOR_HINT: &str = "or let `cargo lowmem build` start each rustc only when it fits (`cargo install lowmem_build`; it takes cargo's arguments)";

/// What the running cargo and the caller accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// `cargo:rustc-check-cfg` (cargo 1.80+; older cargo warns about it).
    pub(crate) check_cfg: bool,
    /// `cargo::error=` (cargo 1.84+, and only when the caller's rust-version is 1.77+ or unset,
    /// since cargo rejects `cargo::` from packages declaring an older one).
    pub(crate) error_directive: bool,
}

impl Capabilities {
    /// From the cargo minor version (when known) and the caller's declared rust-version.
    pub(crate) fn new(cargo_minor: Option<u32>, caller_rust_version: Option<(u32, u32)>) -> Self {
        let caller_allows_double_colon = caller_rust_version.map_or(true, |v| v >= (1, 77));
        Capabilities {
            check_cfg: cargo_minor.map_or(true, |m| m >= 80),
            error_directive: cargo_minor.is_some_and(|m| m >= 84) && caller_allows_double_colon,
        }
    }
}

/// What to print: stdout lines, and when the build must fail without `cargo::error`, the lines
/// for stderr before exiting with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Output {
    pub(crate) stdout: Vec<String>,
    pub(crate) exit_with: Option<Vec<String>>,
}

/// Cargo keeps one line per directive and drops what follows an embedded newline.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The directives for `report`, with `rerun-if-env-changed` for the variables it read and
/// `rerun-if-changed` for the manifests and config files it read.
pub(crate) fn directives(report: &Report, caps: Capabilities) -> Output {
    let mut out = Vec::new();
    let warn = |out: &mut Vec<String>, text: &str| {
        out.push(format!("cargo:warning={TAG}{}", one_line(text)))
    };

    for problem in &report.problems {
        warn(&mut out, problem);
    }
    if report.verbose {
        warn(&mut out, &report.headline());
        for line in report.to_string().lines() {
            warn(&mut out, line);
        }
    }

    let fails = report.fails();
    // Rules that deny mode cannot enforce are part of its error, not a warning beside it.
    let mut problem_in_error = None;
    if let Some(problem) = &report.features.problem {
        if fails && report.features.not_compiled {
            problem_in_error = Some(format!("feature check: {problem}"));
        } else if report.policy != Policy::Off {
            warn(&mut out, problem);
        }
    }

    let mut exit_with = None;
    let mut message = Vec::new();
    if report.tier != Tier::Ok || fails {
        message.push(report.headline());
        message.extend(
            report
                .advice
                .iter()
                .enumerate()
                .map(|(i, a)| format!("fix {}: {a}", i + 1)),
        );
        if let Some(split) = &report.split {
            message.push(format!("or {split}"));
        }
        if report.tier.is_short() && !report.governed {
            message.push(GOVERNOR_HINT.to_string());
        }
    }
    message.extend(
        report
            .features
            .violations
            .iter()
            .map(|v| format!("feature check: {v}")),
    );
    message.extend(problem_in_error);
    if fails {
        message.push("this build fails because LOWMEM_BUILD=deny or Policy::Deny is set; LOWMEM_BUILD=warn lets it go on".to_string());
        if caps.error_directive {
            out.extend(
                message
                    .iter()
                    .map(|m| format!("cargo::error={TAG}{}", one_line(m))),
            );
        } else {
            exit_with = Some(
                message
                    .iter()
                    .map(|m| format!("error: {TAG}{}", one_line(m)))
                    .collect(),
            );
        }
    } else if report.policy != Policy::Off && !report.verbose {
        for line in &message {
            warn(&mut out, line);
        }
    }

    out.push(format!("cargo:rustc-env=LOWMEM_BUILD_TIER={}", report.tier));
    out.push(format!(
        "cargo:rustc-env=LOWMEM_BUILD_BUDGET_MB={}",
        report.budget_mib()
    ));
    out.push(format!(
        "cargo:rustc-env=LOWMEM_BUILD_JOBS_HINT={}",
        report.jobs_hint
    ));
    if caps.check_cfg {
        out.push("cargo:rustc-check-cfg=cfg(lowmem)".to_string());
    }
    if report.tier.is_short() {
        out.push("cargo:rustc-cfg=lowmem".to_string());
    }
    for var in &report.watched_env {
        out.push(format!("cargo:rerun-if-env-changed={var}"));
    }
    let mut files: Vec<&PathBuf> = Vec::new();
    for file in report
        .settings
        .files_read
        .iter()
        .chain(&report.features.files)
        .chain(&report.graph_files)
    {
        if !files.contains(&file) {
            files.push(file);
        }
    }
    for file in files {
        out.push(format!("cargo:rerun-if-changed={}", file.display()));
    }
    Output {
        stdout: out,
        exit_with,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_follow_cargo_and_the_callers_rust_version() {
        let c = Capabilities::new(Some(95), Some((1, 70)));
        assert!(c.check_cfg && !c.error_directive);
        let c = Capabilities::new(Some(95), Some((1, 77)));
        assert!(c.error_directive);
        let c = Capabilities::new(Some(83), None);
        assert!(c.check_cfg && !c.error_directive);
        let c = Capabilities::new(Some(79), None);
        assert!(!c.check_cfg);
        assert!(Capabilities::new(None, None).check_cfg);
    }

    #[test]
    fn one_line_drops_newlines() {
        assert_eq!(one_line("a\nb\r\n c "), "a b c");
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;
    use crate::Config;
    use std::path::Path;

    fn report(memory: &str, policy: Policy, verbose: bool) -> Report {
        let env =
            crate::estimate::tests::polars_build_script_env(&[("LOWMEM_BUILD_MEMORY", memory)]);
        let mut config = Config::new();
        config
            .policy(policy)
            .verbose(verbose)
            .system_root("/nonexistent");
        config.assess(&env)
    }

    const ALL: Capabilities = Capabilities {
        check_cfg: true,
        error_directive: true,
    };

    #[test]
    fn all_is_well_prints_only_hints_and_reruns() {
        let mut ok = report("64GiB", Policy::Warn, false);
        ok.watched_env = vec!["LOWMEM_BUILD".to_string()];
        ok.settings.files_read = vec![Path::new("/ws/Cargo.toml").to_path_buf()];
        ok.graph_files = vec![Path::new("/ws/Cargo.lock").to_path_buf()];
        let out = directives(&ok, ALL);
        assert_eq!(
            out.stdout,
            [
                "cargo:rustc-env=LOWMEM_BUILD_TIER=ok",
                "cargo:rustc-env=LOWMEM_BUILD_BUDGET_MB=65536",
                "cargo:rustc-env=LOWMEM_BUILD_JOBS_HINT=2",
                "cargo:rustc-check-cfg=cfg(lowmem)",
                "cargo:rerun-if-env-changed=LOWMEM_BUILD",
                "cargo:rerun-if-changed=/ws/Cargo.toml",
                "cargo:rerun-if-changed=/ws/Cargo.lock",
            ]
        );
        assert_eq!(out.exit_with, None);
    }

    #[test]
    fn short_memory_warns_with_headline_and_fixes_and_sets_the_cfg() {
        let out = directives(&report("512MiB", Policy::Warn, false), ALL);
        let warnings: Vec<_> = out
            .stdout
            .iter()
            .filter(|l| l.starts_with("cargo:warning="))
            .collect();
        assert!(warnings[0].starts_with("cargo:warning=lowmem_build: memory is CRITICAL"));
        assert!(warnings[1]
            .starts_with("cargo:warning=lowmem_build: fix 1: export CARGO_PROFILE_DEV_DEBUG=0"));
        assert!(out.stdout.contains(&"cargo:rustc-cfg=lowmem".to_string()));
        assert!(out.stdout.iter().all(|l| !l.starts_with("cargo::")));
        let off = directives(&report("512MiB", Policy::Off, false), ALL);
        assert!(off.stdout.iter().all(|l| !l.starts_with("cargo:warning")));
        assert!(off
            .stdout
            .contains(&"cargo:rustc-env=LOWMEM_BUILD_TIER=critical".to_string()));
    }

    #[test]
    fn deny_uses_cargo_error_where_it_exists_and_exits_elsewhere() {
        let denied = report("512MiB", Policy::Deny, false);
        let out = directives(&denied, ALL);
        assert!(out.stdout[0].starts_with("cargo::error=lowmem_build: memory is CRITICAL"));
        assert_eq!(out.exit_with, None);
        let old = Capabilities {
            check_cfg: false,
            error_directive: false,
        };
        let out = directives(&denied, old);
        assert!(out
            .stdout
            .iter()
            .all(|l| !l.starts_with("cargo::") && !l.contains("check-cfg")));
        let message = out.exit_with.unwrap();
        assert!(message[0].starts_with("error: lowmem_build: memory is CRITICAL"));
        assert!(message.last().unwrap().contains("LOWMEM_BUILD=warn"));
    }

    #[test]
    fn verbose_prints_the_whole_report_one_line_each() {
        let out = directives(&report("64GiB", Policy::Warn, true), ALL);
        let warnings: Vec<_> = out
            .stdout
            .iter()
            .filter(|l| l.starts_with("cargo:warning="))
            .collect();
        assert!(warnings.len() > 15, "{warnings:#?}");
        assert!(warnings.iter().any(|w| w.contains("estimated need")));
        assert!(warnings.iter().all(|w| !w.contains('\n')));
    }
}
