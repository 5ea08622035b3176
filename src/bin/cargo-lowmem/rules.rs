//! Feature rules at the moment a crate is about to compile: the rules declared in the workspace's
//! manifests (`[package.metadata.lowmem_build]`, `[workspace.metadata.lowmem_build]`) against the
//! `--cfg feature` arguments cargo gives rustc. In deny mode the build stops there, before the
//! crate compiles, naming the crate, the features and who turned them on.

use lowmem_build::FeatureRule;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The file in the governor's directory listing the manifests to read rules from.
pub const MANIFESTS: &str = "rule-manifests";

/// One broken rule: the rule and what breaks it.
pub struct Broken {
    pub rule: FeatureRule,
    pub features: Vec<String>,
}

/// The rules of the manifests listed in `dir/rule-manifests` that `krate` built with `features`
/// breaks (a rule declared in two manifests counts once).
pub fn broken(dir: &Path, krate: &str, features: &[String]) -> Vec<Broken> {
    let Ok(list) = std::fs::read_to_string(dir.join(MANIFESTS)) else {
        return Vec::new();
    };
    let mut rules: Vec<FeatureRule> = Vec::new();
    for manifest in list.lines() {
        for rule in FeatureRule::declared_in(Path::new(manifest)).0 {
            if rule.applies_to(krate) && !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    rules
        .into_iter()
        .filter_map(|rule| {
            let features = rule.broken_by(features);
            (!features.is_empty()).then_some(Broken { rule, features })
        })
        .collect()
}

/// One line about a broken rule.
pub fn describe(package: &str, broken: &Broken) -> String {
    if broken.rule.requires() {
        format!(
            "`{package}` would be compiled without {} ({})",
            broken.features.join(", "),
            broken.rule
        )
    } else {
        format!(
            "`{package}` would be compiled with {} ({})",
            broken.features.join(", "),
            broken.rule
        )
    }
}

/// Who turned `features` on for `package`: the branches of `cargo tree -e features -i` under
/// each feature (at most a few lines each), or why that could not be asked.
pub fn who_enabled(
    workspace: &Path,
    package: &str,
    version: &str,
    features: &[String],
) -> Vec<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "tree",
            "-e",
            "features",
            "--prefix",
            "depth",
            "--offline",
            "--locked",
            "-i",
        ])
        .arg(format!("{package}@{version}"))
        .arg("--manifest-path")
        .arg(workspace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let Ok(child) = command.spawn() else {
        return vec!["(cargo tree could not run)".to_string()];
    };
    let Some(output) = wait_with_timeout(child, Duration::from_secs(20)) else {
        return vec!["(cargo tree did not answer within 20 s)".to_string()];
    };
    branches(&output, package, features)
}

fn wait_with_timeout(mut child: std::process::Child, timeout: Duration) -> Option<String> {
    use std::io::Read;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return reader.join().ok(),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// From `cargo tree --prefix depth` output, the lines under `package feature "f"` for each of
/// `features`, without the depth digits, indented by depth.
pub fn branches(output: &str, package: &str, features: &[String]) -> Vec<String> {
    const PER_FEATURE: usize = 6;
    let parsed: Vec<(usize, &str)> = output
        .lines()
        .filter_map(|l| {
            let digits = l.len() - l.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            Some((l[..digits].parse().ok()?, &l[digits..]))
        })
        .collect();
    let mut lines = Vec::new();
    for feature in features {
        let head = format!("{package} feature \"{feature}\"");
        let Some(start) = parsed.iter().position(|(_, text)| text.starts_with(&head)) else {
            continue;
        };
        let depth = parsed[start].0;
        lines.extend(
            parsed[start..]
                .iter()
                .enumerate()
                .take_while(|(i, (d, _))| *i == 0 || *d > depth)
                .take(PER_FEATURE)
                .map(|(_, (d, text))| format!("{}{text}", "  ".repeat(d - depth))),
        );
    }
    lines
}

/// The manifests whose rules apply to a build of `manifest`: it first (the workspace `cargo
/// tree` is asked about), then those of its workspace (root and members) that declare rules,
/// so that each wrapper reads only those.
pub fn manifests(manifest: &Path) -> Vec<PathBuf> {
    let all = FeatureRule::workspace_manifests(manifest);
    let mut out: Vec<PathBuf> = all.first().cloned().into_iter().collect();
    out.extend(all.into_iter().skip(1).filter(|m| {
        let (rules, problems) = FeatureRule::declared_in(m);
        !rules.is_empty() || !problems.is_empty()
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branch_under_a_feature_names_who_enabled_it() {
        let output = "0polars-core v0.55.2\n\
            1polars-core feature \"default\"\n\
            2polars-lazy v0.55.2\n\
            1polars-core feature \"dtype-full\"\n\
            2polars feature \"dtype-full\"\n\
            3helper feature \"full\"\n\
            4app v0.1.0 (/ws/app)\n\
            1polars-core feature \"lazy\"\n";
        let lines = branches(output, "polars-core", &["dtype-full".to_string()]);
        assert_eq!(
            lines,
            [
                "polars-core feature \"dtype-full\"",
                "  polars feature \"dtype-full\"",
                "    helper feature \"full\"",
                "      app v0.1.0 (/ws/app)"
            ]
        );
        assert!(branches(output, "polars-core", &["absent".to_string()]).is_empty());
    }
}
