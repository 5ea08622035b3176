//! Checking the rules against the features cargo resolved: pure, over a map of crate -> features.

use super::Rule;
use crate::glob;
use std::collections::{BTreeMap, BTreeSet};

/// A crate name as cargo compares them for rules: `-` and `_` alike, ASCII case folded
/// (`polars_core` and `polars-core` are the same crate).
pub(crate) fn crate_key(name: &str) -> String {
    crate_key_chars(name).collect()
}

/// The characters of [`crate_key`], for building keys without an allocation.
pub(crate) fn crate_key_chars(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars().map(|c| {
        if c == '_' {
            '-'
        } else {
            c.to_ascii_lowercase()
        }
    })
}

/// What the rules found wrong with one crate: features on that must be off (`missing: false`),
/// or features off that must be on (`missing: true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The crate as the first rule about it named it.
    pub(crate) krate: String,
    /// [`crate_key`] of the crate.
    pub(crate) key: String,
    /// The offending (or missing) features, sorted.
    pub(crate) features: Vec<String>,
    /// Whether these are required features that are off.
    pub(crate) missing: bool,
}

/// Every (crate key, feature) that is on but must be off, over all `findings`.
pub(crate) fn offending(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .filter(|f| !f.missing)
        .flat_map(|f| f.features.iter().map(|x| (f.key.clone(), x.clone())))
        .collect()
}

/// The findings, in the order of the rules, and the notes (rules about crates not in the graph).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Evaluation {
    pub(crate) findings: Vec<Finding>,
    pub(crate) notes: Vec<String>,
}

/// Checks `rules` against `enabled`: each crate's enabled features keyed by [`crate_key`]. Two
/// rules about one crate merge into one finding (the polars preset both forbids `dtype-full` and
/// allows only five `dtype-*`).
pub(crate) fn evaluate(rules: &[Rule], enabled: &BTreeMap<String, BTreeSet<String>>) -> Evaluation {
    let mut found: Vec<(Finding, BTreeSet<String>)> = Vec::new();
    let mut absent: Vec<String> = Vec::new();
    for rule in rules {
        let (krate, missing) = match rule {
            Rule::Forbid { krate, .. } | Rule::AllowOnly { krate, .. } => (krate, false),
            Rule::Require { krate, .. } => (krate, true),
        };
        let key = crate_key(krate);
        let Some(on) = enabled.get(&key) else {
            if !absent.contains(&key) {
                absent.push(key);
            }
            continue;
        };
        let bad: BTreeSet<String> = match rule {
            Rule::Forbid { features, .. } => features
                .iter()
                .filter(|f| on.contains(f.as_str()))
                .cloned()
                .collect(),
            Rule::AllowOnly {
                pattern, allowed, ..
            } => on
                .iter()
                .filter(|f| glob::matches(pattern, f) && !allowed.contains(f))
                .cloned()
                .collect(),
            Rule::Require { features, .. } => features
                .iter()
                .filter(|f| !on.contains(f.as_str()))
                .cloned()
                .collect(),
        };
        if bad.is_empty() {
            continue;
        }
        match found
            .iter_mut()
            .find(|(f, _)| f.key == key && f.missing == missing)
        {
            Some((_, features)) => features.extend(bad),
            None => found.push((
                Finding {
                    krate: krate.clone(),
                    key,
                    features: Vec::new(),
                    missing,
                },
                bad,
            )),
        }
    }
    let notes = absent
        .iter()
        .map(|key| {
            let named = rules
                .iter()
                .map(rule_crate)
                .find(|k| crate_key(k) == *key)
                .unwrap_or(key);
            format!("rule about `{named}`: not in the graph, nothing to check")
        })
        .collect();
    Evaluation {
        findings: found
            .into_iter()
            .map(|(mut finding, features)| {
                finding.features = features.into_iter().collect();
                finding
            })
            .collect(),
        notes,
    }
}

