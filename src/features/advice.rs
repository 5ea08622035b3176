//! The fix for a finding: which manifest to change and how, named relative to the workspace root.

use super::chain::Cause;
use super::rules::{crate_key, Finding};
use super::tree::{Graph, Node};
use super::workspace::{read_manifest, Workspace};
use crate::graph::manifest::{dependency_tables, DepKind};
use crate::settings::toml::Value;
use std::path::Path;

/// The fix for one cause: at the first edge on its path (from the package being built down)
/// that turns on a feature of another crate, since that is the outermost choice a manifest
/// makes. E.g. "via-helper/Cargo.toml: remove `full` from the features of `helper`".
pub(crate) fn fix_for_cause(graph: &Graph, workspace: &Workspace, cause: &Cause) -> String {
    let edge = cause.path.windows(2).find_map(|pair| {
        let (a, b) = (graph.node(pair[0])?, graph.node(pair[1])?);
        match b {
            Node::Feature { name, feature, .. } if crate_key(a.crate_name()) != crate_key(name) => {
                Some((a, name.as_str(), feature.as_str()))
            }
            _ => None,
        }
    });
    let Some((from, krate, feature)) = edge else {
        return "cargo tree did not show which manifest turns this on".to_string();
    };
    let dir = match from {
        Node::Package { dir, .. } => dir.as_deref(),
        Node::Feature { name, .. } => graph.dir_of(&crate_key(name)),
    };
    let from_name = from.crate_name();
    let Some(dir) = dir else {
        return format!(
            "`{from_name}` is not a package of this workspace and turns on `{krate}/{feature}` itself: drop or replace it, or ask its authors"
        );
    };
    let manifest = dir.join("Cargo.toml");
    let shown = workspace.relative(&manifest);
    match from {
        Node::Package { .. } if feature == "default" => {
            if inherits(&manifest, krate) {
                format!(
                    "{}: set `default-features = false` on `{krate}` in [workspace.dependencies] ({shown} inherits it) and list the features you need",
                    workspace.relative(&workspace.manifest())
                )
            } else {
                format!(
                    "{shown}: set `default-features = false` on `{krate}` and list the features you need"
                )
            }
        }
        Node::Package { .. } => {
            format!("{shown}: remove `{feature}` from the features of `{krate}`")
        }
        Node::Feature {
            feature: own,
            command_line: true,
            ..
        } if own != "default" => format!(
            "build `{from_name}` without feature `{own}` (`--features {own}`, or a crate that enables it), or remove `{krate}/{feature}` from feature `{own}` in {shown}"
        ),
        Node::Feature { feature: own, .. } => {
            format!("{shown}: remove `{krate}/{feature}` from feature `{own}` of `{from_name}`")
        }
    }
}

/// The fix for required features that are off: add them where a local package depends on the
/// crate, the package being built first.
pub(crate) fn fix_for_missing(graph: &Graph, workspace: &Workspace, finding: &Finding) -> String {
    let wanted = finding
        .features
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut dependents: Vec<&Path> = Vec::new();
    for package in graph.packages_of(&finding.key) {
        let feature_parents = graph
            .parents(package)
            .iter()
            .chain(
                graph
                    .parents(package)
                    .iter()
                    .flat_map(|&f| graph.parents(f)),
            )
            .filter_map(|&p| match graph.node(p) {
                Some(Node::Package { dir: Some(dir), .. }) => Some(dir.as_path()),
                _ => None,
            });
        dependents.extend(feature_parents);
    }
    let root_dir = graph.root().and_then(|r| match graph.node(r) {
        Some(Node::Package { dir: Some(dir), .. }) => Some(dir.as_path()),
        _ => None,
    });
    let chosen = root_dir
        .filter(|r| dependents.contains(r))
        .or_else(|| dependents.first().copied());
    match chosen {
        Some(dir) => format!(
            "{}: add {wanted} to the features of `{}`",
            workspace.relative(&dir.join("Cargo.toml")),
            finding.krate
        ),
        None => format!(
            "turn on {wanted} of `{}` from a package of this workspace",
            finding.krate
        ),
    }
}

