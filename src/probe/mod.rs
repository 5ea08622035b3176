//! The memory probe: how much memory this build may use, container limits included.

pub(crate) mod build;
pub(crate) mod cgroup;
pub(crate) mod fs;
pub(crate) mod meminfo;

pub use build::ThisBuild;
pub use cgroup::{CgroupLimit, CgroupMemory};
use fs::SystemRoot;

/// What bounded the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BudgetSource {
    /// `MemAvailable` in /proc/meminfo (or the platform's available memory).
    Available,
    /// The old-kernel estimate `MemFree + Buffers + Cached`.
    AvailableEstimate,
    /// The cgroup's headroom under this limit.
    Cgroup(CgroupLimit),
    /// `LOWMEM_BUILD_MEMORY`.
    Override,
    /// [`Config::memory`](crate::Config::memory) in the build script.
    Configured,
    /// Nothing could be read.
    Unknown,
}

/// The machine's memory as this build sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemorySnapshot {
    /// Physical memory (`MemTotal`).
    pub total: Option<u64>,
    /// Memory available to new work (`MemAvailable`).
    pub available: Option<u64>,
    /// Swap configured.
    pub swap_total: Option<u64>,
    /// Swap free.
    pub swap_free: Option<u64>,
    /// The memory cgroup, on Linux when the process is in one with a memory controller.
    pub cgroup: Option<CgroupMemory>,
    /// The build that is running this check (in a build script): cargo and the processes it
    /// started. Their memory is this build's, so it is added back to the budget.
    pub this_build: Option<ThisBuild>,
    /// What the build may use: the smaller of available memory and cgroup headroom, each with
    /// this build's own running processes added back.
    pub budget: Option<u64>,
    /// Which of them bounded it.
    pub bounded_by: BudgetSource,
    /// What could not be read, one line each (moved into the report's diagnostics).
    pub(crate) problems: Vec<String>,
}

impl MemorySnapshot {
    /// Probes this machine.
    pub fn probe() -> MemorySnapshot {
        probe(&SystemRoot::new("/"))
    }

    /// As [`MemorySnapshot::probe`], without looking for this build's own processes:
    /// `this_build` is `None` and nothing is added back to the budget. Cheap enough to call
    /// several times a second (`cargo lowmem`'s wrappers do, for the free memory they admit
    /// rustc into); a process tree walk is not.
    pub fn probe_free() -> MemorySnapshot {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                probe_procfs_with(&SystemRoot::new("/"), false)
            } else {
                probe_sysinfo()
            }
        }
    }

    /// Replaces the budget by a figure the user gave.
    pub(crate) fn with_budget_override(
        mut self,
        bytes: u64,
        source: BudgetSource,
    ) -> MemorySnapshot {
        self.budget = Some(bytes);
        self.bounded_by = source;
        self
    }
}

/// Probes the machine whose `/` is at `root`.
pub(crate) fn probe(root: &SystemRoot) -> MemorySnapshot {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            probe_procfs(root)
        } else {
            let _ = root;
            probe_sysinfo()
        }
    }
}

/// Linux: /proc/meminfo and the cgroup files, read through `root`.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
pub(crate) fn probe_procfs(root: &SystemRoot) -> MemorySnapshot {
    probe_procfs_with(root, true)
}

/// As `probe_procfs`, looking for this build's own processes only when `this_build` is set.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn probe_procfs_with(root: &SystemRoot, this_build: bool) -> MemorySnapshot {
    let mut problems = Vec::new();
    let info = match root.read("/proc/meminfo") {
        Ok(text) => meminfo::parse_meminfo(&text),
        Err(e) => {
            problems.push(format!("cannot read memory figures ({e})"));
            meminfo::MemInfo::default()
        }
    };
    let cgroup = cgroup::read_cgroup(root, &mut problems);
    let this_build = if this_build {
        build::this_build(root)
    } else {
        None
    };
    let own = this_build.as_ref().map_or(0, |b| b.anon);
    let available = info.available_or_estimate();
    let (mut budget, mut bounded_by) = match available {
        Some((bytes, estimated)) => (
            Some(
                bytes
                    .saturating_add(own)
                    .min(info.total.unwrap_or(u64::MAX)),
            ),
            if estimated {
                BudgetSource::AvailableEstimate
            } else {
                BudgetSource::Available
            },
        ),
        None => (None, BudgetSource::Unknown),
    };
    if let Some(cg) = &cgroup {
        if let (Some(room), Some(binding)) = (cg.headroom, &cg.binding) {
            // What this build holds is part of the cgroup's usage; it cannot hold more.
            let taken = cg
                .usage
                .unwrap_or(0)
                .saturating_sub(cg.inactive_file.unwrap_or(0));
            let room = room.saturating_add(own.min(taken)).min(binding.bytes);
            if budget.map_or(true, |b| room < b) {
                budget = Some(room);
                bounded_by = BudgetSource::Cgroup(binding.clone());
            }
        }
    }
    MemorySnapshot {
        this_build,
        total: info.total,
        available: available.map(|(bytes, _)| bytes),
        swap_total: info.swap_total,
        swap_free: info.swap_free,
        cgroup,
        budget,
        bounded_by,
        problems,
    }
}

