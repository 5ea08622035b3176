//! `cargo lowmem build|check|test|... [args]` and `cargo lowmem exec -- command`: the parent.
//! It estimates the build (the library's report), writes the governor's directory (each crate's
//! expected peak, the budget), runs the command with this program as `RUSTC_WRAPPER` (chaining
//! a wrapper already configured, sccache included), prints what the wrappers report, and after
//! a failure explains an OOM kill.

use crate::args::{self, Options};
use crate::governor;
use crate::postmortem::{self, Cause, Counters, Facts, Killed};
use crate::timeline::Event;
use crate::wrap;
use lowmem_build::store;
use lowmem_build::{Config, Report, Tier};
use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};
use std::time::Duration;

/// How many records of each crate and settings the store keeps when it is compacted.
pub const STORE_KEEP: usize = 3;

/// Keeps at least this much free beside what running rustcs were expected to take (KiB), or
/// the share of the budget below, whichever is more.
const MARGIN_KIB: u64 = 64 * 1024;
const MARGIN_SHARE: f64 = 0.03;
/// Under this much free, the newest rustc gives way (KiB), or the share below.
const KILL_MARGIN_KIB: u64 = 32 * 1024;
const KILL_MARGIN_SHARE: f64 = 0.015;

/// The cargo to run: the one that ran us (`CARGO`), else `cargo` on PATH.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `cargo <verb> <args>` governed.
pub fn run_cargo(verb: &str, args: &[OsString], options: &Options) -> ExitCode {
    let mut command = Command::new(cargo());
    command.arg(verb).args(args);
    let manifest = args::cargo_option(args, &["--manifest-path"]);
    let profile = if args::has_flag(args, &["--release", "-r"]) {
        Some("release".to_string())
    } else {
        args::cargo_option(args, &["--profile"])
    };
    let jobs = args::cargo_option(args, &["-j", "--jobs"]);
    let setup = Setup::new(
        manifest.as_deref(),
        profile.as_deref(),
        jobs.as_deref(),
        options,
    );
    let status = setup.run(command);
    // From the status, not the ExitCode: comparing ExitCodes needs Rust 1.79.
    let failed = !status.as_ref().is_ok_and(ExitStatus::success);
    let code = setup.finish(status, options);
    if failed && options.retry && setup.oom_killed() {
        return setup.retry_leanest(verb, args, profile.as_deref(), options);
    }
    code
}

/// Runs any command governed.
pub fn run_exec(program: &[OsString], options: &Options) -> ExitCode {
    let setup = Setup::new(None, None, None, options);
    let mut command = Command::new(&program[0]);
    command.args(&program[1..]);
    let status = setup.run(command);
    setup.finish(status, options)
}

/// One governed run: the estimate, the governor's directory, the counters before.
struct Setup {
    report: Report,
    /// With `--report`: where the memory report goes.
    report_dir: Option<PathBuf>,
    dir: Option<PathBuf>,
    store: Option<PathBuf>,
    started_ms: u64,
    counters: Counters,
    memory: Option<String>,
    inner: Option<String>,
}

