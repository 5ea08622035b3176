//! Runs a command and samples the summed RSS of its whole process tree (Linux, /proc).
//!
//! ```text
//! cargo run --release --example memsample -- cargo build
//! cargo run --release --example memsample -- --interval-ms 50 --top 20 -- cargo build --release
//! ```
//! It reports the peak of the summed RSS, when it happened and which processes ran then (rustc
//! by crate name, linkers by name), and each process's own peak (its `VmHWM`, so a spike between
//! two samples is still caught): how to compare a real build with what `lowmem_build` estimates.
//! It also reports the peak of the summed anonymous memory (`RssAnon`): what the OOM killer is
//! about, and what a build really needs (the summed RSS counts the compiler library once per
//! rustc and a linker's mapped input files, which the kernel reclaims under pressure). With
//! `--cgroup DIR` (a memory cgroup the command runs in) it also samples that cgroup's own
//! anonymous memory (`total_rss` in v1's memory.stat, `anon` in v2's).
//! The last line is machine-readable (`memsample: key=value ...`).

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// One process seen in a sample.
struct Proc {
    ppid: u32,
    rss_kib: u64,
    anon_kib: u64,
    hwm_kib: u64,
    label: String,
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut interval = Duration::from_millis(100);
    let mut top = 12;
    let mut cgroup: Option<std::path::PathBuf> = None;
    while let Some(first) = args.first().cloned() {
        match first.as_str() {
            "--interval-ms" | "--top" if args.len() >= 2 => {
                let Ok(n) = args[1].parse::<u64>() else {
                    return usage(&format!("{first} needs a number"));
                };
                if first == "--top" {
                    top = n as usize;
                } else {
                    interval = Duration::from_millis(n.max(10));
                }
                args.drain(..2);
            }
            "--cgroup" if args.len() >= 2 => {
                cgroup = Some(args[1].clone().into());
                args.drain(..2);
            }
            "--" => {
                args.remove(0);
                break;
            }
            "-h" | "--help" => return usage(""),
            _ => break,
        }
    }
    let Some((program, rest)) = args.split_first() else {
        return usage("no command given");
    };
    let start = Instant::now();
    let mut child = match Command::new(program).args(rest).spawn() {
        Ok(child) => child,
        Err(e) => return usage(&format!("cannot run `{program}`: {e}")),
    };
    let root = child.id();
    let mut peak_kib = 0u64;
    let mut peak_at = Duration::ZERO;
    let mut anon_peak_kib = 0u64;
    let mut anon_peak_at = Duration::ZERO;
    let mut cgroup_anon_peak_kib = 0u64;
    let mut at_peak: Vec<(String, u64)> = Vec::new();
    let mut per_process: HashMap<(u32, String), u64> = HashMap::new();
    let status = loop {
        let tree = tree_of(root);
        let sum: u64 = tree.values().map(|p| p.rss_kib).sum();
        let anon: u64 = tree.values().map(|p| p.anon_kib).sum();
        if anon > anon_peak_kib {
            anon_peak_kib = anon;
            anon_peak_at = start.elapsed();
        }
        if let Some(kib) = cgroup.as_deref().and_then(cgroup_anon_kib) {
            cgroup_anon_peak_kib = cgroup_anon_peak_kib.max(kib);
        }
        for (pid, p) in &tree {
            let slot = per_process.entry((*pid, p.label.clone())).or_insert(0);
            *slot = (*slot).max(p.hwm_kib.max(p.rss_kib));
        }
        if sum > peak_kib {
            peak_kib = sum;
            peak_at = start.elapsed();
            at_peak = tree
                .values()
                .map(|p| (p.label.clone(), p.rss_kib))
                .collect();
            at_peak.sort_by_key(|p| std::cmp::Reverse(p.1));
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(interval),
            Err(e) => return usage(&format!("waiting for the command failed: {e}")),
        }
    };
    let wall = start.elapsed();

