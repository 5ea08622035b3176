//! Who turned the offending features on: from each feature up through the graph to the package
//! being built, and the one edge that brought it in, written as a line a user can act on.

use super::rules::{crate_key, Finding};
use super::tree::{Graph, Node};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// One edge that turned offending features on, with the way to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cause {
    /// The node whose edge turned them on (a package's dependency declaration, or a feature).
    pub(crate) parent: usize,
    /// The feature node it enabled.
    pub(crate) entered: usize,
    /// The nodes from the package being built down to `entered`, both included.
    pub(crate) path: Vec<usize>,
    /// The offending features this edge turns on, sorted.
    pub(crate) features: Vec<String>,
}

/// The causes of one finding, and the features whose cause the graph does not show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Explanation {
    pub(crate) causes: Vec<Cause>,
    pub(crate) unexplained: Vec<String>,
}

/// Explains `finding` (features that are on but must be off). `offending` holds every
/// `(crate key, feature)` that some finding reports: an edge from one of those is not a cause
/// of its own (polars' `dtype-time` turning on polars-core's is explained by what turned on
/// polars' `dtype-time`).
pub(crate) fn explain(
    graph: &Graph,
    finding: &Finding,
    offending: &BTreeSet<(String, String)>,
) -> Explanation {
    let mut out = Explanation::default();
    for feature in &finding.features {
        let cause = graph
            .feature(&finding.key, feature)
            .and_then(|node| path_from_root(graph, node))
            .and_then(|path| cause_on(graph, &path, offending));
        match cause {
            Some((parent, entered, path)) => {
                match out
                    .causes
                    .iter_mut()
                    .find(|c| c.parent == parent && c.entered == entered)
                {
                    Some(known) => known.features.push(feature.clone()),
                    None => out.causes.push(Cause {
                        parent,
                        entered,
                        path,
                        features: vec![feature.clone()],
                    }),
                }
            }
            None => out.unexplained.push(feature.clone()),
        }
    }
    out
}

/// The shortest way from a node nothing points to (the package being built, or one of its
/// features given on the command line) down to `to`: breadth-first over the parents, so
/// linear in the graph.
fn path_from_root(graph: &Graph, to: usize) -> Option<Vec<usize>> {
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([to]);
    while let Some(node) = queue.pop_front() {
        let parents = graph.parents(node);
        if parents.is_empty() {
            let mut path = vec![node];
            let mut at = node;
            while let Some(&next) = came_from.get(&at) {
                path.push(next);
                at = next;
            }
            return Some(path);
        }
        for &parent in parents {
            if parent != to && !came_from.contains_key(&parent) {
                came_from.insert(parent, node);
                queue.push_back(parent);
            }
        }
    }
    None
}

/// On `path` (root first, the offending feature last), the last edge that is neither inside one
/// crate's features nor from another offending feature: `(parent, entered, path to entered)`.
fn cause_on(
    graph: &Graph,
    path: &[usize],
    offending: &BTreeSet<(String, String)>,
) -> Option<(usize, usize, Vec<usize>)> {
    for i in (1..path.len()).rev() {
        let (parent, child) = (graph.node(path[i - 1])?, graph.node(path[i])?);
        let inside_crate = matches!(child, Node::Feature { .. })
            && matches!(parent, Node::Feature { .. })
            && crate_key(parent.crate_name()) == crate_key(child.crate_name());
        let from_offending = match parent {
            Node::Feature { name, feature, .. } => {
                offending.contains(&(crate_key(name), feature.clone()))
            }
            Node::Package { .. } => false,
        };
        if !inside_crate && !from_offending && matches!(child, Node::Feature { .. }) {
            return Some((path[i - 1], path[i], path[..=i].to_vec()));
        }
    }
    None
}

/// One line for `cause`, e.g. "feature `full` of crate `helper` enables `polars/dtype-full`,
/// which turns on `dtype-time` (via-helper -> helper/full -> polars/dtype-full)". The "which
/// turns on" part only when `list_features` (several causes share the finding's features).
pub(crate) fn describe(
    graph: &Graph,
    finding: &Finding,
    cause: &Cause,
    list_features: bool,
) -> String {
    let (Some(parent), Some(Node::Feature { name, feature, .. })) =
        (graph.node(cause.parent), graph.node(cause.entered))
    else {
        return String::new();
    };
    let mut line = match parent {
        Node::Package { name: p, .. } if feature == "default" => {
            format!(
                "crate `{p}` depends on `{name}` with its default features on (`{name}/default`)"
            )
        }
        Node::Package { name: p, .. } => format!("crate `{p}` enables `{name}/{feature}`"),
        Node::Feature {
            name: p,
            feature: g,
            command_line: true,
        } if g != "default" => format!(
            "feature `{g}` of crate `{p}` (requested for this build) enables `{name}/{feature}`"
        ),
        Node::Feature {
            name: p,
            feature: g,
            ..
        } => format!("feature `{g}` of crate `{p}` enables `{name}/{feature}`"),
    };
    let same_crate = crate_key(name) == finding.key;
    let more: Vec<String> = cause
        .features
        .iter()
        .filter(|f| !(same_crate && *f == feature))
        .map(|f| {
            if same_crate {
                format!("`{f}`")
            } else {
                format!("`{}/{f}`", finding.krate)
            }
        })
        .collect();
    if list_features && !more.is_empty() {
        line.push_str(", which turns on ");
        line.push_str(&more.join(", "));
    }
    let chain = chain_labels(graph, &cause.path);
    if chain.len() > 2 {
        line.push_str(&format!(" ({})", chain.join(" -> ")));
    }
    line
}