impl Setup {
    fn new(
        manifest: Option<&str>,
        profile: Option<&str>,
        jobs: Option<&str>,
        options: &Options,
    ) -> Setup {
        let mut config = Config::new();
        config.cargo_directives(false);
        let manifest =
            absolute(&manifest.map_or_else(|| PathBuf::from("Cargo.toml"), PathBuf::from));
        if manifest.is_file() {
            config.manifest_path(&manifest);
        }
        if let Some(profile) = profile {
            config.profile(profile);
        }
        if let Some(jobs) = jobs {
            config.env_var("CARGO_BUILD_JOBS", Some(jobs));
        }
        if let Some(memory) = &options.memory {
            config.env_var("LOWMEM_BUILD_MEMORY", Some(memory));
        }
        let report = config.check();
        let target = target_dir(&manifest);
        let dir = target.as_ref().map(|t| {
            t.join("lowmem")
                .join("governor")
                .join(std::process::id().to_string())
        });
        let budget_kib = match (&options.memory, report.memory.budget) {
            (Some(_), Some(b)) => b / 1024,
            _ => std::env::var_os("LOWMEM_BUILD_MEMORY")
                .and(report.memory.budget)
                .map_or(0, |b| b / 1024),
        };
        let scale = if budget_kib > 0 {
            budget_kib
        } else {
            report.memory.budget.map_or(0, |b| b / 1024)
        };
        let margin = MARGIN_KIB.max((scale as f64 * MARGIN_SHARE) as u64);
        let kill_margin = KILL_MARGIN_KIB.max((scale as f64 * KILL_MARGIN_SHARE) as u64);
        let plan_scale = plan_scale();
        let scaled = |kib: u64| (kib as f64 * plan_scale) as u64;
        let plan: Vec<(String, String, bool, u64)> = report
            .estimate
            .as_ref()
            .map(|e| {
                e.crate_peaks
                    .iter()
                    .map(|c| {
                        let kib = scaled(c.peak / 1024);
                        (c.name.clone(), c.version.clone(), c.link, kib)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let script_kib = report
            .estimate
            .as_ref()
            .map(|e| scaled(e.build_script / 1024))
            .filter(|&kib| kib > 0)
            .unwrap_or(governor::UNKNOWN_KIB);
        let absolute =
            std::env::current_dir().map_or_else(|_| manifest.clone(), |cwd| cwd.join(&manifest));
        let rule_manifests = crate::rules::manifests(&absolute);
        let dir = dir.filter(|d| {
            governor::prepare(
                d,
                budget_kib,
                margin,
                kill_margin,
                script_kib,
                &plan,
                &rule_manifests,
            )
            .map_err(|e| {
                eprintln!(
                    "warning: cargo-lowmem: cannot write {} ({e}); the build runs ungoverned",
                    d.display()
                )
            })
            .is_ok()
        });
        let inner = report
            .settings
            .rustc_wrapper
            .as_ref()
            .map(|w| w.value.clone())
            .filter(|w| !is_ourselves(w));
        Setup {
            // The store the wrappers write: `LOWMEM_BUILD_STORE` when set, as for them.
            store: std::env::var_os("LOWMEM_BUILD_STORE")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .or_else(|| target.as_ref().map(|t| store::path_in(t))),
            report_dir: target
                .filter(|_| options.report)
                .map(|t| t.join("lowmem").join("report")),
            report,
            dir,
            started_ms: governor::now_ms(),
            counters: counters(),
            memory: options.memory.clone(),
            inner,
        }
    }

    /// Runs `command` with the governor in its environment, printing the wrappers' events.
    fn run(&self, mut command: Command) -> std::io::Result<ExitStatus> {
        let me = std::env::current_exe()?;
        command.env("RUSTC_WRAPPER", &me);
        match &self.inner {
            Some(inner) => command.env(wrap::INNER_VAR, inner),
            None => command.env_remove(wrap::INNER_VAR),
        };
        if let Some(dir) = &self.dir {
            command.env(governor::DIR_VAR, dir);
            if self.report_dir.is_some() {
                command.env(wrap::TIMELINE_VAR, dir.join("timeline"));
            }
        }
        if let Some(memory) = &self.memory {
            command.env("LOWMEM_BUILD_MEMORY", memory);
        }
        let mut child = command.spawn()?;
        let mut offset = 0;
        let status = loop {
            if let Some(dir) = &self.dir {
                offset = print_events(&dir.join("events"), offset);
            }
            match child.try_wait()? {
                Some(status) => break status,
                None => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        if let Some(dir) = &self.dir {
            print_events(&dir.join("events"), offset);
        }
        Ok(status)
    }

    /// The exit code, after the post-mortem when the command failed.
    fn finish(&self, status: std::io::Result<ExitStatus>, options: &Options) -> ExitCode {
        let status = match status {
            Ok(status) => status,
            Err(e) => {
                eprintln!("error: cargo-lowmem: could not run the command: {e}");
                return ExitCode::from(1);
            }
        };
        if let Some(dir) = &self.dir {
            self.write_report(dir, options);
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(store) = &self.store {
            // Every build appends; past a few MiB only the recent figures are kept.
            let _ = store::compact(store, STORE_KEEP);
        }
        if !status.success() {
            let lines = postmortem::explain(&self.facts());
            for (i, line) in lines.iter().enumerate() {
                let kind = if i == 0 { "error" } else { "note" };
                eprintln!("{kind}: cargo-lowmem: {line}");
            }
            if !lines.is_empty() && options.can_retry && !options.retry && self.oom_killed() {
                eprintln!("note: cargo-lowmem: `--retry` builds again with the leanest settings");
            }
        }
        ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8)
    }

    /// With `--report`: the memory report of this run, from what the wrappers wrote in the
    /// governor's directory, saved under `<target>/lowmem/report/`; its path is said.
    fn write_report(&self, dir: &Path, options: &Options) {
        let Some(report_dir) = &self.report_dir else {
            if options.report {
                eprintln!("warning: cargo-lowmem: no target directory found; no memory report");
            }
            return;
        };
        let mut run = crate::report::gather(&dir.join("timeline"), &dir.join("events"));
        run.started_ms = self.started_ms;
        run.ended_ms = governor::now_ms();
        run.budget_kib = self.report.memory.budget.map(|b| b / 1024);
        run.limit_kib = self
            .report
            .memory
            .cgroup
            .as_ref()
            .and_then(|c| c.limit.as_ref())
            .map(|l| l.bytes / 1024);
        run.budget_text = self.report.budget_text().unwrap_or_default();
        let s = &self.report.settings;
        run.settings = format!("{}, linker {}", s.summary(), s.linker.value);
        run.advice = self.report.advice.iter().map(|a| a.to_string()).collect();
        if let Some(split) = &self.report.split {
            run.advice.push(split.to_string());
        }
        if let Some(estimate) = &self.report.estimate {
            run.planned = estimate
                .crate_peaks
                .iter()
                .map(|c| crate::timeline::Planned {
                    package: c.name.clone(),
                    version: c.version.clone(),
                    link: c.link,
                    kib: c.peak / 1024,
                    source: c.source.to_string(),
                })
                .collect();
        }
        let stem = format!("build-{}", self.started_ms);
        let title = format!("cargo lowmem: build memory, {}", stem);
        match crate::report::save(&run, report_dir, &stem, &title) {
            Ok(path) => crate::report::announce(&path),
            Err(e) => eprintln!(
                "warning: cargo-lowmem: cannot write the memory report in {} ({e})",
                report_dir.display()
            ),
        }
    }

    /// The rustcs killed during this run (from the store) and the counters since.
    fn facts(&self) -> Facts {
        let killed = self
            .store
            .as_ref()
            .map(|s| store::read(s))
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.start_ms >= self.started_ms)
            .filter_map(|r| {
                Some(Killed {
                    cause: Cause::of_status(&r.status)?,
                    krate: r.krate,
                    anon_kib: r.anon_kib,
                })
            })
            .collect();
        let mut fixes: Vec<String> = self.report.advice.iter().map(|a| a.to_string()).collect();
        if let Some(split) = &self.report.split {
            fixes.push(split.to_string());
        }
        let beyond = (self.report.tier == Tier::Critical).then(|| {
            let heaviest = self
                .report
                .estimate
                .as_ref()
                .and_then(|e| e.heaviest.first())
                .map_or_else(|| "the heaviest crate".to_string(), |c| c.name.clone());
            format!(
                "even at the leanest settings {heaviest} alone needs more than this machine's budget: compile it where memory allows and share the artifacts (sccache with a shared cache, e.g. SCCACHE_BUCKET or SCCACHE_REDIS; cargo lowmem chains sccache set as RUSTC_WRAPPER)"
            )
        });
        Facts {
            killed,
            oom_kills: counters().since(&self.counters),
            budget: self
                .report
                .budget_text()
                .zip(self.report.memory.budget)
                .map(|(t, b)| (b, t)),
            fixes,
            beyond_one_machine: beyond,
        }
    }

    fn oom_killed(&self) -> bool {
        let facts = self.facts();
        facts.killed.iter().any(|k| k.cause == Cause::OomKiller)
            || (facts.killed.iter().any(|k| k.cause == Cause::Signal(9))
                && facts.oom_kills.is_some_and(|n| n > 0))
    }

    /// After an OOM kill the governor could not prevent: once more, with the leanest settings
    /// (no debuginfo, one job), saying which.
    fn retry_leanest(
        &self,
        verb: &str,
        args: &[OsString],
        profile: Option<&str>,
        options: &Options,
    ) -> ExitCode {
        let prefix = match profile.unwrap_or("dev") {
            "dev" | "test" => "DEV".to_string(),
            "release" | "bench" => "RELEASE".to_string(),
            other => other.to_ascii_uppercase().replace('-', "_"),
        };
        let debug = format!("CARGO_PROFILE_{prefix}_DEBUG");
        let kept: Vec<&OsString> = {
            let mut skip = false;
            args.iter()
                .filter(|a| {
                    let text = a.to_string_lossy();
                    if skip {
                        skip = false;
                        return false;
                    }
                    if text == "-j" || text == "--jobs" {
                        skip = true;
                        return false;
                    }
                    !(text.starts_with("-j") && text.len() > 2 || text.starts_with("--jobs="))
                })
                .collect()
        };
        eprintln!("note: cargo-lowmem: building again with the leanest settings: {debug}=0, -j 1");
        let mut command = Command::new(cargo());
        command
            .arg(verb)
            .arg("-j")
            .arg("1")
            .args(kept)
            .env(&debug, "0");
        let status = self.run(command);
        let worked = status.as_ref().is_ok_and(ExitStatus::success);
        eprintln!(
            "note: cargo-lowmem: with {debug}=0 and -j 1 the build {}",
            if worked { "finished" } else { "failed too" }
        );
        let _ = options;
        match status {
            Ok(s) => ExitCode::from(s.code().unwrap_or(1).clamp(0, 255) as u8),
            Err(_) => ExitCode::from(1),
        }
    }
}

/// `LOWMEM_BUILD_PLAN_SCALE`: every expected peak of the plan multiplied by this (a number above
/// 0; 1 when unset or not one). For the soak (`scripts/soak`), which gives the governor a plan
/// that is deliberately wrong, as its estimate is on graphs nobody measured.
fn plan_scale() -> f64 {
    std::env::var(PLAN_SCALE_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0)
}

/// See [`plan_scale`].
const PLAN_SCALE_VAR: &str = "LOWMEM_BUILD_PLAN_SCALE";

/// `path` from the current directory when it is relative.
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
}

/// Whether a configured wrapper is this program (the always-on config form): not chained.
fn is_ourselves(wrapper: &str) -> bool {
    Path::new(wrapper)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("cargo-lowmem"))
}

/// The target directory cargo uses, from `cargo metadata` (which knows every config that moves
/// it).
fn target_dir(manifest: &Path) -> Option<PathBuf> {
    let mut command = Command::new(cargo());
    command.args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
        "--offline",
    ]);
    if manifest.is_file() {
        command.arg("--manifest-path").arg(manifest);
    }
    let out = command.stderr(std::process::Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find("\"target_directory\":\"")? + "\"target_directory\":\"".len();
    let mut value = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(PathBuf::from(value)),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
    None
}

/// The OOM-kill counters now: this process's memory cgroup's and /proc/vmstat's.
fn counters() -> Counters {
    let number = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    let vmstat = std::fs::read_to_string("/proc/vmstat")
        .ok()
        .and_then(|t| number(&t, "oom_kill "));
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let v1 = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()));
    let cgroup = match v1 {
        Some(path) => {
            std::fs::read_to_string(format!("/sys/fs/cgroup/memory{path}/memory.oom_control"))
                .ok()
                .and_then(|t| number(&t, "oom_kill "))
        }
        None => own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .and_then(|p| std::fs::read_to_string(format!("/sys/fs/cgroup{p}/memory.events")).ok())
            .and_then(|t| number(&t, "oom_kill ")),
    };
    Counters { cgroup, vmstat }
}

