//! What to do about a finding: the fix when there is a safe one (which manifest to change and
//! how, named relative to the workspace root), else what turns the features on and the choices.
//!
//! A "fix" is an edit in one of this workspace's manifests that gives up nothing but what the
//! rules forbid, or what the workspace's own crates define: dropping the forbidden feature
//! itself, `default-features = false` with the needed features listed, or dropping a feature of
//! one of the workspace's crates. Anything else is offered as a choice, never as the fix:
//! dropping a feature of someone else's crate that implies forbidden ones can break the build in
//! ways the graph does not show (polars-io 0.55.2 uses chrono for dates without turning it on),
//! and a crate outside the workspace that turns them on itself cannot be edited here at all.

use super::chain::Cause;
use super::rules::{crate_key, Finding};
use super::tree::{Graph, Node};
use super::workspace::Workspace;
use crate::graph::manifest::{dependency_tables, DepKind};
use crate::settings::toml::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

/// What to do about one cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Advice {
    /// An edit in this workspace that is safe in the sense above, e.g.
    /// "via-helper/Cargo.toml: remove `full` from the features of `helper`".
    Fix(String),
    /// No edit is known to be safe: what turns the features on, and the choices.
    Choices(String),
}

/// The advice for one cause, decided at the edge where a manifest chose to turn the features
/// on (see [`decision`]). `offending` holds every `(crate key, feature)` the rules forbid and
/// found on.
pub(crate) fn advise(
    graph: &Graph,
    workspace: &Workspace,
    offending: &BTreeSet<(String, String)>,
    cause: &Cause,
) -> Advice {
    let Some((from, to)) = decision(graph, &cause.path) else {
        return Advice::Choices(
            "no fix known: cargo tree did not show which manifest turns them on".to_string(),
        );
    };
    let (Some(from_node), Some(Node::Feature { name, feature, .. })) =
        (graph.node(from), graph.node(to))
    else {
        return Advice::Choices("no fix known: the graph is incomplete".to_string());
    };
    let owners = Owners::new(graph, workspace);
    let Some(dir) = owners.dir_of(from_node) else {
        return forced(graph, workspace, &owners, from);
    };
    let chosen = Chosen {
        manifest: dir.join("Cargo.toml"),
        from: from_node,
        krate: name,
        feature,
    };
    // The default-features advice has the needed features listed again.
    let safe = (feature == "default" && matches!(from_node, Node::Package { .. }))
        || offending.contains(&(crate_key(name), feature.clone()))
        || owners.owns_crate(name);
    if safe {
        Advice::Fix(chosen.fix(workspace))
    } else {
        Advice::Choices(chosen.choices(workspace))
    }
}

/// The edge where a manifest chose to turn the features on: `(from, to)`, `to` a feature of a
/// crate other than `from`'s. Only the end of `path` below its last package enables features
/// edge by edge (above it, a feature leads to its package, which is only there); in that part,
/// the first edge into another crate's feature is the outermost choice.
fn decision(graph: &Graph, path: &[usize]) -> Option<(usize, usize)> {
    let top = path
        .iter()
        .rposition(|&id| matches!(graph.node(id), Some(Node::Package { .. })))
        .unwrap_or(0);
    path[top..].windows(2).find_map(|pair| {
        let (a, b) = (graph.node(pair[0])?, graph.node(pair[1])?);
        match b {
            Node::Feature { name, .. } if crate_key(a.crate_name()) != crate_key(name) => {
                Some((pair[0], pair[1]))
            }
            _ => None,
        }
    })
}

/// A choice made in a manifest of this workspace: `from` (its dependency declaration or one of
/// its features) turns on `feature` of `krate`.
struct Chosen<'a> {
    manifest: PathBuf,
    from: &'a Node,
    krate: &'a str,
    feature: &'a str,
}

