//! The builder and the one verb: read the machine and cargo's settings, decide, print.

use crate::assess::{self, LinkersOnPath};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::env::Env;
use crate::error::Error;
use crate::estimate::{self, Estimator, Knobs};
use crate::features::{self, FeatureReport, Rule};
use crate::options::{read_options, Policy};
use crate::output::{self, Capabilities, Printing, Switches};
use crate::probe::{self, fs::SystemRoot, BudgetSource, MemorySnapshot};
use crate::settings::{read_settings, BuildSettings};
use crate::Report;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The check, configured. `Config::new().check()` is [`check()`](crate::check).
///
/// Environment variables override what is set here (see the crate docs), so CI can tighten or
/// loosen a build without touching `build.rs`.
#[derive(Debug, Clone)]
pub struct Config {
    policy: Policy,
    cargo_directives: bool,
    switches: Switches,
    memory: Option<u64>,
    min_memory: Option<u64>,
    profile: Option<String>,
    verbose: bool,
    system_root: PathBuf,
    env: Vec<(String, Option<OsString>)>,
    rules: Vec<Rule>,
    manifest_path: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// The defaults: warn, print directives, the real machine.
    pub fn new() -> Config {
        Config {
            policy: Policy::Warn,
            cargo_directives: true,
            switches: Switches::all(true),
            memory: None,
            min_memory: None,
            profile: None,
            verbose: false,
            system_root: PathBuf::from("/"),
            env: Vec::new(),
            rules: Vec::new(),
            manifest_path: None,
        }
    }

    /// What to do when memory is short (`LOWMEM_BUILD=off|warn|deny` overrides it).
    pub fn policy(&mut self, policy: Policy) -> &mut Config {
        self.policy = policy;
        self
    }

    /// Whether to print cargo directives at all (default `true`). With `false`, `check` only
    /// returns the report: for tests and tools. Deny never fails the build then; see
    /// [`Report::fails`]. With `true`, the three switches below choose what is printed.
    pub fn cargo_directives(&mut self, print: bool) -> &mut Config {
        self.cargo_directives = print;
        self
    }

    /// Whether to print `cargo:warning` lines (default `true`). Deny mode's error is printed
    /// regardless: it is not a warning.
    pub fn cargo_warnings(&mut self, print: bool) -> &mut Config {
        self.switches.warnings = print;
        self
    }

    /// Whether to print the hints for your crate (default `true`): `cargo:rustc-env` with
    /// `LOWMEM_BUILD_TIER`, `LOWMEM_BUILD_BUDGET_MB` and `LOWMEM_BUILD_JOBS_HINT`,
    /// `cargo:rustc-cfg=lowmem` and `cargo:rustc-check-cfg=cfg(lowmem)`.
    pub fn rustc_hints(&mut self, print: bool) -> &mut Config {
        self.switches.hints = print;
        self
    }

    /// Whether to print `cargo:rerun-if-env-changed` and `cargo:rerun-if-changed` for what the
    /// check read (default `true`). Any `rerun-if` line turns off cargo's default of rerunning
    /// the build script when any file of the package changes; a build script that relies on
    /// that default, or prints its own `rerun-if` lines, can turn these off.
    pub fn rerun_directives(&mut self, print: bool) -> &mut Config {
        self.switches.rerun = print;
        self
    }

    /// Pretend this budget in bytes (`LOWMEM_BUILD_MEMORY` overrides it).
    pub fn memory(&mut self, bytes: u64) -> &mut Config {
        self.memory = Some(bytes);
        self
    }

    /// Treat a budget below this many bytes as `critical` (`LOWMEM_BUILD_MIN_MEMORY` overrides it).
    pub fn min_memory(&mut self, bytes: u64) -> &mut Config {
        self.min_memory = Some(bytes);
        self
    }

    /// The profile to assume outside a build script (default `dev`). Inside one, cargo's wins.
    pub fn profile(&mut self, name: &str) -> &mut Config {
        self.profile = Some(name.to_string());
        self
    }

    /// Print the whole report even when all is fine (`LOWMEM_BUILD_VERBOSE` overrides it).
    pub fn verbose(&mut self, verbose: bool) -> &mut Config {
        self.verbose = verbose;
        self
    }

    /// Read /proc and /sys under `root` instead of `/`. Internal and unstable (the `unstable-internals`
    /// feature): for the repository's tests, which point real build scripts at fixture trees.
    #[cfg(any(test, feature = "unstable-internals"))]
    pub fn system_root(&mut self, root: impl AsRef<Path>) -> &mut Config {
        self.system_root = root.as_ref().to_path_buf();
        self
    }