fn rule_crate(rule: &Rule) -> &String {
    match rule {
        Rule::Forbid { krate, .. }
        | Rule::AllowOnly { krate, .. }
        | Rule::Require { krate, .. } => krate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::polars_minimal_dtypes;

    fn graph(entries: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        entries
            .iter()
            .map(|(name, features)| {
                (
                    crate_key(name),
                    features.iter().map(|f| f.to_string()).collect(),
                )
            })
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_with_dash_and_underscore_are_one_crate() {
        assert_eq!(crate_key("polars_core"), "polars-core");
        assert_eq!(crate_key("Polars-Core"), "polars-core");
        let rules = [Rule::Forbid {
            krate: "polars_core".into(),
            features: strings(&["dtype-time"]),
        }];
        let found = evaluate(&rules, &graph(&[("polars-core", &["dtype-time"])]));
        assert_eq!(found.findings.len(), 1);
        assert_eq!(found.findings[0].krate, "polars_core");
        assert_eq!(found.findings[0].key, "polars-core");
    }

    #[test]
    fn the_preset_passes_the_five_and_merges_its_two_rules() {
        let five = [
            "dtype-date",
            "dtype-i16",
            "dtype-i8",
            "dtype-u16",
            "dtype-u8",
            "ipc",
            "lazy",
        ];
        let ok = graph(&[("polars", &five), ("polars-core", &five)]);
        assert_eq!(
            evaluate(&polars_minimal_dtypes(), &ok),
            Evaluation::default()
        );

        let full = graph(&[
            ("polars", &["dtype-full", "dtype-i8", "dtype-time", "lazy"]),
            ("polars-core", &["dtype-i8", "dtype-time"]),
        ]);
        let found = evaluate(&polars_minimal_dtypes(), &full);
        assert!(found.notes.is_empty());
        assert_eq!(
            found.findings,
            [
                Finding {
                    krate: "polars".into(),
                    key: "polars".into(),
                    features: strings(&["dtype-full", "dtype-time"]),
                    missing: false,
                },
                Finding {
                    krate: "polars-core".into(),
                    key: "polars-core".into(),
                    features: strings(&["dtype-time"]),
                    missing: false,
                },
            ]
        );
    }

    #[test]
    fn allow_only_looks_only_at_matching_features() {
        let rules = [Rule::AllowOnly {
            krate: "polars".into(),
            pattern: "dtype-*".into(),
            allowed: strings(&["dtype-i8", "dtype-date"]),
        }];
        let found = evaluate(
            &rules,
            &graph(&[("polars", &["dtype-slim", "dtype-date", "csv", "lazy"])]),
        );
        assert_eq!(found.findings[0].features, ["dtype-slim"]);
    }

    #[test]
    fn require_reports_what_is_off_and_absent_crates_are_notes() {
        let rules = [
            Rule::Require {
                krate: "polars".into(),
                features: strings(&["lazy", "ipc"]),
            },
            Rule::Forbid {
                krate: "arrow".into(),
                features: strings(&["ffi"]),
            },
            Rule::Require {
                krate: "arrow".into(),
                features: strings(&["ffi"]),
            },
        ];
        let found = evaluate(&rules, &graph(&[("polars", &["lazy"])]));
        assert_eq!(
            found.findings,
            [Finding {
                krate: "polars".into(),
                key: "polars".into(),
                features: strings(&["ipc"]),
                missing: true,
            }]
        );
        assert_eq!(
            found.notes,
            ["rule about `arrow`: not in the graph, nothing to check"]
        );
    }

    #[test]
    fn forbidden_and_required_stay_apart() {
        let rules = [
            Rule::Forbid {
                krate: "polars".into(),
                features: strings(&["dtype-full"]),
            },
            Rule::Require {
                krate: "polars".into(),
                features: strings(&["lazy"]),
            },
        ];
        let found = evaluate(&rules, &graph(&[("polars", &["dtype-full"])]));
        assert_eq!(found.findings.len(), 2);
        assert!(!found.findings[0].missing);
        assert!(found.findings[1].missing);
    }
}