impl Chosen<'_> {
    /// The edit that undoes the choice.
    fn fix(&self, workspace: &Workspace) -> String {
        let (krate, feature) = (self.krate, self.feature);
        let shown = workspace.relative(&self.manifest);
        match self.from {
            Node::Package { .. } if feature == "default" => {
                if inherits(&self.manifest, krate) {
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
                name,
                feature: own,
                command_line: true,
            } if own != "default" => format!(
                "build `{name}` without feature `{own}` (`--features {own}`, or a crate that enables it), or remove `{krate}/{feature}` from feature `{own}` in {shown}"
            ),
            Node::Feature {
                name, feature: own, ..
            } => format!("{shown}: remove `{krate}/{feature}` from feature `{own}` of `{name}`"),
        }
    }

    /// The choices when undoing it may break the build: the feature is another crate's, and
    /// what else it does (or who relies on it without saying so) is not in the graph.
    fn choices(&self, workspace: &Workspace) -> String {
        let (krate, feature) = (self.krate, self.feature);
        let shown = workspace.relative(&self.manifest);
        let (whose, undo) = match self.from {
            Node::Feature {
                name, feature: own, ..
            } => (
                format!("feature `{own}` of `{name}` ({shown})"),
                format!("remove `{krate}/{feature}` from feature `{own}`"),
            ),
            Node::Package { .. } => (
                shown,
                format!("remove `{feature}` from the features of `{krate}` there"),
            ),
        };
        format!(
            "no sure fix: {whose} turns on `{krate}/{feature}`, which turns them on, and your code or `{krate}` itself may need it; choices: {undo} if nothing does, or allow them in the feature rules"
        )
    }
}

