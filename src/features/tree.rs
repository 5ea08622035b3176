//! Reading `cargo tree -e features --prefix depth -f '{p}|{f}'` output into a graph of packages
//! and features, with the edges that say who enabled what. One pass over the lines, no
//! recursion: linear in the output.

use super::rules::crate_key;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

/// The `-f` format the parser reads: the package, a `|` (never in a feature name, so the
/// features are what follows the last one), and the comma-separated enabled features.
pub(crate) const FORMAT: &str = "{p}|{f}";

/// One node of the graph: a package (`polars v0.55.2 (/ws/polars)|lazy`) or one feature of a
/// crate (`polars feature "lazy"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A package and the features enabled on it.
    Package {
        name: String,
        version: String,
        /// The package's directory, for path packages (the workspace's own and path dependencies).
        dir: Option<PathBuf>,
        features: BTreeSet<String>,
    },
    /// A feature of a crate. `command_line` marks the features of the package being built, which
    /// cargo shows as given on the command line.
    Feature {
        name: String,
        feature: String,
        command_line: bool,
    },
}

impl Node {
    /// The crate's name as cargo printed it.
    pub(crate) fn crate_name(&self) -> &str {
        match self {
            Node::Package { name, .. } | Node::Feature { name, .. } => name,
        }
    }

    /// `crate/feature` for a feature, `crate` for a package: how chains are written.
    pub(crate) fn label(&self) -> String {
        match self {
            Node::Package { name, .. } => name.clone(),
            Node::Feature { name, feature, .. } => format!("{name}/{feature}"),
        }
    }
}

/// Packages, features and who enabled whom.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    nodes: Vec<Node>,
    /// Node ids by [`key_into`] key.
    index: HashMap<String, usize, Fast>,
    /// For each package node, the feature lists already merged into it, as printed: a package
    /// shows up many times with the same list, which is then compared, not parsed again.
    merged: Vec<Vec<String>>,
    /// For each node, the nodes with an edge to it (who depends on it or enables it).
    parents: Vec<Vec<usize>>,
    edges: HashSet<(usize, usize), Fast>,
    /// The package each tree started from (the package being built, in a forward tree).
    root: Option<usize>,
}

/// One line of output, parsed, borrowing from it.
#[derive(Debug, PartialEq, Eq)]
struct Line<'a> {
    depth: usize,
    item: Item<'a>,
}

#[derive(Debug, PartialEq, Eq)]
enum Item<'a> {
    Package {
        name: &'a str,
        version: &'a str,
        dir: Option<&'a Path>,
        features: &'a str,
    },
    Feature {
        name: &'a str,
        feature: &'a str,
        command_line: bool,
    },
}

impl Graph {
    /// Adds a forward tree (`cargo tree -p app`): each line is a dependency or an enabled
    /// feature of the line above it at one level less. Returns how many nodes it read.
    pub(crate) fn add_forward(&mut self, output: &str) -> usize {
        self.add(output, false)
    }

    /// Adds an inverted tree (`cargo tree -p app -i polars`): each line is what depends on, or
    /// enables, the line above it at one level less.
    pub(crate) fn add_inverted(&mut self, output: &str) -> usize {
        self.add(output, true)
    }

    fn add(&mut self, output: &str, inverted: bool) -> usize {
        let mut stack: Vec<usize> = Vec::new();
        let mut key = String::new();
        let mut read = 0;
        for text in output.lines() {
            let Some(line) = parse_line(text) else {
                continue;
            };
            if line.depth > stack.len() {
                // A line deeper than its parent: not cargo tree's shape; skip it.
                continue;
            }
            stack.truncate(line.depth);
            let id = self.intern(&line.item, &mut key);
            if let Some(&above) = stack.last() {
                if inverted {
                    self.edge(id, above);
                } else {
                    self.edge(above, id);
                }
            } else if !inverted && self.root.is_none() {
                self.root = Some(id);
            }
            stack.push(id);
            read += 1;
        }
        read
    }