    // One row per label (a crate compiled twice, e.g. build script and lib, keeps its larger).
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, label), kib) in per_process {
        let slot = by_label.entry(label).or_insert(0);
        *slot = (*slot).max(kib);
    }
    let mut largest: Vec<(String, u64)> = by_label.into_iter().collect();
    largest.sort_by_key(|p| std::cmp::Reverse(p.1));

    let mib = |kib: u64| kib / 1024;
    eprintln!();
    eprintln!(
        "memsample: `{}` exited with {status} after {:.1} s",
        args.join(" "),
        wall.as_secs_f64()
    );
    eprintln!(
        "peak of summed RSS: {} MiB at {:.1} s; running then:",
        mib(peak_kib),
        peak_at.as_secs_f64()
    );
    for (label, kib) in at_peak.iter().take(top) {
        eprintln!("  {:>7} MiB  {label}", mib(*kib));
    }
    eprintln!(
        "peak of summed anonymous memory (RssAnon): {} MiB at {:.1} s",
        mib(anon_peak_kib),
        anon_peak_at.as_secs_f64()
    );
    if let Some(dir) = &cgroup {
        eprintln!(
            "peak of the cgroup's anonymous memory ({}): {} MiB",
            dir.display(),
            mib(cgroup_anon_peak_kib)
        );
    }
    eprintln!("largest processes (own peak RSS):");
    for (label, kib) in largest.iter().take(top) {
        eprintln!("  {:>7} MiB  {label}", mib(*kib));
    }
    let (largest_label, largest_kib) = largest.first().cloned().unwrap_or_default();
    eprintln!(
        "memsample: peak_mib={} peak_at_s={:.1} anon_peak_mib={} cgroup_anon_peak_mib={} wall_s={:.2} largest_mib={} largest={} status={}",
        mib(peak_kib),
        peak_at.as_secs_f64(),
        mib(anon_peak_kib),
        mib(cgroup_anon_peak_kib),
        wall.as_secs_f64(),
        mib(largest_kib),
        largest_label.replace(' ', "_"),
        status.code().unwrap_or(-1)
    );
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Every live process under `root` (and `root` itself), by pid.
fn tree_of(root: u32) -> HashMap<u32, Proc> {
    let mut all: HashMap<u32, Proc> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return all;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(p) = read_proc(pid) {
            all.insert(pid, p);
        }
    }
    let mut keep: Vec<u32> = vec![root];
    let mut i = 0;
    while let Some(&pid) = keep.get(i) {
        keep.extend(all.iter().filter(|(_, p)| p.ppid == pid).map(|(c, _)| *c));
        i += 1;
    }
    keep.into_iter()
        .filter_map(|pid| all.remove(&pid).map(|p| (pid, p)))
        .collect()
}

fn read_proc(pid: u32) -> Option<Proc> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| rest.trim().trim_end_matches("kB").trim().to_string())
    };
    let ppid = field("PPid:")?.parse().ok()?;
    let rss_kib = field("VmRSS:").and_then(|v| v.parse().ok()).unwrap_or(0);
    let hwm_kib = field("VmHWM:").and_then(|v| v.parse().ok()).unwrap_or(0);
    let anon_kib = field("RssAnon:").and_then(|v| v.parse().ok()).unwrap_or(0);
    let name = field("Name:").unwrap_or_default();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(Proc {
        ppid,
        rss_kib,
        anon_kib,
        hwm_kib,
        label: label(&name, &args),
    })
}

/// `rustc <crate>` for compiler processes (`build-script` for build scripts), else the name.
fn label(name: &str, args: &[String]) -> String {
    let crate_name = args
        .iter()
        .position(|a| a == "--crate-name")
        .and_then(|i| args.get(i + 1));
    match crate_name {
        Some(krate) if krate == "build_script_build" => "rustc build-script".to_string(),
        Some(krate) => format!("rustc {krate}"),
        None => name.to_string(),
    }
}

/// A memory cgroup's own anonymous memory, KiB: `total_rss` (v1, the group and its children)
/// or `anon` (v2) in its memory.stat.
fn cgroup_anon_kib(dir: &std::path::Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("memory.stat")).ok()?;
    let value = |key: &str| {
        stat.lines().find_map(|l| {
            l.strip_prefix(key)?
                .strip_prefix(' ')?
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    value("total_rss")
        .or_else(|| value("anon"))
        .map(|b| b / 1024)
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("memsample: {problem}");
    }
    eprintln!("usage: memsample [--interval-ms N] [--top N] [--cgroup DIR] [--] COMMAND [ARGS...]");
    ExitCode::from(if problem.is_empty() { 0 } else { 2 })
}