/// Other platforms: sysinfo's figures (its cgroup reading is Linux-only and not used).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn probe_sysinfo() -> MemorySnapshot {
    let mut system = sysinfo::System::new();
    system.refresh_memory();
    let known = |n: u64| Some(n).filter(|&n| n > 0);
    let available = known(system.available_memory());
    MemorySnapshot {
        total: known(system.total_memory()),
        available,
        swap_total: Some(system.total_swap()),
        swap_free: Some(system.free_swap()),
        cgroup: None,
        this_build: None,
        budget: available,
        bounded_by: if available.is_some() {
            BudgetSource::Available
        } else {
            BudgetSource::Unknown
        },
        problems: if available.is_some() {
            Vec::new()
        } else {
            vec!["the platform reported no available memory".to_string()]
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/machines")
    }

    /// `key = value` lines of a fixture's EXPECTED file; `none` is `None`.
    fn expected(dir: &Path) -> BTreeMap<String, Option<String>> {
        let text = std::fs::read_to_string(dir.join("EXPECTED")).unwrap();
        text.lines()
            .filter_map(|l| l.split('#').next())
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                let v = v.trim();
                (k.trim().to_string(), (v != "none").then(|| v.to_string()))
            })
            .collect()
    }

    fn num(v: Option<u64>) -> Option<String> {
        v.map(|n| n.to_string())
    }

    /// Every fixture tree, taken from a real layout, gives the figures its EXPECTED file names.
    #[test]
    fn fixture_machines_match_their_expected_figures() {
        let mut checked = 0;
        for entry in std::fs::read_dir(fixtures()).unwrap() {
            let dir = entry.unwrap().path();
            let want = expected(&dir);
            let got = probe_procfs(&SystemRoot::new(&dir));
            let cg = got.cgroup.as_ref();
            let binding = cg.and_then(|c| c.binding.as_ref());
            let actual: BTreeMap<String, Option<String>> = [
                ("mem_total", num(got.total)),
                ("mem_available", num(meminfo_available(&dir))),
                ("swap_total", num(got.swap_total)),
                ("swap_free", num(got.swap_free)),
                ("cgroup_version", cg.map(|c| c.version.to_string())),
                (
                    "cgroup_limit",
                    num(cg.and_then(|c| c.limit.as_ref()).map(|l| l.bytes)),
                ),
                (
                    "cgroup_soft_limit",
                    num(cg.and_then(|c| c.soft_limit.as_ref()).map(|l| l.bytes)),
                ),
                ("cgroup_limit_path", binding.map(|l| l.cgroup.clone())),
                ("cgroup_usage", num(cg.and_then(|c| c.usage))),
                (
                    "cgroup_inactive_file",
                    num(cg.and_then(|c| c.inactive_file)),
                ),
                ("cgroup_headroom", num(cg.and_then(|c| c.headroom))),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            assert_eq!(actual, want, "fixture {}", dir.display());
            checked += 1;
        }
        assert!(checked >= 11, "only {checked} fixtures");
    }

    fn meminfo_available(dir: &Path) -> Option<u64> {
        let text = std::fs::read_to_string(dir.join("proc/meminfo")).ok()?;
        meminfo::parse_meminfo(&text).available
    }

    #[test]
    fn the_budget_is_the_smaller_of_available_and_headroom() {
        let limited = probe_procfs(&SystemRoot::new(fixtures().join("v1-bind-mount")));
        assert_eq!(limited.budget, Some(1191182336));
        assert!(matches!(limited.bounded_by, BudgetSource::Cgroup(ref l) if l.bytes == 1610612736));
        let soft = probe_procfs(&SystemRoot::new(fixtures().join("v2-nested")));
        assert!(matches!(soft.bounded_by, BudgetSource::Cgroup(ref l) if l.file == "memory.high"));
        let unlimited = probe_procfs(&SystemRoot::new(fixtures().join("v1-nested-unlimited")));
        assert_eq!(unlimited.bounded_by, BudgetSource::Available);
        assert_eq!(unlimited.budget, unlimited.available);
        let old = probe_procfs(&SystemRoot::new(fixtures().join("meminfo-old-kernel")));
        assert_eq!(old.bounded_by, BudgetSource::AvailableEstimate);
        assert!(old.budget.is_some());
        assert!(old.problems.is_empty(), "{:?}", old.problems);
    }

    /// The odd machines (tests/fixtures/machines/odd-*): each problem is one line naming the
    /// file and what was expected, told once, and only a cgroup really over its limit ends in a
    /// budget of 0.
    #[test]
    fn odd_machines_note_each_problem_once_and_never_budget_zero() {
        let cases: [(&str, &[&str]); 8] = [
            (
                "odd-no-mountinfo",
                &["cannot read mounts (/proc/self/mountinfo:"],
            ),
            (
                "odd-empty-limit",
                &[r#"/sys/fs/cgroup/memory.max holds "", not a number of bytes or `max`; it is ignored"#],
            ),
            (
                "odd-truncated",
                &["/proc/self/mountinfo lists no cgroup mount; looking for cgroups at the usual /sys/fs/cgroup"],
            ),
            (
                "odd-garbage",
                &[
                    r#"/sys/fs/cgroup/memory/memory.usage_in_bytes holds "lots", not a number"#,
                    r#"/sys/fs/cgroup/memory/memory.limit_in_bytes holds "\0\0"#,
                ],
            ),
            (
                "odd-limit-zero",
                &["/sys/fs/cgroup/memory.max is 0, which no running process could live under; this limit is ignored"],
            ),
            ("odd-usage-over-limit", &[]),
            ("odd-swap-only-v1", &[]),
            ("odd-swap-only-v2", &[]),
        ];
        for (name, want) in cases {
            let got = probe_procfs(&SystemRoot::new(fixtures().join(name)));
            assert_eq!(got.problems.len(), want.len(), "{name}: {:?}", got.problems);
            for (problem, start) in got.problems.iter().zip(want) {
                assert!(problem.starts_with(start), "{name}: {problem}");
                assert!(!problem.contains('\n'), "{name}: {problem}");
            }
            let zero_is_real = name == "odd-usage-over-limit";
            assert_eq!(
                got.budget == Some(0),
                zero_is_real,
                "{name}: {:?}",
                got.budget
            );
        }
    }

    /// A build script under a running cargo in a limited cgroup: what cargo and its rustc hold
    /// is this build's own, so it is added back to the headroom (and said).
    #[test]
    fn this_builds_own_processes_are_not_counted_as_taken() {
        let root = std::env::temp_dir().join(format!("lowmem-probe-build-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        copy_tree(&fixtures().join("v1-bind-mount"), &root);
        copy_tree(&fixtures().join("../builds/cargo-running"), &root);
        let got = probe_procfs(&SystemRoot::new(&root));
        let own = (5900 + 85448 + 140) * 1024;
        assert_eq!(got.this_build.as_ref().map(|b| b.anon), Some(own));
        assert_eq!(got.this_build.as_ref().map(|b| b.processes), Some(3));
        assert_eq!(got.budget, Some(1191182336 + own));
        assert!(matches!(got.bounded_by, BudgetSource::Cgroup(_)));
        // The governor's frequent probe skips the walk: the same machine, nothing added.
        let free = probe_procfs_with(&SystemRoot::new(&root), false);
        assert_eq!(free.this_build, None);
        assert_eq!(free.budget, Some(1191182336));
        assert_eq!(free.cgroup, got.cgroup);
        std::fs::remove_dir_all(&root).unwrap();
        // Without a running cargo nothing is added.
        let alone = probe_procfs(&SystemRoot::new(fixtures().join("v1-bind-mount")));
        assert_eq!(alone.this_build, None);
        assert_eq!(alone.budget, Some(1191182336));
    }

    fn copy_tree(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }

    #[test]
    fn a_missing_tree_is_unknown_not_a_panic() {
        let none = probe_procfs(&SystemRoot::new("/nonexistent/lowmem_build"));
        assert_eq!(none.budget, None);
        assert_eq!(none.bounded_by, BudgetSource::Unknown);
        assert_eq!(none.problems.len(), 1, "{:?}", none.problems);
        assert!(none.problems[0].contains("/proc/meminfo"));
    }
}