    /// The id of the node `item` names, adding it or merging into it. Allocates only for
    /// nodes and feature lists not seen before.
    fn intern(&mut self, item: &Item<'_>, key: &mut String) -> usize {
        key_into(item, key);
        if let Some(&id) = self.index.get(key.as_str()) {
            match (item, &mut self.nodes[id]) {
                (
                    Item::Package {
                        features: list,
                        dir: other_dir,
                        ..
                    },
                    Node::Package { features, dir, .. },
                ) => {
                    if !self.merged[id].iter().any(|seen| seen == list) {
                        features.extend(split_features(list));
                        self.merged[id].push(list.to_string());
                    }
                    if dir.is_none() {
                        *dir = other_dir.map(Path::to_path_buf);
                    }
                }
                (
                    Item::Feature {
                        command_line: also, ..
                    },
                    Node::Feature { command_line, .. },
                ) => *command_line |= also,
                _ => {}
            }
            return id;
        }
        let (node, merged) = match *item {
            Item::Package {
                name,
                version,
                dir,
                features,
            } => (
                Node::Package {
                    name: name.to_string(),
                    version: version.to_string(),
                    dir: dir.map(Path::to_path_buf),
                    features: split_features(features).collect(),
                },
                vec![features.to_string()],
            ),
            Item::Feature {
                name,
                feature,
                command_line,
            } => (
                Node::Feature {
                    name: name.to_string(),
                    feature: feature.to_string(),
                    command_line,
                },
                Vec::new(),
            ),
        };
        let id = self.nodes.len();
        self.nodes.push(node);
        self.parents.push(Vec::new());
        self.merged.push(merged);
        self.index.insert(key.clone(), id);
        id
    }

    fn edge(&mut self, from: usize, to: usize) {
        if from != to && self.edges.insert((from, to)) {
            self.parents[to].push(from);
        }
    }

    /// The node with this id.
    pub(crate) fn node(&self, id: usize) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// The nodes with an edge to `id`.
    pub(crate) fn parents(&self, id: usize) -> &[usize] {
        self.parents.get(id).map_or(&[], Vec::as_slice)
    }

    /// The package the forward tree started from.
    pub(crate) fn root(&self) -> Option<usize> {
        self.root
    }

    /// The node of `feature` of the crate with [`crate_key`] `krate`, if it is in the graph.
    pub(crate) fn feature(&self, krate: &str, feature: &str) -> Option<usize> {
        let mut key = String::new();
        key_into(
            &Item::Feature {
                name: krate,
                feature,
                command_line: false,
            },
            &mut key,
        );
        // The index has cargo's spelling; `polars_core` style names need the slow way.
        self.index.get(&key).copied().or_else(|| {
            self.nodes.iter().position(|n| {
                matches!(n, Node::Feature { name, feature: f, .. }
                    if f == feature && crate_key(name) == krate)
            })
        })
    }

    /// The package nodes of the crate with [`crate_key`] `krate` (one per version).
    pub(crate) fn packages_of<'a>(&'a self, krate: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| {
                matches!(n, Node::Package { .. }) && crate_key(n.crate_name()) == krate
            })
            .map(|(id, _)| id)
    }

    /// Each crate's enabled features, keyed by [`crate_key`]: the union over its versions and
    /// over every place it shows up.
    pub(crate) fn enabled(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for node in &self.nodes {
            if let Node::Package { name, features, .. } = node {
                out.entry(crate_key(name))
                    .or_default()
                    .extend(features.iter().cloned());
            }
        }
        out
    }

    /// How many packages the graph has.
    pub(crate) fn package_count(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, Node::Package { .. }))
            .count()
    }

    /// The directories of all path packages in the graph, in order of appearance.
    pub(crate) fn local_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for (_, dir) in self.path_packages() {
            if !out.iter().any(|d| d == dir) {
                out.push(dir.to_path_buf());
            }
        }
        out
    }

    /// Each path package's name and directory, in order of appearance.
    pub(crate) fn path_packages(&self) -> impl Iterator<Item = (&str, &Path)> + '_ {
        self.nodes.iter().filter_map(|n| match n {
            Node::Package {
                name,
                dir: Some(dir),
                ..
            } => Some((name.as_str(), dir.as_path())),
            _ => None,
        })
    }
}

