//! Feature rules declared as data in a manifest, read by `check()` and by `cargo lowmem` alike:
//!
//! ```toml
//! [package.metadata.lowmem_build]            # or [workspace.metadata.lowmem_build]
//! polars-minimal-dtypes = true
//! forbid-features = { arrow = ["ffi"] }
//! allow-only-features = { polars = { pattern = "dtype-*", allowed = ["dtype-i8", "dtype-date"] } }
//! require-features = { polars = ["lazy"] }
//! ```
//!
//! Compiled in every build of the crate (only checking the resolved graph needs the
//! `feature-check` feature), so that the governor can check each rustc's features.

use super::{polars_minimal_dtypes, Rule};
use crate::settings::toml::{self, Table, Value};
use std::path::Path;

/// The keys a `metadata.lowmem_build` table may hold, for messages.
const ACCEPTED: &str = "polars-minimal-dtypes = true, forbid-features = { crate = [features] }, allow-only-features = { crate = { pattern = \"...\", allowed = [features] } }, require-features = { crate = [features] }";

/// The rules in `[package.metadata.lowmem_build]` and `[workspace.metadata.lowmem_build]` of
/// `manifest` (already parsed; `shown` names it in messages), and one line per entry that is not
/// understood.
pub(crate) fn rules_in(manifest: &Table, shown: &Path) -> (Vec<Rule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for section in ["package", "workspace"] {
        let Some(table) = toml::get_path(manifest, &[section, "metadata", "lowmem_build"])
            .and_then(Value::as_table)
        else {
            continue;
        };
        let place = format!("{} [{section}.metadata.lowmem_build]", shown.display());
        for (key, value) in table.iter() {
            let problem = match key.as_str() {
                "polars-minimal-dtypes" => match value.as_bool() {
                    Some(true) => {
                        rules.extend(polars_minimal_dtypes());
                        None
                    }
                    Some(false) => None,
                    None => Some("is not true or false".to_string()),
                },
                "forbid-features" | "require-features" => lists(value)
                    .map(|lists| {
                        for (krate, features) in lists {
                            rules.push(if key == "forbid-features" {
                                Rule::Forbid { krate, features }
                            } else {
                                Rule::Require { krate, features }
                            });
                        }
                    })
                    .err(),
                "allow-only-features" => allow_only(value).map(|found| rules.extend(found)).err(),
                _ => Some("is not a key lowmem_build knows".to_string()),
            };
            if let Some(why) = problem {
                problems.push(format!("{place}: `{key}` {why}; accepted: {ACCEPTED}"));
            }
        }
    }
    (rules, problems)
}

/// `{ crate = ["feature", ...], ... }`.
fn lists(value: &Value) -> Result<Vec<(String, Vec<String>)>, String> {
    let table = value
        .as_table()
        .ok_or("is not a table of crate = [features]")?;
    table
        .iter()
        .map(|(krate, features)| {
            Ok((
                krate.clone(),
                strings(features)
                    .ok_or(format!("has `{krate}` not set to a list of feature names"))?,
            ))
        })
        .collect()
}

/// `{ crate = { pattern = "...", allowed = [...] }, ... }`.
fn allow_only(value: &Value) -> Result<Vec<Rule>, String> {
    let table = value
        .as_table()
        .ok_or("is not a table of crate = { pattern, allowed }")?;
    table
        .iter()
        .map(|(krate, spec)| {
            let bad = || format!("has `{krate}` without a `pattern` string and an `allowed` list");
            let spec = spec.as_table().ok_or_else(bad)?;
            let pattern = spec
                .get("pattern")
                .and_then(Value::as_str)
                .ok_or_else(bad)?;
            let allowed = spec.get("allowed").and_then(strings).ok_or_else(bad)?;
            Ok(Rule::AllowOnly {
                krate: krate.clone(),
                pattern: pattern.to_string(),
                allowed,
            })
        })
        .collect()
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Rule>, Vec<String>) {
        rules_in(&toml::parse(text).unwrap(), Path::new("/ws/Cargo.toml"))
    }

    #[test]
    fn every_kind_of_rule_reads() {
        let (rules, problems) = parse(
            r#"
[package.metadata.lowmem_build]
polars-minimal-dtypes = true
forbid-features = { arrow = ["ffi"] }
require-features = { polars = ["lazy"] }
allow-only-features = { polars = { pattern = "dtype-*", allowed = ["dtype-i8"] } }
"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rules.len(), 4 + 3);
        assert!(rules.contains(&Rule::Forbid {
            krate: "arrow".into(),
            features: vec!["ffi".into()]
        }));
        assert!(rules.contains(&Rule::Require {
            krate: "polars".into(),
            features: vec!["lazy".into()]
        }));
        assert!(rules.contains(&Rule::AllowOnly {
            krate: "polars".into(),
            pattern: "dtype-*".into(),
            allowed: vec!["dtype-i8".into()]
        }));
    }

    #[test]
    fn the_workspace_table_counts_and_mistakes_are_one_line_each() {
        let (rules, problems) = parse(
            r#"
[workspace.metadata.lowmem_build]
polars-minimal-dtypes = "yes"
forbid-features = { arrow = "ffi" }
allow-only-features = { polars = { pattern = "dtype-*" } }
frobnicate = 1
require-features = { polars = ["lazy"] }
"#,
        );
        assert_eq!(rules.len(), 1);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with(
            "/ws/Cargo.toml [workspace.metadata.lowmem_build]: `polars-minimal-dtypes` is not true or false; accepted:"
        )), "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("`frobnicate` is not a key lowmem_build knows")));
        assert!(problems.iter().all(|p| !p.contains('\n')));
        assert_eq!(parse("[package]\nname = \"x\"\n"), (vec![], vec![]));
    }
}