/// The path as `crate` and `crate/feature` labels, without the `default` feature cargo puts
/// above the package being built when it only leads to the package itself.
pub(crate) fn chain_labels(graph: &Graph, path: &[usize]) -> Vec<String> {
    let nodes: Vec<&Node> = path.iter().filter_map(|&id| graph.node(id)).collect();
    let skip = match nodes.as_slice() {
        [Node::Feature {
            feature,
            command_line: true,
            ..
        }, Node::Package { .. }, ..]
            if feature == "default" =>
        {
            1
        }
        _ => 0,
    };
    nodes[skip..].iter().map(|n| n.label()).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::features::rules::evaluate;
    use crate::features::{polars_minimal_dtypes, tree};
    use std::path::Path;

    pub(crate) fn graph_of(forward: &str, inverted: Option<&str>) -> Graph {
        let read = |name: &str| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/features/tree")
                .join(name);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let mut graph = tree::Graph::default();
        graph.add_forward(&read(forward));
        if let Some(inverted) = inverted {
            graph.add_inverted(&read(inverted));
        }
        graph
    }

    /// The preset's findings on `graph` and each one's explanation lines.
    pub(crate) fn lines(graph: &Graph) -> Vec<(Finding, Vec<String>, Vec<String>)> {
        let findings = evaluate(&polars_minimal_dtypes(), &graph.enabled()).findings;
        let offending = crate::features::rules::offending(&findings);
        findings
            .into_iter()
            .map(|finding| {
                let explained = explain(graph, &finding, &offending);
                let lines = explained
                    .causes
                    .iter()
                    .map(|c| describe(graph, &finding, c, true))
                    .collect();
                (finding, lines, explained.unexplained)
            })
            .collect()
    }

    #[test]
    fn a_feature_of_another_member_is_named() {
        let graph = graph_of("via-helper.txt", Some("via-helper-inverted.txt"));
        let found = lines(&graph);
        assert_eq!(found.len(), 2);
        let (polars, polars_lines, unexplained) = &found[0];
        assert_eq!(polars.krate, "polars");
        assert!(unexplained.is_empty());
        assert_eq!(
            polars_lines,
            &[
                "feature `full` of crate `helper` enables `polars/dtype-full`, which turns on \
               `dtype-array`, `dtype-categorical`, `dtype-datetime`, `dtype-decimal`, \
               `dtype-duration`, `dtype-i128`, `dtype-struct`, `dtype-time` \
               (via-helper -> helper/full -> polars/dtype-full)"
            ]
        );
        // polars-core's extras come from the same place.
        let (core, core_lines, _) = &found[1];
        assert_eq!(core.krate, "polars-core");
        assert_eq!(core_lines.len(), 1);
        assert!(
            core_lines[0].starts_with("feature `full` of crate `helper` enables `polars/dtype-full`, which turns on `polars-core/dtype-array`"),
            "{}",
            core_lines[0]
        );
    }

    #[test]
    fn the_forward_tree_alone_explains_dependency_features() {
        let graph = graph_of("via-helper.txt", None);
        let (_, lines, unexplained) = &lines(&graph)[0];
        assert!(unexplained.is_empty());
        assert!(
            lines[0].starts_with("feature `full` of crate `helper` enables `polars/dtype-full`")
        );
    }

    #[test]
    fn default_features_are_named_as_such() {
        let graph = graph_of("defaults.txt", Some("defaults-inverted.txt"));
        let found = lines(&graph);
        let (polars, polars_lines, _) = &found[0];
        assert_eq!(
            polars.features,
            ["dtype-datetime", "dtype-duration", "dtype-slim"]
        );
        assert_eq!(
            polars_lines,
            &[
                "crate `defaults` depends on `polars` with its default features on \
               (`polars/default`), which turns on `dtype-datetime`, `dtype-duration`, `dtype-slim`"
            ]
        );
        let (_, core_lines, _) = &found[1];
        assert_eq!(
            core_lines,
            &[
                "crate `defaults` depends on `polars` with its default features on \
               (`polars/default`), which turns on `polars-core/dtype-datetime`, \
               `polars-core/dtype-duration`"
            ]
        );
    }

    #[test]
    fn the_packages_own_feature_needs_the_inverted_tree() {
        let forward_only = graph_of("opt-in-full.txt", None);
        let (_, lines_before, unexplained) = &lines(&forward_only)[0];
        assert!(lines_before.is_empty());
        assert!(unexplained.contains(&"dtype-full".to_string()));

        let graph = graph_of("opt-in-full.txt", Some("opt-in-full-inverted.txt"));
        let (_, lines, unexplained) = &lines(&graph)[0];
        assert!(unexplained.is_empty(), "{unexplained:?}");
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with(
                "feature `full` of crate `opt-in` (requested for this build) enables `polars/dtype-full`, which turns on"
            ),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn the_minimal_member_has_nothing_to_explain() {
        let graph = graph_of("minimal.txt", None);
        assert!(lines(&graph).is_empty());
    }

    #[test]
    fn chain_labels_skip_the_implicit_default() {
        let graph = graph_of("via-helper.txt", Some("via-helper-inverted.txt"));
        let full = graph.feature("polars", "dtype-full").unwrap();
        let path = path_from_root(&graph, full).unwrap();
        assert_eq!(
            chain_labels(&graph, &path),
            ["via-helper", "helper/full", "polars/dtype-full"]
        );
    }
}