/// The index key of a node: `P<name> <version>` or `F<name> <feature>` (neither a crate name
/// nor a version has a space), written into `key` so lookups do not allocate.
fn key_into(item: &Item<'_>, key: &mut String) {
    key.clear();
    let (kind, name, rest) = match *item {
        Item::Package { name, version, .. } => ("P", name, version),
        Item::Feature { name, feature, .. } => ("F", name, feature),
    };
    key.push_str(kind);
    key.push_str(name);
    key.push(' ');
    key.push_str(rest);
}

/// FNV-1a: the graph's keys are short and not attacker-chosen, and std's SipHash costs much
/// more in the unoptimized builds build scripts usually are.
#[derive(Default)]
struct FnvHasher(u64);

type Fast = BuildHasherDefault<FnvHasher>;

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn write_usize(&mut self, n: usize) {
        let mixed = (self.0 ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = mixed ^ (mixed >> 29);
    }
}

fn split_features(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
}

/// `3polars feature "dtype-full" (*)` or `2polars v0.55.2 (/ws/polars)|a,b (*)`; `None` for
/// anything else (blank lines between trees, messages).
fn parse_line(text: &str) -> Option<Line<'_>> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let depth: usize = text.get(..digits)?.parse().ok()?;
    let mut rest = text.get(digits..)?.trim_end();
    let mut command_line = false;
    loop {
        if let Some(r) = rest.strip_suffix(" (*)") {
            rest = r.trim_end();
        } else if let Some(r) = rest.strip_suffix(" (command-line)") {
            rest = r.trim_end();
            command_line = true;
        } else {
            break;
        }
    }
    let item = match rest.rsplit_once('|') {
        Some((package, features)) => parse_package(package, features)?,
        None => {
            // Crate names have no spaces; a char split is much cheaper than a substring
            // search in the unoptimized builds build scripts usually are.
            let (name, feature) = rest.split_once(' ')?;
            Item::Feature {
                name,
                feature: feature.strip_prefix("feature \"")?.strip_suffix('"')?,
                command_line,
            }
        }
    };
    Some(Line { depth, item })
}