    /// Set (`Some`) or remove (`None`) an environment variable for this check, as if the process
    /// had it: for tools that ask "what if" (`cargo lowmem preflight --jobs 4 --memory 2GiB`
    /// sets `CARGO_BUILD_JOBS` and `LOWMEM_BUILD_MEMORY`). The processes the check runs
    /// (`rustc -vV`, `rustc --print cfg`, `cargo tree`, `cargo -V`) see the same change.
    pub fn env_var(&mut self, key: &str, value: Option<&str>) -> &mut Config {
        self.env.push((key.to_string(), value.map(OsString::from)));
        self
    }

    /// Checks that polars stays minimal: on `polars` and `polars-core` the enabled `dtype-*`
    /// features are among `dtype-i8`, `dtype-i16`, `dtype-u8`, `dtype-u16`, `dtype-date`, and
    /// `dtype-full` is off. `dtype-full` alone makes polars-core need several GB to compile.
    pub fn polars_minimal_dtypes(&mut self) -> &mut Config {
        self.rules.extend(features::polars_minimal_dtypes());
        self
    }

    /// Checks that none of `features` is enabled on crate `krate` (`-` and `_` alike).
    pub fn forbid_features(&mut self, krate: &str, features: &[&str]) -> &mut Config {
        self.rules.push(Rule::Forbid {
            krate: krate.to_string(),
            features: owned(features),
        });
        self
    }

    /// Checks that among `krate`'s enabled features matching `pattern` (`*` any run of
    /// characters, `?` one), only those in `allowed` are on.
    pub fn allow_only_features(
        &mut self,
        krate: &str,
        pattern: &str,
        allowed: &[&str],
    ) -> &mut Config {
        self.rules.push(Rule::AllowOnly {
            krate: krate.to_string(),
            pattern: pattern.to_string(),
            allowed: owned(allowed),
        });
        self
    }

    /// Checks that all of `features` are enabled on `krate`.
    pub fn require_features(&mut self, krate: &str, features: &[&str]) -> &mut Config {
        self.rules.push(Rule::Require {
            krate: krate.to_string(),
            features: owned(features),
        });
        self
    }

