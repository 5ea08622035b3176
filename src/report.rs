//! The report: everything one check found and decided, as plain data, and its human summary.

use crate::assess::{Advice, SplitPlan, Tier};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::estimate::{Estimate, Phase};
use crate::features::FeatureReport;
use crate::options::Policy;
use crate::output::Printing;
use crate::probe::{BudgetSource, MemorySnapshot};
use crate::settings::BuildSettings;
use crate::size::{to_mib, Bytes};
use std::fmt;

/// What [`Config::check`](crate::Config::check) found and decided.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// The machine's memory and the budget.
    pub memory: MemorySnapshot,
    /// The build settings in effect.
    pub settings: BuildSettings,
    /// What the build is expected to need, from its dependency graph; `None` when the graph
    /// could not be read (the diagnostics say why).
    pub estimate: Option<Estimate>,
    /// How the budget compares with the estimate.
    pub tier: Tier,
    /// The most parallel jobs that fit the budget with the current settings (the current number
    /// when memory is unknown).
    pub jobs_hint: u32,
    /// The fixes, best first; empty when the tier is `unknown` or `ok`.
    pub advice: Vec<Advice>,
    /// When one crate is the problem: build it alone first, then the rest.
    pub split: Option<SplitPlan>,
    /// The policy in force (after `LOWMEM_BUILD`).
    pub policy: Policy,
    /// The feature check (empty when no feature rules were set).
    pub features: FeatureReport,
    /// What could not be read or was not accepted: malformed knobs and declared rules, files and
    /// figures the probe, the settings or the estimate ignored, a feature check that could not
    /// run.
    pub diagnostics: Vec<Diagnostic>,
    /// What printing needs besides the verdict.
    pub(crate) printing: Printing,
}

impl Report {
    /// Whether the policy fails this build: deny, and the tier is `low` or `critical`, a feature
    /// rule is broken, or rules are set that this build of the crate cannot check (it lacks the
    /// `feature-check` feature). A probe or `cargo tree` that could not run never fails it.
    pub fn fails(&self) -> bool {
        self.policy == Policy::Deny
            && (self.tier.is_short()
                || !self.features.violations.is_empty()
                || self.features.not_compiled)
    }

    /// The budget and what bounded it, as the headline says it (`2.0 GiB (cgroup ...)`), or
    /// `None` when unknown.
    pub fn budget_text(&self) -> Option<String> {
        self.memory
            .budget
            .map(|b| format!("{} ({})", Bytes(b), describe_budget(&self.memory)))
    }

    /// The budget in MiB (0 when unknown), as `LOWMEM_BUILD_BUDGET_MB` carries it.
    pub fn budget_mib(&self) -> u64 {
        self.memory.budget.map_or(0, to_mib)
    }

    /// One line: tier, budget and what bounded it, the estimate, where its peak is and the
    /// heaviest crates.
    pub fn headline(&self) -> String {
        let budget = self.budget_text().unwrap_or_else(|| "unknown".to_string());
        let verdict = match self.tier {
            Tier::Ok => "memory is sufficient",
            Tier::Tight => "memory is TIGHT",
            Tier::Low => "memory is LOW, rustc or the linker may be killed (SIGKILL)",
            Tier::Critical => {
                "memory is CRITICAL, expect rustc or the linker to be killed (SIGKILL)"
            }
            _ => "memory need unknown",
        };
        let settings = self.settings.summary();
        match &self.estimate {
            Some(e) => format!(
                "{verdict}: budget {budget}, estimated need {} {} ({settings}; {} crates)",
                Bytes(e.peak),
                peak_place(e),
                e.crates,
            ),
            None => format!("{verdict}: budget {budget}, estimate unknown ({settings})"),
        }
    }

    /// The directives [`Config::check`](crate::Config::check) prints (or printed) for this
    /// report, with the switches it was given: warnings, hints and `rerun-if` lines, and in
    /// deny mode the error (`cargo::error=` lines, or the `error:` lines it writes to stderr
    /// before exiting with status 1 on a cargo without `cargo::error`).
    pub fn directives(&self) -> Vec<String> {
        let output = crate::output::directives(self, self.printing.caps, true);
        let mut lines = output.stdout;
        lines.extend(output.exit_with.unwrap_or_default());
        lines
    }
}

/// Where the peak is: "compiling polars-core ≈ 2.0 GiB (table) + polars-io ≈ 0.6 GiB (table)"
/// or "linking app ≈ 1.2 GiB (size model)".
fn peak_place(e: &Estimate) -> String {
    let names: Vec<String> = e.together.iter().map(|c| c.to_string()).collect();
    let verb = if e.phase == Phase::Link {
        "at the link"
    } else {
        "compiling"
    };
    if names.is_empty() {
        return String::new();
    }
    format!("{verb} {}", names.join(" beside "))
}

/// The budget's source, and what this build's own processes added back.
fn describe_budget(memory: &MemorySnapshot) -> String {
    let mut text = describe_source(&memory.bounded_by);
    let measured = matches!(
        memory.bounded_by,
        BudgetSource::Available | BudgetSource::AvailableEstimate | BudgetSource::Cgroup(_)
    );
    if let Some(build) = memory
        .this_build
        .as_ref()
        .filter(|b| b.anon > 0 && measured)
    {
        text.push_str(&format!(
            ", plus {} held by this build's cargo and {} processes it started, not counted as taken",
            Bytes(build.anon),
            build.processes.saturating_sub(1)
        ));
    }
    text
}

