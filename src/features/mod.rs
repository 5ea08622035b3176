//! The feature check: whether the features cargo resolved for this build obey the rules
//! (e.g. polars kept to five dtypes), who turned on the ones that do not, and the fix.
//!
//! "Resolved" means what rustc receives for the package being built, its target and its active
//! features, as `cargo tree -e normal,features --target <TARGET>` shows it, not `cargo
//! metadata`'s union over every member, dev and build dependency and platform.

pub(crate) mod declared;

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use std::fmt;
use std::path::{Path, PathBuf};

// The check itself (`cargo tree`, the graph, the rules, the cache) is compiled only with the
// `feature-check` feature: about 28% more compile time for this crate (README, Costs), which
// callers that set no rules should not pay on the small machines this crate is for.
cfg_if::cfg_if! {
    if #[cfg(feature = "feature-check")] {
        pub(crate) mod advice;
        mod cache;
        mod caller;
        mod cargo_tree;
        pub(crate) mod chain;
        pub(crate) mod rules;
        pub(crate) mod tree;
        pub(crate) mod workspace;
        mod verify;
        pub(crate) use verify::verify;
    } else {
        /// Without the `feature-check` feature the rules cannot be checked: one problem, and deny
        /// mode fails (the rules were asked for and nothing enforces them).
        pub(crate) fn verify(
            _: &crate::env::Env,
            rules: &[Rule],
            _: Option<&std::path::Path>,
        ) -> FeatureReport {
            let mut report = FeatureReport::default();
            if !rules.is_empty() {
                report.problem = Some(NOT_COMPILED.to_string());
                report.not_compiled = true;
            }
            report
        }

        /// The one line printed when rules are set but the check is not compiled in.
        pub(crate) const NOT_COMPILED: &str = "feature rules are set but not checked: lowmem_build was built without its `feature-check` feature; add `features = [\"feature-check\"]` to `lowmem_build` under [build-dependencies]";
    }
}

/// One rule about a crate's resolved features. Crate names match with `-` and `_` alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Rule {
    /// These features must be off.
    Forbid {
        krate: String,
        features: Vec<String>,
    },
    /// Among the crate's enabled features that match `pattern` (`*` any run of characters, `?`
    /// one character), only `allowed` may be on.
    AllowOnly {
        krate: String,
        pattern: String,
        allowed: Vec<String>,
    },
    /// These features must be on.
    Require {
        krate: String,
        features: Vec<String>,
    },
}

impl Rule {
    /// The crate the rule is about.
    pub(crate) fn krate(&self) -> &str {
        match self {
            Rule::Forbid { krate, .. }
            | Rule::AllowOnly { krate, .. }
            | Rule::Require { krate, .. } => krate,
        }
    }

    /// What breaks the rule in a crate built with `features`: the features on that must be off,
    /// or (for `Require`) the required ones that are off.
    pub(crate) fn broken_by(&self, features: &[String]) -> Vec<String> {
        let on = |f: &String| features.contains(f);
        match self {
            Rule::Forbid {
                features: forbidden,
                ..
            } => forbidden.iter().filter(|f| on(f)).cloned().collect(),
            Rule::AllowOnly {
                pattern, allowed, ..
            } => features
                .iter()
                .filter(|f| crate::glob::matches(pattern, f) && !allowed.contains(f))
                .cloned()
                .collect(),
            Rule::Require {
                features: required, ..
            } => required.iter().filter(|f| !on(f)).cloned().collect(),
        }
    }
}

/// A rule about the features one crate may be compiled with: set in `build.rs`
/// ([`Config::forbid_features`](crate::Config::forbid_features) and its siblings) or declared in
/// a manifest's `[package.metadata.lowmem_build]` or `[workspace.metadata.lowmem_build]`. Tools
/// (`cargo lowmem`) check each rustc's features against them as the crate is about to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureRule(Rule);

