//! Running the feature check: map the caller, run `cargo tree`, check the rules, cache the
//! verdict.

use super::advice::Advice;
use super::caller::{Caller, NotRun};
use super::rules::Finding;
use super::tree::Graph;
use super::workspace::Workspace;
use super::{advice, cache, cargo_tree, chain, rules, tree, FeatureReport, FeatureViolation, Rule};
use crate::env::Env;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Runs the check for the package `env` describes (cargo's build-script environment: `CARGO`,
/// `CARGO_MANIFEST_DIR` or `CARGO_MANIFEST_PATH`, `CARGO_PKG_NAME`, `TARGET`, `CARGO_CFG_FEATURE`
/// or `CARGO_FEATURE_*`, `CARGO_ENCODED_RUSTFLAGS`, `OUT_DIR`). `manifest_path` names another
/// package (the `#[test]` pattern, outside a build script): then that package with its default
/// features, for `TARGET` when set, else the host.
///
/// Costs one `cargo tree` (a second, inverted one only when a rule is broken, to say who
/// enabled what); nothing when the verdict is cached in `OUT_DIR`. Writes nothing but that
/// cache file.
pub(crate) fn verify(env: &Env, rules: &[Rule], manifest_path: Option<&Path>) -> FeatureReport {
    let mut report = FeatureReport::default();
    if rules.is_empty() {
        return report;
    }
    let caller = match Caller::from_env(env, manifest_path) {
        Ok(caller) => caller,
        Err(NotRun::Note(note)) => {
            report.notes.push(note);
            return report;
        }
        Err(NotRun::Problem(problem)) => {
            report.problem = Some(problem);
            return report;
        }
    };
    let workspace = Workspace::of(&caller);
    report.files = workspace.files();
    if !workspace.lockfile().is_file() {
        report.problem = Some(format!(
            "feature check skipped: no Cargo.lock in {} (the check runs `cargo tree --locked`, which never writes one)",
            workspace.root.display()
        ));
        return report;
    }
    let out_dir = env.text("OUT_DIR").map(PathBuf::from);
    let key = cache::key(&report.files, &key_inputs(env, &caller, rules));
    if let Some(hit) = out_dir.as_deref().and_then(|dir| cache::load(dir, key)) {
        report.checked = true;
        report.cached = true;
        report.violations = hit.violations;
        report.notes = hit.notes;
        report.files.extend(hit.extra_files);
        report
            .notes
            .push("feature check: verdict from the cache in OUT_DIR".to_string());
        return report;
    }

    let started = Instant::now();
    let (graph, verdict) = match check(env, &caller, &workspace, rules) {
        Ok(found) => found,
        Err(problem) => {
            report.problem = Some(format!("feature check skipped: {problem}"));
            return report;
        }
    };
    let known: HashSet<&PathBuf> = report.files.iter().collect();
    let extra_files: Vec<PathBuf> = graph
        .local_dirs()
        .into_iter()
        .map(|dir| dir.join("Cargo.toml"))
        .filter(|m| !known.contains(m))
        .collect();
    let verdict = cache::Verdict {
        extra_files,
        ..verdict
    };
    let mut notes = verdict.notes.clone();
    if let Some(dir) = &out_dir {
        if let Err(e) = cache::store(dir, key, &verdict) {
            notes.push(format!("feature check: verdict not cached: {e}"));
        }
    }
    notes.push(format!(
        "feature check: {} packages of `{}` checked with cargo tree in {} ms",
        graph.package_count(),
        caller.name,
        started.elapsed().as_millis()
    ));
    report.checked = true;
    report.resolved = Some(
        graph
            .enabled()
            .into_iter()
            .map(|(krate, features)| (krate, features.into_iter().collect()))
            .collect(),
    );
    report.violations = verdict.violations;
    report.files.extend(verdict.extra_files);
    report.notes = notes;
    report
}

/// Runs `cargo tree` for the caller, checks the rules, and when one is broken runs the inverted
/// tree of the offending crates to say who turned them on. The error is one line.
fn check(
    env: &Env,
    caller: &Caller,
    workspace: &Workspace,
    rules: &[Rule],
) -> Result<(Graph, cache::Verdict), String> {
    let output = cargo_tree::run(env, caller, &[])?;
    let mut graph = Graph::default();
    if graph.add_forward(&output) == 0 {
        return Err(format!(
            "`cargo tree` printed nothing readable for `{}`",
            caller.name
        ));
    }
    let evaluation = rules::evaluate(rules, &graph.enabled());
    let mut notes = evaluation.notes;
    if evaluation.findings.iter().any(|f| !f.missing) {
        // The forward tree starts at the package, so edges from its own features are not in
        // it; the inverted tree of the offending crates has them.
        let specs = inverted_specs(&graph, &evaluation.findings);
        match cargo_tree::run(env, caller, &specs) {
            Ok(inverted) => {
                graph.add_inverted(&inverted);
            }
            Err(e) => notes.push(format!("feature check: who enabled what is partial: {e}")),
        }
    }
    let violations = violations(&graph, workspace, &evaluation.findings);
    Ok((
        graph,
        cache::Verdict {
            violations,
            notes,
            extra_files: Vec::new(),
        },
    ))
}

/// Everything besides the files that decides the verdict.
fn key_inputs(env: &Env, caller: &Caller, rules: &[Rule]) -> Vec<String> {
    vec![
        caller.manifest.display().to_string(),
        caller.selection_args().join(" "),
        format!("{rules:?}"),
        env.get_os("CARGO_ENCODED_RUSTFLAGS")
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        env.text("CARGO").unwrap_or("cargo").to_string(),
    ]
}

/// `name@version` of every package a finding of unwanted features is about.
fn inverted_specs(graph: &Graph, findings: &[Finding]) -> Vec<String> {
    let mut specs: Vec<String> = Vec::new();
    for finding in findings.iter().filter(|f| !f.missing) {
        for id in graph.packages_of(&finding.key) {
            if let Some(tree::Node::Package { name, version, .. }) = graph.node(id) {
                let spec = format!("{name}@{version}");
                if !specs.contains(&spec) {
                    specs.push(spec);
                }
            }
        }
    }
    specs
}

/// The findings as violations, each with its chains and fix.
fn violations(graph: &Graph, workspace: &Workspace, findings: &[Finding]) -> Vec<FeatureViolation> {
    let offending = rules::offending(findings);
    findings
        .iter()
        .map(|finding| {
            if finding.missing {
                return FeatureViolation {
                    krate: finding.krate.clone(),
                    features: finding.features.clone(),
                    enabled_by: Vec::new(),
                    fix: advice::fix_for_missing(graph, workspace, finding),
                    choices: String::new(),
                    missing: true,
                };
            }
            let explained = chain::explain(graph, finding, &offending);
            // With one cause for all of them, the features are already in the headline.
            let list_features = explained.causes.len() > 1 || !explained.unexplained.is_empty();
            let mut enabled_by: Vec<String> = explained
                .causes
                .iter()
                .map(|c| chain::describe(graph, finding, c, list_features))
                .collect();
            let mut fixes: Vec<String> = Vec::new();
            let mut choices: Vec<String> = Vec::new();
            for cause in &explained.causes {
                let (list, text) = match advice::advise(graph, workspace, &offending, cause) {
                    Advice::Fix(fix) => (&mut fixes, fix),
                    Advice::Choices(text) => (&mut choices, text),
                };
                if !list.contains(&text) {
                    list.push(text);
                }
            }
            if !explained.unexplained.is_empty() {
                let names: Vec<String> = explained
                    .unexplained
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect();
                enabled_by.push(format!(
                    "{}: cargo tree did not show what turns {} on",
                    names.join(", "),
                    if names.len() == 1 { "it" } else { "them" }
                ));
                if fixes.is_empty() && choices.is_empty() {
                    choices.push(format!(
                        "no fix known: see `cargo tree -e features -i {}` for what turns them on",
                        finding.krate
                    ));
                }
            }
            FeatureViolation {
                krate: finding.krate.clone(),
                features: finding.features.clone(),
                enabled_by,
                fix: fixes.join("; "),
                choices: choices.join("; "),
                missing: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::chain::tests::graph_of;
    use crate::features::polars_minimal_dtypes;

    #[test]
    fn on_polars_0_55_2_the_line_gives_the_choices_not_a_fix_that_breaks_the_build() {
        // calibration/projects/polars-min, recorded by scripts/record-polars-trees.
        let graph = graph_of("polars-0.55.2.txt", Some("polars-0.55.2-inverted.txt"));
        let findings = rules::evaluate(&polars_minimal_dtypes(), &graph.enabled()).findings;
        let found = violations(&graph, &Workspace::at("/ws/polars-min"), &findings);
        assert_eq!(found.len(), 1, "{found:#?}");
        let core = &found[0];
        assert_eq!(
            core.features,
            ["dtype-datetime", "dtype-duration", "dtype-time"]
        );
        assert_eq!(core.fix, "");
        assert_eq!(
            core.to_string(),
            "`polars-core` has `dtype-datetime`, `dtype-duration`, `dtype-time` on, which the \
             feature rules forbid: crate `polars-time` enables `polars-core/dtype-datetime`, \
             `polars-core/dtype-duration`, `polars-core/dtype-time` (cal-polars-min -> polars-io \
             -> polars-time); no fix in this workspace: `polars-time` is not a package of it and \
             turns them on itself; it comes in through the dependencies on `polars`, `polars-io` \
             in Cargo.toml; choices: allow them in the feature rules, or change those \
             dependencies (another version, other features)"
        );
    }
}