fn describe_source(source: &BudgetSource) -> String {
    match source {
        BudgetSource::Available => "available memory".to_string(),
        BudgetSource::AvailableEstimate => "free + cached memory".to_string(),
        BudgetSource::Cgroup(limit) => format!(
            "cgroup {} {} of {}",
            limit.file,
            Bytes(limit.bytes),
            limit.cgroup
        ),
        BudgetSource::Override => "LOWMEM_BUILD_MEMORY".to_string(),
        BudgetSource::Configured => "Config::memory".to_string(),
        BudgetSource::Unknown => "unknown".to_string(),
    }
}

fn opt_bytes(value: Option<u64>) -> String {
    value.map_or_else(|| "unknown".to_string(), |b| Bytes(b).to_string())
}

impl fmt::Display for Report {
    /// The human summary: one `name  value` row per fact, then the fixes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.memory;
        let s = &self.settings;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, value: String| {
            writeln!(f, "{name:<18}{value}")
        };
        row(f, "tier", self.tier.to_string())?;
        row(
            f,
            "budget",
            match m.budget {
                Some(b) => format!("{} ({})", Bytes(b), describe_budget(m)),
                None => "unknown".to_string(),
            },
        )?;
        row(f, "memory total", opt_bytes(m.total))?;
        row(f, "memory available", opt_bytes(m.available))?;
        row(
            f,
            "swap",
            format!(
                "{} free of {}",
                opt_bytes(m.swap_free),
                opt_bytes(m.swap_total)
            ),
        )?;
        match &m.cgroup {
            Some(cg) => {
                let limit = |l: &Option<crate::CgroupLimit>| match l {
                    Some(l) => format!("{} ({} of {})", Bytes(l.bytes), l.file, l.cgroup),
                    None => "none".to_string(),
                };
                row(f, "cgroup", format!("v{} {}", cg.version, cg.path))?;
                row(f, "cgroup limit", limit(&cg.limit))?;
                row(f, "cgroup soft limit", limit(&cg.soft_limit))?;
                row(
                    f,
                    "cgroup usage",
                    format!(
                        "{} ({} inactive file)",
                        opt_bytes(cg.usage),
                        opt_bytes(cg.inactive_file)
                    ),
                )?;
                row(
                    f,
                    "cgroup headroom",
                    match (&cg.headroom, &cg.binding) {
                        (Some(room), Some(l)) => {
                            format!("{} (under {} of {})", Bytes(*room), l.file, l.cgroup)
                        }
                        _ => "no limit".to_string(),
                    },
                )?;
            }
            None => row(f, "cgroup", "no memory cgroup".to_string())?,
        }
        match &self.estimate {
            Some(e) => {
                row(
                    f,
                    "estimated need",
                    format!(
                        "{} {} (compile {}, link {})",
                        Bytes(e.peak),
                        peak_place(e),
                        Bytes(e.compile),
                        if e.link > 0 {
                            Bytes(e.link).to_string()
                        } else {
                            "none".to_string()
                        }
                    ),
                )?;
                let heaviest: Vec<String> = e.heaviest.iter().map(|c| c.to_string()).collect();
                row(f, "heaviest crates", heaviest.join(", "))?;
                row(f, "crates", e.crates.to_string())?;
                for assumption in &e.assumptions {
                    row(f, "assumed", assumption.to_string())?;
                }
            }
            None => row(f, "estimated need", "unknown (see the notes)".to_string())?,
        }
        row(f, "safe jobs", self.jobs_hint.to_string())?;
        row(
            f,
            "profile",
            format!(
                "{}{}",
                s.profile,
                if s.in_build_script {
                    ""
                } else {
                    " (assumed: not in a build script)"
                }
            ),
        )?;
        row(f, "target", s.target.clone())?;
        row(
            f,
            "rustc",
            s.rustc
                .as_ref()
                .map_or_else(|| "unknown".to_string(), |r| r.to_string()),
        )?;
        row(f, "jobs", s.jobs.to_string())?;
        row(f, "opt-level", s.opt_level.to_string())?;
        row(f, "debug", s.debuginfo.to_string())?;
        row(f, "codegen-units", s.codegen_units.to_string())?;
        row(f, "lto", s.lto.to_string())?;
        row(f, "incremental", s.incremental.to_string())?;
        row(f, "split-debuginfo", s.split_debuginfo.to_string())?;
        row(f, "linker", s.linker.to_string())?;
        if let Some(threads) = s.threads {
            row(f, "-Z threads", threads.to_string())?;
        }
        row(f, "policy", self.policy.to_string())?;
        let features = &self.features;
        if features.checked {
            row(
                f,
                "features",
                format!(
                    "{} broken rule(s){}",
                    features.violations.len(),
                    if features.cached {
                        " (cached verdict)"
                    } else {
                        ""
                    }
                ),
            )?;
        }
        for violation in &features.violations {
            row(f, "feature rule", violation.to_string())?;
        }
        for (i, advice) in self.advice.iter().enumerate() {
            row(f, &format!("fix {}", i + 1), advice.to_string())?;
        }
        if let Some(split) = &self.split {
            row(f, "split build", split.to_string())?;
        }
        for diagnostic in &self.diagnostics {
            let name = match diagnostic.kind {
                DiagnosticKind::FeatureCheck => "feature note",
                _ => "note",
            };
            row(f, name, diagnostic.message.clone())?;
        }
        Ok(())
    }
}