impl FeatureRule {
    /// The rules declared in the manifest at `path` (both metadata tables), and one line for each
    /// entry that is not understood (naming the file and what is accepted). A manifest that
    /// cannot be read has none.
    pub fn declared_in(path: &Path) -> (Vec<FeatureRule>, Vec<Diagnostic>) {
        let Ok(table) = crate::workspace::read_toml(path) else {
            return (Vec::new(), Vec::new());
        };
        let (rules, problems) = declared::rules_in(&table, path);
        (
            rules.into_iter().map(FeatureRule).collect(),
            problems
                .into_iter()
                .map(|p| Diagnostic::new(DiagnosticKind::Input, p))
                .collect(),
        )
    }

    /// The manifests whose declared rules apply when cargo builds the workspace around
    /// `manifest`, as cargo finds them: `manifest` itself first, then the workspace root's and
    /// every member's (`workspace.members` expanded, `workspace.exclude` honoured). A member's
    /// rules apply whether cargo runs from the root or from the member, since cargo resolves
    /// features for the whole workspace. Manifests that do not exist are left out.
    pub fn workspace_manifests(manifest: &Path) -> Vec<std::path::PathBuf> {
        let mut out = vec![manifest.to_path_buf()];
        if let Ok(table) = crate::workspace::read_toml(manifest) {
            let (root, root_table) = crate::workspace::root_manifest(manifest, &table, |p| {
                crate::workspace::read_toml(p).ok()
            })
            .unwrap_or_else(|| (manifest.to_path_buf(), table));
            if let Some(dir) = root.parent() {
                out.extend(crate::workspace::members(dir, &root_table));
            }
            out.insert(1, root);
        }
        let mut seen = Vec::new();
        out.retain(|m| {
            let keep = m.is_file() && !seen.contains(m);
            seen.push(m.clone());
            keep
        });
        out
    }

    /// Whether the rule is about the crate named `krate` (`-` and `_` alike, as rustc's
    /// `--crate-name` spells it too).
    pub fn applies_to(&self, krate: &str) -> bool {
        let key = |s: &str| s.replace('_', "-").to_ascii_lowercase();
        key(self.0.krate()) == key(krate)
    }

    /// What breaks the rule in a crate compiled with `features` (its `--cfg feature` names):
    /// features on that must be off, or required ones that are off; empty when it holds.
    pub fn broken_by(&self, features: &[String]) -> Vec<String> {
        self.0.broken_by(features)
    }

    /// Whether breaking it means required features are missing (rather than forbidden ones on).
    pub fn requires(&self) -> bool {
        matches!(self.0, Rule::Require { .. })
    }
}

impl fmt::Display for FeatureRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rule::Forbid { krate, features } => {
                write!(f, "`{krate}` must not have {}", features.join(", "))
            }
            Rule::AllowOnly {
                krate,
                pattern,
                allowed,
            } => {
                write!(
                    f,
                    "`{krate}` may have of `{pattern}` only {}",
                    allowed.join(", ")
                )
            }
            Rule::Require { krate, features } => {
                write!(f, "`{krate}` must have {}", features.join(", "))
            }
        }
    }
}

/// The five dtypes of the polars preset.
const POLARS_MINIMAL_DTYPES: [&str; 5] = [
    "dtype-i8",
    "dtype-i16",
    "dtype-u8",
    "dtype-u16",
    "dtype-date",
];

/// The polars preset: on `polars` and `polars-core`, the enabled `dtype-*` features are a subset
/// of `dtype-i8`, `dtype-i16`, `dtype-u8`, `dtype-u16`, `dtype-date`, and `dtype-full` is off.
pub(crate) fn polars_minimal_dtypes() -> Vec<Rule> {
    let allowed: Vec<String> = POLARS_MINIMAL_DTYPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    ["polars", "polars-core"]
        .iter()
        .flat_map(|krate| {
            [
                Rule::AllowOnly {
                    krate: krate.to_string(),
                    pattern: "dtype-*".to_string(),
                    allowed: allowed.clone(),
                },
                Rule::Forbid {
                    krate: krate.to_string(),
                    features: vec!["dtype-full".to_string()],
                },
            ]
        })
        .collect()
}

