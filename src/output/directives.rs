//! Turning a report into cargo directives, written so that they never break the caller: the
//! single-colon form for every key it has, `cargo::error` and check-cfg only where the running
//! cargo and the caller's `rust-version` accept them.

use crate::assess::Tier;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::options::Policy;
use crate::Report;

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

/// The lines that say why the build should fail, or what is wrong when it need not: the
/// headline, the fixes and the split build when memory is not comfortable, the pointer to the
/// governor when it is short, the broken feature rules; each without the tag.
fn message(report: &Report) -> Vec<String> {
    let mut message = Vec::new();
    if report.tier >= Tier::Tight || report.fails() {
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
        if report.tier.is_short() && !report.printing.governed {
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
    message
}

/// Why the policy fails the build, one line each with the tag (empty when it does not).
pub(crate) fn failure_message(report: &Report) -> Vec<String> {
    if !report.fails() {
        return Vec::new();
    }
    let mut lines = message(report);
    // Rules that deny mode cannot enforce are part of its error, not a warning beside it.
    if report.features.not_compiled {
        lines.extend(feature_check_problems(report).map(|d| format!("feature check: {d}")));
    }
    lines.push(DENY_NOTE.to_string());
    lines
        .iter()
        .map(|m| format!("{TAG}{}", one_line(m)))
        .collect()
}

/// The last line of a failure.
const DENY_NOTE: &str = "this build fails because LOWMEM_BUILD=deny or Policy::Deny is set; LOWMEM_BUILD=warn lets it go on";

fn feature_check_problems(report: &Report) -> impl Iterator<Item = &Diagnostic> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::FeatureCheck)
}

/// The directives for `report` under the switches it carries: warnings, the hints, and
/// `rerun-if` lines for the variables and files it read. With `enforce`, a report the policy
/// fails becomes an error (`cargo::error` where `caps` allow, else lines for stderr and exit
/// status 1); without it, its lines are warnings and the build goes on.
pub(crate) fn directives(report: &Report, caps: Capabilities, enforce: bool) -> Output {
    let printing = &report.printing;
    let switches = printing.switches;
    let mut out = Vec::new();
    let fail = enforce && report.fails();
    if switches.warnings {
        out.extend(warnings(report, fail).map(|w| format!("cargo:warning={TAG}{}", one_line(&w))));
    }
    let mut exit_with = None;
    if fail {
        let lines = failure_message(report);
        if caps.error_directive {
            out.extend(lines.iter().map(|m| format!("cargo::error={m}")));
        } else {
            exit_with = Some(lines.iter().map(|m| format!("error: {m}")).collect());
        }
    }
    if switches.hints {
        out.extend(hints(report, caps));
    }
    if switches.rerun {
        out.extend(
            printing
                .watched_env
                .iter()
                .map(|var| format!("cargo:rerun-if-env-changed={var}")),
        );
        out.extend(
            printing
                .files
                .iter()
                .map(|file| format!("cargo:rerun-if-changed={}", file.display())),
        );
    }
    Output {
        stdout: out,
        exit_with,
    }
}

/// The warnings, untagged: malformed input always; the whole report when verbose; the feature
/// check's problems and the message unless the policy is off or (`fail`) they go in the error.
fn warnings(report: &Report, fail: bool) -> impl Iterator<Item = String> + '_ {
    let mut lines: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::Input)
        .map(|d| d.message.clone())
        .collect();
    if report.printing.verbose {
        lines.push(report.headline());
        lines.extend(report.to_string().lines().map(str::to_string));
    }
    if report.policy != Policy::Off {
        if !(fail && report.features.not_compiled) {
            lines.extend(feature_check_problems(report).map(|d| d.message.clone()));
        }
        if !fail && !report.printing.verbose {
            lines.extend(message(report));
        }
    }
    lines.into_iter()
}

