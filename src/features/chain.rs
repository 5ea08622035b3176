//! Who turned the offending features on: from each feature up through the graph to the package
//! being built, and the one edge that brought it in, written as a line a user can act on.

use super::rules::{crate_key, Finding};
use super::tree::{Graph, Node};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// One node whose edges turned offending features on, with the way to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cause {
    /// The node whose edges turned them on (a package's dependency declaration, or a feature).
    pub(crate) parent: usize,
    /// The feature nodes it enabled that lead to them, in the order found; one declaration
    /// often turns on several (polars-time's dependency on polars-core lists four dtypes).
    pub(crate) entered: Vec<usize>,
    /// The nodes from the package being built down to the first of `entered`, both included.
    pub(crate) path: Vec<usize>,
    /// The offending features these edges turn on, sorted.
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
                match out.causes.iter_mut().find(|c| c.parent == parent) {
                    Some(known) => {
                        known.features.push(feature.clone());
                        if !known.entered.contains(&entered) {
                            known.entered.push(entered);
                        }
                    }
                    None => out.causes.push(Cause {
                        parent,
                        entered: vec![entered],
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
    let entered: Vec<(&str, &str)> = cause
        .entered
        .iter()
        .filter_map(|&id| match graph.node(id) {
            Some(Node::Feature { name, feature, .. }) => Some((name.as_str(), feature.as_str())),
            _ => None,
        })
        .collect();
    let Some(parent) = graph.node(cause.parent).filter(|_| !entered.is_empty()) else {
        return String::new();
    };
    let mut line = match parent {
        Node::Package { name: p, .. } => format!("crate `{p}` {}", declares(&entered)),
        Node::Feature {
            name: p,
            feature: g,
            command_line: true,
        } if g != "default" => format!(
            "feature `{g}` of crate `{p}` (requested for this build) enables {}",
            feature_list(&entered)
        ),
        Node::Feature {
            name: p,
            feature: g,
            ..
        } => format!(
            "feature `{g}` of crate `{p}` enables {}",
            feature_list(&entered)
        ),
    };
    let entered_here = |f: &String| {
        entered
            .iter()
            .any(|(name, feature)| crate_key(name) == finding.key && feature == f)
    };
    let more: Vec<String> = cause
        .features
        .iter()
        .filter(|f| !entered_here(f))
        .map(|f| {
            if entered
                .iter()
                .all(|(name, _)| crate_key(name) == finding.key)
            {
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
    // A chain down to one of several entered features would single that one out.
    let shown = if entered.len() > 1 {
        &cause.path[..cause.path.len().saturating_sub(1)]
    } else {
        &cause.path[..]
    };
    let chain = chain_labels(graph, shown);
    if chain.len() > 2 {
        line.push_str(&format!(" ({})", chain.join(" -> ")));
    }
    line
}

/// What a package's dependency declarations turn on: "depends on `polars` with its default
/// features on (`polars/default`)" and/or "enables `polars-core/dtype-time`, ...".
fn declares(entered: &[(&str, &str)]) -> String {
    let (defaults, others): (Vec<_>, Vec<_>) = entered
        .iter()
        .copied()
        .partition(|(_, feature)| *feature == "default");
    let mut parts: Vec<String> = defaults
        .iter()
        .map(|(name, _)| {
            format!("depends on `{name}` with its default features on (`{name}/default`)")
        })
        .collect();
    if !others.is_empty() {
        parts.push(format!("enables {}", feature_list(&others)));
    }
    parts.join(" and ")
}

/// "`a/x`, `b/y`".
fn feature_list(entered: &[(&str, &str)]) -> String {
    entered
        .iter()
        .map(|(name, feature)| format!("`{name}/{feature}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The path as `crate` and `crate/feature` labels. A feature followed by its own package is
/// left out: that step only says the package is there with that feature on, not that the
/// feature brought in what follows (`app -> polars-io/chrono -> polars-io -> polars-time` is
/// shown as `app -> polars-io -> polars-time`, polars-io's `chrono` having nothing to do with
/// polars-time); this also drops the `default` feature cargo puts above the package being built.
pub(crate) fn chain_labels(graph: &Graph, path: &[usize]) -> Vec<String> {
    let nodes: Vec<&Node> = path.iter().filter_map(|&id| graph.node(id)).collect();
    nodes
        .iter()
        .enumerate()
        .filter(|(i, node)| !leads_to_own_package(node, nodes.get(i + 1).copied()))
        .map(|(_, node)| node.label())
        .collect()
}

/// Whether `node` is a feature and `next` its crate's package.
fn leads_to_own_package(node: &Node, next: Option<&Node>) -> bool {
    match (node, next) {
        (Node::Feature { name, .. }, Some(Node::Package { name: package, .. })) => name == package,
        _ => false,
    }
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
    fn one_declaration_entering_several_features_is_one_cause() {
        // polars 0.55.2: polars-time's dependency on polars-core lists the three dtypes. The
        // shortest way to polars-time passes polars-io's `chrono` feature, which only leads to
        // polars-io's package and is left out of the chain.
        let graph = graph_of("polars-0.55.2.txt", Some("polars-0.55.2-inverted.txt"));
        let found = lines(&graph);
        assert_eq!(found.len(), 1);
        let (core, core_lines, unexplained) = &found[0];
        assert_eq!(core.krate, "polars-core");
        assert!(unexplained.is_empty());
        assert_eq!(
            core_lines,
            &["crate `polars-time` enables `polars-core/dtype-datetime`, \
               `polars-core/dtype-duration`, `polars-core/dtype-time` \
               (cal-polars-min -> polars-io -> polars-time)"]
        );
        let datetime = graph.feature("polars-core", "dtype-datetime").unwrap();
        let path = path_from_root(&graph, datetime).unwrap();
        let raw: Vec<String> = path
            .iter()
            .map(|&id| graph.node(id).unwrap().label())
            .collect();
        assert!(raw.contains(&"polars-io/chrono".to_string()), "{raw:?}");
        assert_eq!(
            chain_labels(&graph, &path),
            [
                "cal-polars-min",
                "polars-io",
                "polars-time",
                "polars-core/dtype-datetime"
            ]
        );
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