/// Whether the manifest's normal dependency on `krate` is `workspace = true`, so the
/// `default-features` that counts is the one in the root's `[workspace.dependencies]`.
fn inherits(manifest: &Path, krate: &str) -> bool {
    let Some(table) = read_manifest(manifest) else {
        return false;
    };
    dependency_tables(&table, &[DepKind::Normal])
        .into_iter()
        .flat_map(|deps| deps.iter())
        .filter(|(key, spec)| {
            let package = spec
                .as_table()
                .and_then(|s| s.get("package"))
                .and_then(Value::as_str)
                .unwrap_or(key);
            crate_key(package) == crate_key(krate)
        })
        .any(|(_, spec)| {
            spec.as_table()
                .and_then(|s| s.get("workspace"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::chain::{explain, tests::graph_of};
    use crate::features::polars_minimal_dtypes;
    use crate::features::rules::evaluate;
    use crate::features::Rule;
    use std::path::PathBuf;

    fn workspace(root: &str) -> Workspace {
        Workspace {
            root: PathBuf::from(root),
            members: Vec::new(),
        }
    }

    fn fixes(graph: &Graph, ws: &Workspace) -> Vec<Vec<String>> {
        let findings = evaluate(&polars_minimal_dtypes(), &graph.enabled()).findings;
        let offending = crate::features::rules::offending(&findings);
        findings
            .iter()
            .map(|finding| {
                explain(graph, finding, &offending)
                    .causes
                    .iter()
                    .map(|c| fix_for_cause(graph, ws, c))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_outermost_manifest_choice_is_the_fix() {
        let ws = workspace("/ws");
        let graph = graph_of("via-helper.txt", Some("via-helper-inverted.txt"));
        assert_eq!(
            fixes(&graph, &ws),
            [
                ["via-helper/Cargo.toml: remove `full` from the features of `helper`"],
                ["via-helper/Cargo.toml: remove `full` from the features of `helper`"],
            ]
        );
        let graph = graph_of("opt-in-full.txt", Some("opt-in-full-inverted.txt"));
        assert_eq!(
            fixes(&graph, &ws)[0],
            ["build `opt-in` without feature `full` (`--features full`, or a crate that enables it), or remove `polars/dtype-full` from feature `full` in opt-in/Cargo.toml"]
        );
    }

    #[test]
    fn default_features_advice_names_the_manifest() {
        // The fixture's paths are under /ws, which does not exist here: the member's manifest
        // cannot be read, so it is taken as not inheriting.
        let graph = graph_of("defaults.txt", Some("defaults-inverted.txt"));
        let ws = workspace("/ws");
        assert_eq!(
            fixes(&graph, &ws),
            [
                ["defaults/Cargo.toml: set `default-features = false` on `polars` and list the features you need"],
                ["defaults/Cargo.toml: set `default-features = false` on `polars` and list the features you need"],
            ]
        );
        let elsewhere = workspace("/other");
        assert!(fixes(&graph, &elsewhere)[0][0].starts_with("/ws/defaults/Cargo.toml: set"));
    }

    #[test]
    fn inherited_dependencies_point_at_the_workspace_table() {
        let dir = crate::features::tests::scratch_dir("advice");
        std::fs::create_dir_all(dir.join("app")).unwrap();
        std::fs::write(
            dir.join("app/Cargo.toml"),
            "[package]\nname = \"app\"\n[dependencies]\npl = { package = \"polars\", workspace = true }\n",
        )
        .unwrap();
        assert!(inherits(&dir.join("app/Cargo.toml"), "polars"));
        assert!(!inherits(&dir.join("app/Cargo.toml"), "serde"));
        assert!(!inherits(&dir.join("missing/Cargo.toml"), "polars"));
        let text = format!(
            "0app v0.1.0 ({})|\n1polars feature \"default\"\n2polars v0.55.2|default,dtype-slim\n",
            dir.join("app").display()
        );
        let mut graph = Graph::default();
        graph.add_forward(&text);
        let ws = workspace(dir.to_str().unwrap());
        let cause = Cause {
            parent: 0,
            entered: 1,
            path: vec![0, 1],
            features: vec!["dtype-slim".into()],
        };
        assert_eq!(
            fix_for_cause(&graph, &ws, &cause),
            "Cargo.toml: set `default-features = false` on `polars` in [workspace.dependencies] (app/Cargo.toml inherits it) and list the features you need"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_registry_crate_cannot_be_edited() {
        let mut graph = Graph::default();
        graph.add_forward(
            "0app v0.1.0 (/ws/app)|\n1wrapper v1.0.0|\n2polars feature \"dtype-full\"\n3polars v0.55.2|dtype-full\n",
        );
        let cause = Cause {
            parent: 1,
            entered: 2,
            path: vec![0, 1, 2],
            features: vec!["dtype-full".into()],
        };
        assert_eq!(
            fix_for_cause(&graph, &workspace("/ws"), &cause),
            "`wrapper` is not a package of this workspace and turns on `polars/dtype-full` itself: drop or replace it, or ask its authors"
        );
    }

    #[test]
    fn missing_features_are_added_where_the_caller_depends_on_the_crate() {
        let graph = graph_of("minimal.txt", None);
        let rules = [Rule::Require {
            krate: "polars".into(),
            features: vec!["parquet".into(), "lazy".into()],
        }];
        let findings = evaluate(&rules, &graph.enabled()).findings;
        assert_eq!(
            fix_for_missing(&graph, &workspace("/ws"), &findings[0]),
            "minimal/Cargo.toml: add `parquet` to the features of `polars`"
        );
        let rules = [Rule::Require {
            krate: "polars_core".into(),
            features: vec!["fmt".into()],
        }];
        let findings = evaluate(&rules, &graph.enabled()).findings;
        assert_eq!(
            fix_for_missing(&graph, &workspace("/ws"), &findings[0]),
            "polars/Cargo.toml: add `fmt` to the features of `polars_core`"
        );
    }
}
