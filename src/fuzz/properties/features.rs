//! `cargo tree` output and the feature explanations built on it.

use super::*;
use crate::features::rules::crate_key;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cargo_tree_never_panics(
        text in soup(&["0", "1", "2", "3", "a", "b", " v1.0.0", " v", "|", ",", "x", "default",
                       " feature \"", "\"", " (*)", " (command-line)", " (proc-macro)", " (/ws/a)",
                       " (", ")", "\n", "\n1", "\n2", "\0"])
    ) {
        cargo_tree(text.as_bytes());
    }

    #[test]
    fn cargo_tree_never_panics_on_any_bytes(data in bytes()) {
        cargo_tree(&data);
    }

    /// A generated tree of package and feature lines: every line is read, each crate's enabled
    /// features are the union of the lists it was printed with, and explaining them holds.
    #[test]
    fn cargo_tree_reads_generated_trees(lines in prop::collection::vec(tree_line(), 1..40)) {
        let mut text = String::new();
        let mut depth = 0usize;
        let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (index, (up, line)) in lines.iter().enumerate() {
            // The first line is the root; each later one at most one level below the last.
            depth = if index == 0 { 0 } else { (depth + 1).saturating_sub(*up).max(1) };
            match line {
                TreeLine::Package { name, version, path, features, seen } => {
                    let source = if *path { format!(" (/ws/{name})") } else { String::new() };
                    let seen = if *seen { " (*)" } else { "" };
                    text.push_str(&format!("{depth}{name} v{version}{source}|{}{seen}\n", features.join(",")));
                    expected.entry(crate_key(name)).or_default().extend(features.iter().cloned());
                }
                TreeLine::Feature { name, feature, command_line } => {
                    let flag = if *command_line { " (command-line)" } else { "" };
                    text.push_str(&format!("{depth}{name} feature \"{feature}\"{flag}\n"));
                }
            }
        }
        let mut graph = tree::Graph::default();
        prop_assert_eq!(graph.add_forward(&text), lines.len());
        prop_assert_eq!(graph.enabled(), expected);
        cargo_tree(text.as_bytes());
        cargo_tree(format!("\0{text}").as_bytes());
    }
}

/// One line of `cargo tree` output below the root, and how many levels it goes up.
#[derive(Debug, Clone)]
enum TreeLine {
    Package {
        name: String,
        version: String,
        path: bool,
        features: Vec<String>,
        seen: bool,
    },
    Feature {
        name: String,
        feature: String,
        command_line: bool,
    },
}

fn tree_line() -> impl Strategy<Value = (usize, TreeLine)> {
    let crate_name =
        prop::sample::select(&["app", "polars", "polars_core", "polars-core", "helper"][..]);
    let feature = prop::sample::select(&["default", "lazy", "dtype-full", "dtype-i8", "std"][..]);
    let package = (
        crate_name.clone(),
        prop::sample::select(&["0.1.0", "1.0.0", "0.55.2"][..]),
        any::<bool>(),
        prop::collection::vec(feature.clone(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(name, version, path, features, seen)| TreeLine::Package {
            name: name.to_string(),
            version: version.to_string(),
            path,
            features: features.into_iter().map(str::to_string).collect(),
            seen,
        });
    let feature_line =
        (crate_name, feature, any::<bool>()).prop_map(|(name, feature, command_line)| {
            TreeLine::Feature {
                name: name.to_string(),
                feature: feature.to_string(),
                command_line,
            }
        });
    (0usize..4, prop_oneof![package, feature_line])
}
