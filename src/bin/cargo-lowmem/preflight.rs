//! `cargo lowmem preflight`: the report before any build (budget, estimate with its heaviest
//! crates, tier, fixes) and the plan the governor would follow.

use crate::args::Preflight;
use lowmem_build::{Config, CratePeak, Report};
use std::process::ExitCode;

pub fn run(options: &Preflight) -> ExitCode {
    let mut config = Config::new();
    config.cargo_directives(false);
    let manifest = options
        .manifest_path
        .clone()
        .unwrap_or_else(|| "Cargo.toml".to_string());
    if !std::path::Path::new(&manifest).is_file() {
        eprintln!("error: cargo-lowmem: no {manifest}: run it in a package's directory or give --manifest-path");
        return ExitCode::from(1);
    }
    config.manifest_path(crate::governed::absolute(std::path::Path::new(&manifest)));
    if let Some(profile) = &options.profile {
        config.profile(profile);
    }
    if let Some(memory) = &options.memory {
        config.env_var("LOWMEM_BUILD_MEMORY", Some(memory));
    }
    if let Some(jobs) = &options.jobs {
        config.env_var("CARGO_BUILD_JOBS", Some(jobs));
    }
    let report = config.check();
    println!("{}\n", report.headline());
    print!("{report}");
    for line in plan(&report) {
        println!("{:<18}{line}", "governor");
    }
    if report.tier.is_short() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// What `cargo lowmem build` would do with this budget: which heavy crates it would not start
/// together, and which cannot fit even alone.
pub fn plan(report: &Report) -> Vec<String> {
    let (Some(estimate), Some(budget)) = (&report.estimate, report.memory.budget) else {
        return vec!["no estimate or budget: every rustc starts when cargo starts it".to_string()];
    };
    let mut lines = Vec::new();
    let heavy: Vec<&CratePeak> = estimate.crate_peaks.iter().take(5).collect();
    let margin = (budget as f64 * 0.03).max(64.0 * 1024.0 * 1024.0) as u64;
    for (i, krate) in heavy.iter().enumerate() {
        if krate.peak + margin > budget {
            lines.push(format!(
                "{krate}: more than the budget even alone; it runs alone and may still be OOM-killed (see the fixes)"
            ));
            continue;
        }
        let room = budget - margin - krate.peak;
        let waits: Vec<String> = heavy[i + 1..]
            .iter()
            .filter(|other| other.peak > room)
            .map(|other| other.name.clone())
            .collect();
        if !waits.is_empty() {
            lines.push(format!(
                "{krate}: while it grows, {} wait{}",
                waits.join(", "),
                if waits.len() == 1 { "s" } else { "" }
            ));
        }
    }
    if lines.is_empty() {
        lines.push(format!(
            "the heaviest crates fit side by side in {}: nothing is held back",
            report.budget_text().unwrap_or_default()
        ));
    }
    lines
}