/// `polars v0.55.2 (proc-macro) (/ws/polars)` and `a,b`.
fn parse_package<'a>(package: &'a str, features: &'a str) -> Option<Item<'a>> {
    let (name, rest) = package.split_once(' ')?;
    let (version, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let version = version.strip_prefix('v')?;
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix("(proc-macro)")
        .unwrap_or(rest)
        .trim_start();
    // The source: a path for path packages, a URL for git, `registry ...` for others.
    let dir = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(Path::new)
        .filter(|p| p.is_absolute());
    Some(Item::Package {
        name,
        version,
        dir,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/features/tree")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lines_of_every_kind() {
        let package = |depth, name, version, dir: Option<&'static str>, features| {
            Some(Line {
                depth,
                item: Item::Package {
                    name,
                    version,
                    dir: dir.map(Path::new),
                    features,
                },
            })
        };
        assert_eq!(
            parse_line("2polars v0.55.2 (/ws/polars)|dtype-i8,lazy (*)"),
            package(2, "polars", "0.55.2", Some("/ws/polars"), "dtype-i8,lazy")
        );
        assert_eq!(
            parse_line("0via-helper v0.1.0 (/ws/via-helper)|"),
            package(0, "via-helper", "0.1.0", Some("/ws/via-helper"), "")
        );
        assert_eq!(
            parse_line("13serde_derive v1.0.219 (proc-macro)|default"),
            package(13, "serde_derive", "1.0.219", None, "default")
        );
        assert_eq!(
            parse_line("1pm v0.1.0 (proc-macro) (/tmp/my dir (old)/pm)|"),
            package(1, "pm", "0.1.0", Some("/tmp/my dir (old)/pm"), "")
        );
        assert_eq!(
            parse_line("3arrow v55.0.0 (https://github.com/apache/arrow-rs#0123abcd)|ffi"),
            package(3, "arrow", "55.0.0", None, "ffi")
        );
        assert_eq!(
            parse_line("4serde v1.0.0 (registry `my-registry`)|std"),
            package(4, "serde", "1.0.0", None, "std")
        );
        assert_eq!(
            parse_line("3opt-in feature \"full\" (command-line) (*)"),
            Some(Line {
                depth: 3,
                item: Item::Feature {
                    name: "opt-in",
                    feature: "full",
                    command_line: true,
                }
            })
        );
        assert_eq!(
            parse_line("1polars feature \"dtype-full\""),
            Some(Line {
                depth: 1,
                item: Item::Feature {
                    name: "polars",
                    feature: "dtype-full",
                    command_line: false,
                }
            })
        );
    }

    #[test]
    fn a_package_seen_with_other_features_gets_their_union() {
        // The same package built for the host (under a proc-macro) and for the target.
        let mut graph = Graph::default();
        graph.add_forward(
            "0app v0.1.0 (/ws/app)|\n1serde v1.0.0|std\n1macros v0.1.0 (proc-macro)|\n2serde v1.0.0|derive\n1serde v1.0.0|std (*)\n",
        );
        assert_eq!(graph.enabled()["serde"], set(&["derive", "std"]));
        assert_eq!(graph.package_count(), 3);
    }

    #[test]
    fn garbage_is_skipped_not_a_panic() {
        for text in [
            "",
            "   ",
            "warning: something",
            "0",
            "0|",
            "1polars",
            "1polars feature \"unterminated",
            "99999999999999999999999 x v1|",
            "2x y|a",
            "\u{1F600}|",
            "5é feature \"ü\"",
        ] {
            let _ = parse_line(text);
        }
        let mut graph = Graph::default();
        // Depth jumps and stray lines do not break the rest.
        let read = graph.add_forward("0a v1.0.0|\n3b v1.0.0|x\n\n1c v1.0.0|y\nnonsense\n");
        assert_eq!(read, 2);
        assert_eq!(graph.enabled().get("c"), Some(&set(&["y"])));
        assert_eq!(graph.enabled().get("b"), None);
    }

    #[test]
    fn forward_tree_of_the_fixture() {
        let mut graph = Graph::default();
        graph.add_forward(&fixture("via-helper.txt"));
        let enabled = graph.enabled();
        assert_eq!(enabled["via-helper"], BTreeSet::new());
        assert_eq!(enabled["helper"], set(&["full"]));
        assert!(enabled["polars"].contains("dtype-full"));
        assert!(enabled["polars-core"].contains("dtype-time"));
        assert!(!enabled["polars-core"].contains("dtype-full"));
        assert_eq!(graph.package_count(), 4);
        let root = graph.root().and_then(|r| graph.node(r)).map(Node::label);
        assert_eq!(root.as_deref(), Some("via-helper"));
        assert_eq!(
            graph.path_packages().nth(1),
            Some(("helper", Path::new("/ws/helper")))
        );
        assert_eq!(
            graph.local_dirs(),
            [
                "/ws/via-helper",
                "/ws/helper",
                "/ws/polars",
                "/ws/polars-core"
            ]
            .iter()
            .map(PathBuf::from)
            .collect::<Vec<_>>()
        );

        // `helper feature "full"` enables `polars feature "dtype-full"`; the member enables
        // `helper feature "full"` through its dependency.
        let full = graph.feature("polars", "dtype-full").unwrap();
        let labels = |id: usize| -> Vec<String> {
            graph
                .parents(id)
                .iter()
                .filter_map(|&p| graph.node(p).map(Node::label))
                .collect()
        };
        assert_eq!(labels(full), ["helper/full"]);
        let helper_full = graph.feature("helper", "full").unwrap();
        assert_eq!(labels(helper_full), ["via-helper"]);
        let time = graph.feature("polars", "dtype-time").unwrap();
        assert_eq!(labels(time), ["polars/dtype-full"]);
        let core_time = graph.feature("polars-core", "dtype-time").unwrap();
        assert_eq!(labels(core_time), ["polars/dtype-time"]);
    }

    #[test]
    fn inverted_tree_adds_the_packages_own_features() {
        let mut graph = Graph::default();
        graph.add_forward(&fixture("opt-in-full.txt"));
        // The forward tree starts at the package, so its own `full` is not in it.
        assert_eq!(graph.feature("polars", "dtype-full"), None);
        assert!(graph.enabled()["polars"].contains("dtype-full"));
        graph.add_inverted(&fixture("opt-in-full-inverted.txt"));
        let full = graph.feature("polars", "dtype-full").unwrap();
        let parents: Vec<&Node> = graph
            .parents(full)
            .iter()
            .filter_map(|&p| graph.node(p))
            .collect();
        assert_eq!(
            parents,
            [&Node::Feature {
                name: "opt-in".into(),
                feature: "full".into(),
                command_line: true,
            }]
        );
        // The root did not change, and the edges were not doubled.
        let root = graph.root().and_then(|r| graph.node(r)).map(Node::label);
        assert_eq!(root.as_deref(), Some("opt-in"));
        let date = graph.feature("polars", "dtype-date").unwrap();
        let mut labels: Vec<String> = graph
            .parents(date)
            .iter()
            .filter_map(|&p| graph.node(p).map(Node::label))
            .collect();
        labels.sort();
        assert_eq!(labels, ["opt-in", "polars/dtype-full"]);
    }

    #[test]
    fn names_are_matched_with_dash_and_underscore_alike() {
        let mut graph = Graph::default();
        graph.add_forward(
            "0app v0.1.0 (/ws/app)|\n1polars_core feature \"x\"\n2polars_core v1.0.0|x\n",
        );
        assert!(graph.feature("polars-core", "x").is_some());
        assert_eq!(graph.packages_of("polars-core").count(), 1);
        assert!(graph.enabled()["polars-core"].contains("x"));
    }

    /// A polars-sized graph: 320 packages with 30 features each, every package enabling features
    /// of the next 3; well over what `cargo tree -e features` prints for polars. (What it costs
    /// is measured in benches/features.rs, not here.)
    #[test]
    fn a_polars_sized_graph_parses_whole() {
        let mut text = String::new();
        text.push_str("0app v0.1.0 (/ws/app)|\n");
        for p in 0..320 {
            let features: Vec<String> = (0..30).map(|f| format!("feature-{f}")).collect();
            text.push_str(&format!("1crate{p} feature \"default\"\n"));
            text.push_str(&format!("2crate{p} v1.0.{p}|{}\n", features.join(",")));
            for next in p + 1..(p + 4).min(320) {
                for f in 0..30 {
                    text.push_str(&format!("3crate{next} feature \"feature-{f}\"\n"));
                    text.push_str(&format!(
                        "4crate{next} v1.0.{next}|{} (*)\n",
                        features.join(",")
                    ));
                }
            }
        }
        let lines = text.lines().count();
        let mut graph = Graph::default();
        assert_eq!(graph.add_forward(&text), lines);
        let enabled = graph.enabled();
        assert_eq!(graph.package_count(), 321);
        assert_eq!(enabled["crate5"].len(), 30);
    }
}