/// The advice when the crate of `from` is not this workspace's: it turns the features on itself,
/// so the choices are the rules or the dependencies that bring it in.
fn forced(graph: &Graph, workspace: &Workspace, owners: &Owners, from: usize) -> Advice {
    let Some(node) = graph.node(from) else {
        return Advice::Choices("no fix known: the graph is incomplete".to_string());
    };
    let krate = node.crate_name();
    let package = match node {
        Node::Package { .. } => Some(from),
        Node::Feature { .. } => graph.packages_of(&crate_key(krate)).next(),
    };
    let entries = package
        .map(|p| entry_points(graph, owners, p))
        .unwrap_or_default();
    let count: usize = entries.values().map(BTreeSet::len).sum();
    let through = entries
        .iter()
        .map(|(manifest, crates)| {
            let names: Vec<String> = crates.iter().map(|c| format!("`{c}`")).collect();
            format!("{} in {}", names.join(", "), workspace.relative(manifest))
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let (comes_in, change) = match count {
        0 => (String::new(), format!("drop or replace `{krate}`")),
        1 => (
            format!("; it comes in through the dependency on {through}"),
            "change that dependency (another version, other features)".to_string(),
        ),
        _ => (
            format!("; it comes in through the dependencies on {through}"),
            "change those dependencies (another version, other features)".to_string(),
        ),
    };
    Advice::Choices(format!(
        "no fix in this workspace: `{krate}` is not a package of it and turns them on itself{comes_in}; choices: allow them in the feature rules, or {change}"
    ))
}

/// Where this workspace's packages bring `package` in: for each of the workspace's manifests,
/// the crates outside the workspace it depends on (or turns features on) that lead to
/// `package`. Breadth-first over the parents, stopping at the workspace's nodes: linear in the
/// graph.
fn entry_points(
    graph: &Graph,
    owners: &Owners,
    package: usize,
) -> BTreeMap<PathBuf, BTreeSet<String>> {
    let mut out: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut seen: HashSet<usize> = HashSet::from([package]);
    let mut queue = VecDeque::from([package]);
    while let Some(id) = queue.pop_front() {
        let Some(node) = graph.node(id) else {
            continue;
        };
        for &parent in graph.parents(id) {
            let Some(parent_node) = graph.node(parent) else {
                continue;
            };
            match owners.dir_of(parent_node) {
                Some(dir) => {
                    out.entry(dir.join("Cargo.toml"))
                        .or_default()
                        .insert(node.crate_name().to_string());
                }
                None => {
                    if seen.insert(parent) {
                        queue.push_back(parent);
                    }
                }
            }
        }
    }
    out
}

/// Which nodes of the graph are this workspace's.
struct Owners<'a> {
    workspace: &'a Workspace,
    /// The directories of the workspace's crates by crate key, for feature nodes (which name a
    /// crate, not a version).
    crates: HashMap<String, &'a Path>,
}

impl<'a> Owners<'a> {
    fn new(graph: &'a Graph, workspace: &'a Workspace) -> Owners<'a> {
        let crates = graph
            .path_packages()
            .filter(|(_, dir)| workspace.owns(dir))
            .map(|(name, dir)| (crate_key(name), dir))
            .collect();
        Owners { workspace, crates }
    }

    /// The directory of the workspace's package that `node` is, or whose feature it is; `None`
    /// when it is not the workspace's.
    fn dir_of(&self, node: &'a Node) -> Option<&'a Path> {
        match node {
            Node::Package { dir, .. } => dir.as_deref().filter(|d| self.workspace.owns(d)),
            Node::Feature { name, .. } => self.crates.get(&crate_key(name)).copied(),
        }
    }

    fn owns_crate(&self, krate: &str) -> bool {
        self.crates.contains_key(&crate_key(krate))
    }
}

/// The fix for required features that are off: add them where a package of this workspace
/// depends on the crate, the package being built first.
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
                Some(Node::Package { dir: Some(dir), .. }) if workspace.owns(dir) => {
                    Some(dir.as_path())
                }
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
    let Ok(table) = crate::workspace::read_toml(manifest) else {
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
    use crate::features::rules::{evaluate, offending};
    use crate::features::Rule;

    /// For each finding of `rules`, the advice for each of its causes.
    fn advice_for(graph: &Graph, ws: &Workspace, rules: &[Rule]) -> Vec<Vec<Advice>> {
        let findings = evaluate(rules, &graph.enabled()).findings;
        let offending = offending(&findings);
        findings
            .iter()
            .map(|finding| {
                explain(graph, finding, &offending)
                    .causes
                    .iter()
                    .map(|c| advise(graph, ws, &offending, c))
                    .collect()
            })
            .collect()
    }

    fn fixes(graph: &Graph, ws: &Workspace) -> Vec<Vec<Advice>> {
        advice_for(graph, ws, &polars_minimal_dtypes())
    }

    fn fix(text: &str) -> Advice {
        Advice::Fix(text.to_string())
    }

    /// calibration/projects/polars-min (polars and polars-io 0.55.2) as the check sees it,
    /// recorded by scripts/record-polars-trees.
    fn polars_min() -> (Graph, Workspace) {
        let graph = graph_of("polars-0.55.2.txt", Some("polars-0.55.2-inverted.txt"));
        (graph, Workspace::at("/ws/polars-min"))
    }

    #[test]
    fn the_outermost_manifest_choice_is_the_fix() {
        let ws = Workspace::at("/ws");
        let graph = graph_of("via-helper.txt", Some("via-helper-inverted.txt"));
        let helper = fix("via-helper/Cargo.toml: remove `full` from the features of `helper`");
        assert_eq!(fixes(&graph, &ws), [[helper.clone()], [helper]]);
        let graph = graph_of("opt-in-full.txt", Some("opt-in-full-inverted.txt"));
        assert_eq!(
            fixes(&graph, &ws)[0],
            [fix("build `opt-in` without feature `full` (`--features full`, or a crate that enables it), or remove `polars/dtype-full` from feature `full` in opt-in/Cargo.toml")]
        );
    }

    #[test]
    fn a_feature_of_a_crate_outside_the_workspace_is_a_choice_not_a_fix() {
        // helper excluded from the workspace (vendored code): its `full` may do more than the
        // graph shows, so dropping it is offered, not prescribed.
        let graph = graph_of("via-helper.txt", Some("via-helper-inverted.txt"));
        let ws = Workspace {
            excluded: vec![PathBuf::from("/ws/helper")],
            ..Workspace::at("/ws")
        };
        let choice = Advice::Choices(
            "no sure fix: via-helper/Cargo.toml turns on `helper/full`, which turns them on, and \
             your code or `helper` itself may need it; choices: remove `full` from the features \
             of `helper` there if nothing does, or allow them in the feature rules"
                .to_string(),
        );
        assert_eq!(fixes(&graph, &ws), [[choice.clone()], [choice]]);
    }

    #[test]
    fn default_features_advice_names_the_manifest() {
        // The fixture's paths are under /ws, which does not exist here: the member's manifest
        // cannot be read, so it is taken as not inheriting.
        let graph = graph_of("defaults.txt", Some("defaults-inverted.txt"));
        let ws = Workspace::at("/ws");
        let defaults = fix("defaults/Cargo.toml: set `default-features = false` on `polars` and list the features you need");
        assert_eq!(fixes(&graph, &ws), [[defaults.clone()], [defaults]]);
    }

    #[test]
    fn inherited_dependencies_point_at_the_workspace_table() {
        let dir = crate::files::scratch_dir("advice");
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
        let ws = Workspace::at(dir.to_str().unwrap());
        let cause = Cause {
            parent: 0,
            entered: vec![1],
            path: vec![0, 1],
            features: vec!["dtype-slim".into()],
        };
        assert_eq!(
            advise(&graph, &ws, &BTreeSet::new(), &cause),
            fix("Cargo.toml: set `default-features = false` on `polars` in [workspace.dependencies] (app/Cargo.toml inherits it) and list the features you need")
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
            entered: vec![2],
            path: vec![0, 1, 2],
            features: vec!["dtype-full".into()],
        };
        let offending = BTreeSet::from([("polars".to_string(), "dtype-full".to_string())]);
        assert_eq!(
            advise(&graph, &Workspace::at("/ws"), &offending, &cause),
            Advice::Choices(
                "no fix in this workspace: `wrapper` is not a package of it and turns them on \
                 itself; it comes in through the dependency on `wrapper` in app/Cargo.toml; \
                 choices: allow them in the feature rules, or change that dependency (another \
                 version, other features)"
                    .to_string()
            )
        );
    }

    #[test]
    fn polars_time_forces_three_dtypes_on_polars_0_55_2() {
        // polars-time's own manifest turns on polars-core's dtype-datetime, -duration and -time,
        // and polars brings polars-time in with `lazy` and `dtype-date`: nothing in the
        // project's manifest turns them off. The old advice, "remove `chrono` from the features
        // of `polars-io`", followed a feature node that only led to polars-io's package; it
        // broke the build (polars-io needs chrono for dates) and turned nothing off.
        let (graph, ws) = polars_min();
        let advice = fixes(&graph, &ws);
        assert_eq!(
            advice,
            [[Advice::Choices(
                "no fix in this workspace: `polars-time` is not a package of it and turns them on \
                 itself; it comes in through the dependencies on `polars`, `polars-io` in \
                 Cargo.toml; choices: allow them in the feature rules, or change those \
                 dependencies (another version, other features)"
                    .to_string()
            )]]
        );
    }

    #[test]
    fn on_the_real_graph_only_dropping_a_forbidden_feature_is_a_fix() {
        let (graph, ws) = polars_min();
        // The project asks for polars' dtype-i16 itself: dropping it is the fix.
        let forbid = [Rule::Forbid {
            krate: "polars".into(),
            features: vec!["dtype-i16".into()],
        }];
        assert_eq!(
            advice_for(&graph, &ws, &forbid),
            [[fix(
                "Cargo.toml: remove `dtype-i16` from the features of `polars`"
            )]]
        );
        // polars-core's dtype-i16 comes from polars' dtype-i16, which the project chose and
        // may use: a choice.
        let core_only = [Rule::Forbid {
            krate: "polars-core".into(),
            features: vec!["dtype-i16".into()],
        }];
        assert_eq!(
            advice_for(&graph, &ws, &core_only),
            [[Advice::Choices(
                "no sure fix: Cargo.toml turns on `polars/dtype-i16`, which turns them on, and \
                 your code or `polars` itself may need it; choices: remove `dtype-i16` from the \
                 features of `polars` there if nothing does, or allow them in the feature rules"
                    .to_string()
            )]]
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
            fix_for_missing(&graph, &Workspace::at("/ws"), &findings[0]),
            "minimal/Cargo.toml: add `parquet` to the features of `polars`"
        );
        let rules = [Rule::Require {
            krate: "polars_core".into(),
            features: vec!["fmt".into()],
        }];
        let findings = evaluate(&rules, &graph.enabled()).findings;
        assert_eq!(
            fix_for_missing(&graph, &Workspace::at("/ws"), &findings[0]),
            "polars/Cargo.toml: add `fmt` to the features of `polars_core`"
        );
    }
}