/// Prints the events from `offset` on, in cargo's voice; returns the new offset.
fn print_events(path: &Path, offset: u64) -> u64 {
    let Ok(mut file) = std::fs::File::open(path) else {
        return offset;
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return offset;
    }
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return offset;
    }
    // Only whole lines; a line being written is read next time.
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    for event in text[..complete].lines().filter_map(Event::parse) {
        eprintln!("{}", event_line(&event.kind, &event.krate, &event.detail));
    }
    offset + complete as u64
}

/// One event as cargo would say it: a right-aligned verb, then the crate.
pub fn event_line(kind: &str, krate: &str, detail: &str) -> String {
    let (verb, rest) = match kind {
        "waiting" => ("Waiting", format!("{krate} ({})", humanize(detail))),
        "retrying" => ("Retrying", format!("{krate}: {detail}")),
        "stopped" => ("Stopped", format!("{krate} ({})", humanize(detail))),
        "resumed" => ("Resumed", format!("{krate} ({detail})")),
        "oom-killed" => ("OOM-killed", format!("{krate} ({})", humanize(detail))),
        "gave-up-waiting" => ("Starting", format!("{krate}: {detail}")),
        "feature-rule" => ("Rule", detail.to_string()),
        other => (other, format!("{krate}: {detail}")),
    };
    format!("{verb:>12} {rest}")
}