/// One broken rule, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeatureViolation {
    /// The crate, as the rule named it.
    pub krate: String,
    /// The offending features (on but must be off), or the missing ones when `missing`.
    pub features: Vec<String>,
    /// Who turned the offending features on, one line per chain, e.g. "feature `full` of crate
    /// `helper` enables `polars/dtype-full`, which turns on `dtype-time` (app -> helper/full ->
    /// polars/dtype-full)". Empty for missing features.
    pub enabled_by: Vec<String>,
    /// What to change, naming the manifest relative to the workspace root, e.g.
    /// "crates/app/Cargo.toml: set `default-features = false` on `polars` and list the features
    /// you need". Several fixes are joined with "; ". Only edits that turn off nothing but the
    /// forbidden features (or what the workspace's own crates define) are fixes; empty when
    /// there is none.
    pub fix: String,
    /// Where no edit is known to be safe: what turns the features on and the choices, e.g. "no
    /// fix in this workspace: `polars-time` is not a package of it and turns them on itself;
    /// it comes in through the dependencies on `polars`, `polars-io` in Cargo.toml; choices:
    /// allow them in the feature rules, or change those dependencies (another version, other
    /// features)". Several are joined with "; "; empty when every cause has a fix.
    pub choices: String,
    /// Whether `features` are required features that are off (rather than features on that
    /// must be off).
    pub missing: bool,
}

impl fmt::Display for FeatureViolation {
    /// One line: the crate, the features, who enabled them, the fix and the choices.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let features = self
            .features
            .iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if self.missing {
            write!(
                f,
                "`{}` lacks {features}, which the feature rules require",
                self.krate
            )?;
        } else {
            write!(
                f,
                "`{}` has {features} on, which the feature rules forbid",
                self.krate
            )?;
            if !self.enabled_by.is_empty() {
                write!(f, ": {}", self.enabled_by.join("; "))?;
            }
        }
        if !self.fix.is_empty() {
            write!(f, "; fix: {}", self.fix)?;
        }
        if !self.choices.is_empty() {
            write!(f, "; {}", self.choices)?;
        }
        Ok(())
    }
}

/// What the feature check found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FeatureReport {
    /// Whether the features were checked: false when there were no rules, when the check was
    /// skipped (a registry dependency's build script) or when `cargo tree` could not run.
    pub checked: bool,
    /// Whether the verdict came from the cache in `OUT_DIR` (no manifest, Cargo.lock, target,
    /// feature, rule or rustflag changed since it was made).
    pub cached: bool,
    /// The broken rules; empty when all hold.
    pub violations: Vec<FeatureViolation>,
    /// Lines for verbose output: rules about crates not in the graph, why the check was
    /// skipped, what it cost (moved into the report's diagnostics).
    pub(crate) notes: Vec<String>,
    /// Why the check could not run (`cargo tree` failed or timed out, no Cargo.lock), one line
    /// (moved into the report's diagnostics).
    pub(crate) problem: Option<String>,
    /// The files the verdict depends on, for `rerun-if-changed`: the workspace's manifests,
    /// path dependencies' manifests and Cargo.lock.
    pub(crate) files: Vec<PathBuf>,
    /// Whether rules were set but this crate was built without its `feature-check` feature, so
    /// nothing checked them (`problem` says so; deny mode fails on it).
    pub(crate) not_compiled: bool,
    /// The features cargo resolved for each package, when `cargo tree` ran (not from the
    /// cache): the estimate uses them to pick among a crate's measurements.
    pub(crate) resolved: Option<Vec<(String, Vec<String>)>>,
}

#[cfg(all(test, feature = "feature-check"))]
mod tests;