    /// The package to check, by its `Cargo.toml`, instead of the build script's: the `#[test]`
    /// pattern (`concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")`) and tools. Its graph is
    /// estimated, the feature rules its manifest and its workspace root declare are read, and its
    /// features are checked with its default features, for `TARGET` when set, else the host.
    pub fn manifest_path(&mut self, path: impl AsRef<Path>) -> &mut Config {
        self.manifest_path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Runs the check: probes memory, reads the settings, assesses, and (unless
    /// `cargo_directives(false)`) prints the directives. In deny mode, when memory is short, a
    /// feature rule is broken or rules are set without the `feature-check` feature, it fails
    /// the build: with `cargo::error` where cargo has it (the build script goes on and cargo
    /// fails after it), else by printing the error to stderr and exiting with status 1.
    /// [`Config::try_check`] leaves that to you.
    pub fn check(&self) -> Report {
        let report = self.run();
        if self.cargo_directives
            && output::emit(&output::directives(&report, report.printing.caps, true))
        {
            std::process::exit(1);
        }
        report
    }

    /// As [`Config::check`], but never fails the build itself: it prints what warn mode
    /// prints (warnings, hints, `rerun-if` lines) and returns an [`Error`] when the policy
    /// would fail the build, so the caller decides (`?` from a `main` that returns `Result`
    /// fails the build script with the error's lines).
    pub fn try_check(&self) -> Result<Report, Error> {
        let report = self.run();
        if self.cargo_directives {
            output::emit(&output::directives(&report, report.printing.caps, false));
        }
        match Error::of(&report) {
            Some(kind) => Err(Error::new(kind, report)),
            None => Ok(report),
        }
    }

    /// Assesses this process's environment with the overrides laid on top.
    fn run(&self) -> Report {
        self.assess(&Env::process(&self.env))
    }

    /// Reads the machine, the settings and the build's graph through `env`, decides, and makes
    /// the report.
    pub(crate) fn assess(&self, env: &Env) -> Report {
        let options = read_options(env);
        let policy = options.policy.unwrap_or(self.policy);
        let system = SystemRoot::new(&self.system_root);
        let mut memory = probe::probe(&system);
        if let Some(bytes) = options.memory {
            memory = memory.with_budget_override(bytes, BudgetSource::Override);
        } else if let Some(bytes) = self.memory {
            memory = memory.with_budget_override(bytes, BudgetSource::Configured);
        }
        let manifest_dir = self.manifest_path.as_deref().and_then(Path::parent);
        let mut settings = read_settings(env, self.profile.as_deref(), manifest_dir);
        let declared = declared_rules(self.manifest_path.as_deref(), &settings);
        let mut rules = self.rules.clone();
        rules.extend(declared.rules);
        let mut features = if policy == Policy::Off {
            FeatureReport::default()
        } else {
            features::verify(env, &rules, self.manifest_path.as_deref())
        };
        // The shipped table, read once: the graph asks which crates it lacks (only those are
        // measured on disk), the estimate takes their figures.
        let rows = estimate::table::rows(estimate::table::SHIPPED);
        let inputs = estimate::read::read(
            env,
            &system,
            &settings,
            self.manifest_path.as_deref(),
            &rows,
        );
        let (graph, store, graph_files, graph_note) = match inputs {
            Ok(inputs) => (Some(inputs.graph), inputs.store, inputs.files, None),
            Err(why) => (None, Vec::new(), Vec::new(), Some(why)),
        };
        let estimator = graph
            .as_ref()
            .map(|g| Estimator::new(g, &store, features.resolved.as_deref(), &rows));
        let min_memory = options.min_memory.or(self.min_memory);
        let (verdict, advice, split) =
            decide(&memory, &settings, min_memory, estimator.as_ref(), || {
                linkers_on_path(env)
            });

        let mut diagnostics: Vec<Diagnostic> = options
            .problems
            .into_iter()
            .chain(declared.problems)
            .map(|p| Diagnostic::new(DiagnosticKind::Input, p))
            .collect();
        diagnostics.extend(
            features
                .problem
                .take()
                .map(|p| Diagnostic::new(DiagnosticKind::FeatureCheck, p)),
        );
        diagnostics.extend(Diagnostic::notes(std::mem::take(&mut memory.problems)));
        diagnostics.extend(Diagnostic::notes(std::mem::take(&mut settings.problems)));
        diagnostics.extend(Diagnostic::notes(
            graph.iter().flat_map(|g| g.problems.iter().cloned()),
        ));
        diagnostics.extend(Diagnostic::notes(graph_note));
        diagnostics.extend(Diagnostic::notes(std::mem::take(&mut features.notes)));

        let mut files: Vec<PathBuf> = Vec::new();
        for file in settings
            .files_read
            .iter()
            .chain(&features.files)
            .chain(&graph_files)
            .chain(&declared.files)
        {
            if !files.contains(file) {
                files.push(file.clone());
            }
        }
        let mut report = Report {
            memory,
            settings,
            estimate: verdict.estimate,
            tier: verdict.tier,
            jobs_hint: verdict.jobs_hint,
            advice,
            split,
            policy,
            features,
            diagnostics,
            printing: Printing {
                verbose: options.verbose.unwrap_or(self.verbose),
                switches: self.switches,
                caps: Capabilities::new(None, None),
                watched_env: Vec::new(),
                files,
                governed: env.is_set("LOWMEM_GOVERNOR_DIR"),
            },
        };
        report.printing.caps = capabilities(env, &report);
        report.printing.watched_env = env.watched();
        report
    }
}

/// The functional core: plain data in, the verdict, the fixes and the split build out. The
/// linkers on PATH are looked up only when there is advice to give.
fn decide(
    memory: &MemorySnapshot,
    settings: &BuildSettings,
    min_memory: Option<u64>,
    estimator: Option<&Estimator<'_>>,
    linkers: impl FnOnce() -> LinkersOnPath,
) -> (
    assess::Assessment,
    Vec<assess::Advice>,
    Option<assess::SplitPlan>,
) {
    let knobs = Knobs::from_settings(settings);
    let verdict = assess::assess(estimator, &knobs, memory.budget, min_memory);
    let (advice, split) = match (memory.budget, estimator) {
        (Some(budget), Some(estimator)) if verdict.tier >= assess::Tier::Tight => (
            assess::advise(estimator, settings, budget, linkers()),
            assess::split_plan(estimator, &knobs, budget, &profile_flag(settings)),
        ),
        _ => (Vec::new(), None),
    };
    (verdict, advice, split)
}

/// The feature rules declared in manifests, what was wrong in them, and the files they were
/// read from.
#[derive(Debug, Default)]
struct Declared {
    rules: Vec<Rule>,
    problems: Vec<String>,
    files: Vec<PathBuf>,
}

/// The feature rules declared in the package's manifest (`manifest`, else the build script's
/// package) and in its workspace root's, with the problems found and the files read.
fn declared_rules(manifest: Option<&Path>, settings: &BuildSettings) -> Declared {
    let own = manifest
        .map(Path::to_path_buf)
        .or_else(|| settings.manifest_dir.as_ref().map(|d| d.join("Cargo.toml")));
    let Some(own) = own else {
        return Default::default();
    };
    // Each manifest read once: the package's, then its workspace root's when that is another.
    let Ok(own_table) = crate::workspace::read_toml(&own) else {
        return Default::default();
    };
    let root = crate::workspace::root_manifest(&own, &own_table, |path| {
        crate::workspace::read_toml(path).ok()
    });
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    let mut read = Vec::new();
    for (file, table) in std::iter::once((own, own_table)).chain(root) {
        let (found, wrong) = features::declared::rules_in(&table, &file);
        if !found.is_empty() || !wrong.is_empty() {
            read.push(file);
        }
        rules.extend(found);
        problems.extend(wrong);
    }
    Declared {
        rules,
        problems,
        files: read,
    }
}

/// The cargo flag that selects the profile being built.
fn profile_flag(settings: &BuildSettings) -> String {
    match settings.profile.as_str() {
        "dev" | "test" => String::new(),
        "release" | "bench" => "--release".to_string(),
        other => format!("--profile {other}"),
    }
}

/// Feature names as the rules keep them.
fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// What the running cargo accepts. The cargo version is asked (`$CARGO -V`) only when the build
/// must fail, the one case where it matters more than rustc's version, which usually matches.
fn capabilities(env: &Env, report: &Report) -> Capabilities {
    let rustc_minor = report.settings.rustc.as_ref().map(|r| r.minor);
    let cargo_minor = if report.fails() {
        cargo_minor(env).or(rustc_minor)
    } else {
        rustc_minor
    };
    Capabilities::new(cargo_minor, report.settings.caller_rust_version)
}

fn cargo_minor(env: &Env) -> Option<u32> {
    let mut command = env.command(env.text("CARGO")?);
    command.arg("-V");
    let done = crate::process::run(command, Duration::from_secs(10)).ok()?;
    // "cargo 1.95.0 (f2d3ce0bd 2026-03-21)"
    let version = done.stdout.split_whitespace().nth(1)?;
    version.split('.').nth(1)?.parse().ok()
}

/// Whether mold or lld can be found on PATH, for the linker advice.
pub(crate) fn linkers_on_path(env: &Env) -> LinkersOnPath {
    let dirs: Vec<PathBuf> = env
        .get_os("PATH")
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    let found = |names: &[&str]| {
        dirs.iter()
            .any(|d| names.iter().any(|n| d.join(n).is_file()))
    };
    LinkersOnPath {
        mold: found(&["mold"]),
        lld: found(&["ld.lld", "lld"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::Tier;
    use crate::probe::BudgetSource;
    use crate::size::GIB;

    fn machine(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/machines")
            .join(name)
    }

    /// A build-script environment for the dev profile with two jobs, building polars' graph.
    fn build_script_env(extra: &[(&str, &str)]) -> Env {
        crate::estimate::tests::polars_build_script_env(extra)
    }

    #[test]
    fn a_container_limit_makes_the_build_critical_with_fixes() {
        let mut config = Config::new();
        config.system_root(machine("v1-bind-mount"));
        let report = config.assess(&build_script_env(&[]));
        assert!(matches!(report.memory.bounded_by, BudgetSource::Cgroup(_)));
        assert_eq!(report.tier, Tier::Critical);
        assert_eq!(report.jobs_hint, 1);
        assert!(report.advice[0]
            .action
            .contains("CARGO_PROFILE_DEV_DEBUG=0"));
        assert!(!report.fails(), "warn is the default");
        assert!(report.headline().starts_with("memory is CRITICAL"));
        let estimate = report.estimate.as_ref().unwrap();
        assert_eq!(
            estimate.heaviest[0].name, "polars-core",
            "{:?}",
            estimate.heaviest
        );
        assert!(
            report.headline().contains("compiling polars-core"),
            "{}",
            report.headline()
        );
    }

    /// polars 0.55.2's real graph at 2 GiB (the fixture lock, no sources on disk): short, and
    /// polars-core named first.
    #[test]
    fn polars_at_2gib_is_short_and_names_polars_core_first() {
        let mut config = Config::new();
        config.system_root(machine("v1-nested-unlimited"));
        let report = config.assess(&build_script_env(&[("LOWMEM_BUILD_MEMORY", "2GiB")]));
        assert!(report.tier.is_short(), "{}", report.headline());
        let estimate = report.estimate.as_ref().unwrap();
        assert_eq!(estimate.heaviest[0].name, "polars-core");
        assert!(
            report.headline().contains("compiling polars-core ≈"),
            "{}",
            report.headline()
        );
    }

    #[test]
    fn without_a_graph_the_estimate_is_unknown_and_says_why() {
        let mut config = Config::new();
        config.system_root(machine("v1-bind-mount"));
        let env = build_script_env(&[("CARGO_MANIFEST_DIR", "/nonexistent/app")]);
        let report = config.assess(&env);
        assert_eq!(report.estimate, None);
        assert_eq!(report.tier, Tier::Unknown);
        assert!(
            report
                .diagnostics
                .iter()
                .any(|d| d.kind == DiagnosticKind::Note
                    && d.message.starts_with("no Cargo.lock in /nonexistent")),
            "{:?}",
            report.diagnostics
        );
        assert!(report.headline().contains("estimate unknown"));
    }

    #[test]
    fn knobs_override_the_code_and_bad_knobs_fall_back() {
        let mut config = Config::new();
        config
            .system_root(machine("v2-nested"))
            .policy(Policy::Warn)
            .memory(GIB);
        let env = build_script_env(&[("LOWMEM_BUILD", "deny"), ("LOWMEM_BUILD_MEMORY", "64GiB")]);
        let report = config.assess(&env);
        assert_eq!(report.policy, Policy::Deny);
        assert_eq!(report.tier, Tier::Ok);
        assert!(report.advice.is_empty());
        assert_eq!(report.budget_mib(), 65536);
        assert_eq!(report.memory.bounded_by, BudgetSource::Override);
        assert!(report.headline().contains("(LOWMEM_BUILD_MEMORY)"));

        let report = config.assess(&build_script_env(&[]));
        assert_eq!(report.memory.bounded_by, BudgetSource::Configured);
        assert!(
            report
                .headline()
                .contains("budget 1.0 GiB (Config::memory)"),
            "{}",
            report.headline()
        );

        let env = build_script_env(&[
            ("LOWMEM_BUILD", "sometimes"),
            ("LOWMEM_BUILD_MEMORY", "1e99GiB"),
        ]);
        let report = config.assess(&env);
        assert_eq!(report.policy, Policy::Warn, "the code's policy stays");
        assert_eq!(report.budget_mib(), 1024, "the code's memory stays");
        let inputs: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Input)
            .collect();
        assert_eq!(inputs.len(), 2, "{:?}", report.diagnostics);
        assert!(inputs[0].message.starts_with("LOWMEM_BUILD="), "{inputs:?}");

        let env = build_script_env(&[
            ("LOWMEM_BUILD_MIN_MEMORY", "128GiB"),
            ("LOWMEM_BUILD_MEMORY", "64GiB"),
        ]);
        assert_eq!(config.assess(&env).tier, Tier::Critical);
    }

    #[test]
    fn deny_fails_only_when_memory_is_short() {
        let mut config = Config::new();
        config
            .system_root(machine("v2-namespace"))
            .policy(Policy::Deny);
        let short = config.assess(&build_script_env(&[]));
        assert!(short.fails());
        let plenty = config.assess(&build_script_env(&[("LOWMEM_BUILD_MEMORY", "64GiB")]));
        assert!(!plenty.fails());
        // A cgroup really over its limit is a shortage (headroom 0), not a probe problem.
        config.system_root(machine("odd-usage-over-limit"));
        let over = config.assess(&build_script_env(&[]));
        assert_eq!(over.budget_mib(), 0);
        assert!(over.fails());
        // A limit of 0 is a broken cgroupfs: ignored, so deny does not fail on a probe problem.
        config.system_root(machine("odd-limit-zero"));
        let zero = config.assess(&build_script_env(&[]));
        assert!(!matches!(zero.memory.bounded_by, BudgetSource::Cgroup(_)));
        assert!(!zero.fails(), "{}", zero.headline());
        // A probe that finds nothing is unknown, never a failure.
        config.system_root("/nonexistent/lowmem_build");
        let unknown = config.assess(&build_script_env(&[]));
        assert_eq!(unknown.tier, Tier::Unknown);
        assert!(!unknown.fails());
        assert_eq!(unknown.budget_mib(), 0);
    }
}