/// `~900000 KiB until polars_core (~2000000 KiB) finishes` with sizes people read.
pub fn humanize(detail: &str) -> String {
    detail
        .split(' ')
        .map(|word| {
            let (prefix, number) = match word.strip_prefix("(~") {
                Some(n) => ("(~", n),
                None => match word.strip_prefix('~') {
                    Some(n) => ("~", n),
                    None => ("", word),
                },
            };
            match number.parse::<u64>() {
                Ok(kib) if !prefix.is_empty() || detail.contains(&format!("{number} KiB")) => {
                    format!("{prefix}{}", size(kib))
                }
                _ => word.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" KiB", "")
}

fn size(kib: u64) -> String {
    if kib >= 1024 * 1024 {
        format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} MiB", kib.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_cargo_speaks() {
        assert_eq!(
            event_line(
                "waiting",
                "polars_ops",
                "~943718 KiB until polars_core (~2306867 KiB) finishes"
            ),
            "     Waiting polars_ops (~922 MiB until polars_core (~2.2 GiB) finishes)"
        );
        assert_eq!(
            event_line(
                "retrying",
                "polars_ops",
                "killed to make room; again, alone"
            ),
            "    Retrying polars_ops: killed to make room; again, alone"
        );
        assert_eq!(
            event_line(
                "oom-killed",
                "polars_core",
                "1992294 KiB at its last sample"
            ),
            "  OOM-killed polars_core (1.9 GiB at its last sample)"
        );
    }

    #[test]
    fn only_whole_event_lines_are_printed_and_the_offset_moves_past_them() {
        let path = std::env::temp_dir().join(format!("lowmem-events-{}", std::process::id()));
        std::fs::write(
            &path,
            "1\twaiting\ta\t~1 KiB until b (~2 KiB) finishes\n2\tretry",
        )
        .unwrap();
        let offset = print_events(&path, 0);
        assert_eq!(
            offset,
            std::fs::read_to_string(&path).unwrap().find("2\t").unwrap() as u64
        );
        assert_eq!(print_events(&path, offset), offset);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_wrapper_named_like_us_is_not_chained() {
        assert!(is_ourselves("/root/.cargo/bin/cargo-lowmem"));
        assert!(!is_ourselves("sccache"));
    }
}