/// `rustc-env` with the tier, budget and jobs hint; `rustc-cfg=lowmem` when short; check-cfg
/// where cargo knows it.
fn hints(report: &Report, caps: Capabilities) -> Vec<String> {
    let mut out = vec![
        format!("cargo:rustc-env=LOWMEM_BUILD_TIER={}", report.tier),
        format!(
            "cargo:rustc-env=LOWMEM_BUILD_BUDGET_MB={}",
            report.budget_mib()
        ),
        format!(
            "cargo:rustc-env=LOWMEM_BUILD_JOBS_HINT={}",
            report.jobs_hint
        ),
    ];
    if caps.check_cfg {
        out.push("cargo:rustc-check-cfg=cfg(lowmem)".to_string());
    }
    if report.tier.is_short() {
        out.push("cargo:rustc-cfg=lowmem".to_string());
    }
    out
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
    use crate::output::Switches;
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
        ok.printing.watched_env = vec!["LOWMEM_BUILD".to_string()];
        ok.printing.files = vec![
            Path::new("/ws/Cargo.toml").to_path_buf(),
            Path::new("/ws/Cargo.lock").to_path_buf(),
        ];
        let out = directives(&ok, ALL, true);
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
        let out = directives(&report("512MiB", Policy::Warn, false), ALL, true);
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
        let off = directives(&report("512MiB", Policy::Off, false), ALL, true);
        assert!(off.stdout.iter().all(|l| !l.starts_with("cargo:warning")));
        assert!(off
            .stdout
            .contains(&"cargo:rustc-env=LOWMEM_BUILD_TIER=critical".to_string()));
    }

    #[test]
    fn deny_uses_cargo_error_where_it_exists_and_exits_elsewhere() {
        let denied = report("512MiB", Policy::Deny, false);
        let out = directives(&denied, ALL, true);
        assert!(out.stdout[0].starts_with("cargo::error=lowmem_build: memory is CRITICAL"));
        assert_eq!(out.exit_with, None);
        let old = Capabilities {
            check_cfg: false,
            error_directive: false,
        };
        let out = directives(&denied, old, true);
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
        let out = directives(&report("64GiB", Policy::Warn, true), ALL, true);
        let warnings: Vec<_> = out
            .stdout
            .iter()
            .filter(|l| l.starts_with("cargo:warning="))
            .collect();
        assert!(warnings.len() > 15, "{warnings:#?}");
        assert!(warnings.iter().any(|w| w.contains("estimated need")));
        assert!(warnings.iter().all(|w| !w.contains('\n')));
    }

    #[test]
    fn without_enforcing_deny_warns_and_goes_on() {
        let denied = report("512MiB", Policy::Deny, false);
        let out = directives(&denied, ALL, false);
        assert_eq!(out.exit_with, None);
        assert!(out.stdout.iter().all(|l| !l.starts_with("cargo::error")));
        assert!(out.stdout[0].starts_with("cargo:warning=lowmem_build: memory is CRITICAL"));
        let error = failure_message(&denied);
        assert!(error[0].starts_with("lowmem_build: memory is CRITICAL"));
        assert!(error.last().unwrap().contains("LOWMEM_BUILD=warn"));
        assert!(failure_message(&report("512MiB", Policy::Warn, false)).is_empty());
    }

    #[test]
    fn each_switch_turns_off_its_own_kind_only() {
        let mut short = report("512MiB", Policy::Warn, false);
        short.printing.watched_env = vec!["LOWMEM_BUILD".to_string()];
        short.printing.files = vec![Path::new("/ws/Cargo.lock").to_path_buf()];
        let kinds = |r: &Report| {
            let out = directives(r, ALL, true).stdout;
            let has = |prefix: &str| out.iter().any(|l| l.starts_with(prefix));
            (
                has("cargo:warning="),
                has("cargo:rustc-env=") && has("cargo:rustc-cfg=") && has("cargo:rustc-check-cfg="),
                has("cargo:rerun-if-env-changed=") && has("cargo:rerun-if-changed="),
                out.len(),
            )
        };
        let (warnings, hints, reruns, _) = kinds(&short);
        assert!(warnings && hints && reruns);
        short.printing.switches.warnings = false;
        assert!(matches!(kinds(&short), (false, true, true, _)));
        short.printing.switches = Switches::all(true);
        short.printing.switches.hints = false;
        assert!(matches!(kinds(&short), (true, false, true, _)));
        short.printing.switches = Switches::all(true);
        short.printing.switches.rerun = false;
        assert!(matches!(kinds(&short), (true, true, false, _)));
        short.printing.switches = Switches::all(false);
        assert!(matches!(kinds(&short), (false, false, false, 0)));
        // Deny's error is not a warning: it is printed with warnings off.
        let mut denied = report("512MiB", Policy::Deny, false);
        denied.printing.switches = Switches::all(false);
        let out = directives(&denied, ALL, true).stdout;
        assert!(!out.is_empty() && out.iter().all(|l| l.starts_with("cargo::error=")));
    }

    #[test]
    fn an_unknown_budget_is_the_unknown_tier() {
        let env = crate::estimate::tests::polars_build_script_env(&[]);
        let mut config = Config::new();
        config.system_root("/nonexistent");
        let unknown = config.assess(&env);
        assert_eq!(unknown.memory.budget, None);
        let out = directives(&unknown, ALL, true).stdout;
        assert!(out.contains(&"cargo:rustc-env=LOWMEM_BUILD_TIER=unknown".to_string()));
        assert!(out.contains(&"cargo:rustc-env=LOWMEM_BUILD_BUDGET_MB=0".to_string()));
        assert!(
            !out.iter().any(|l| l.starts_with("cargo:warning")),
            "{out:#?}"
        );
        assert!(unknown.headline().starts_with("memory need unknown"));
    }
}
