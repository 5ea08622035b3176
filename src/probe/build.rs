//! This build's own running processes: the cargo that runs the build script and everything it
//! started (rustc, other build scripts), so that the budget does not count memory this very
//! build holds as taken by something else.

use super::fs::SystemRoot;

/// The running build around the build script, as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThisBuild {
    /// cargo's process id.
    pub cargo_pid: u32,
    /// How many processes cargo and its descendants are (cargo included).
    pub processes: u32,
    /// Their summed anonymous memory (`RssAnon`), bytes.
    pub anon: u64,
}

/// Processes deeper than this under cargo are not followed (a loop in a corrupt /proc, or a
/// build script that forks without end, must not keep the check busy).
const MAX_PROCESSES: usize = 4096;

/// cargo and its descendants when this process is a build script cargo started (its parent is
/// named `cargo`), else `None`.
pub(crate) fn this_build(root: &SystemRoot) -> Option<ThisBuild> {
    let own = root.read("/proc/self/status").ok()?;
    let cargo_pid: u32 = field(&own, "PPid:")?.parse().ok()?;
    let cargo = root.read(&format!("/proc/{cargo_pid}/status")).ok()?;
    if field(&cargo, "Name:")? != "cargo" {
        return None;
    }
    let mut seen = vec![cargo_pid];
    let mut anon_kib = kib(&cargo, "RssAnon:");
    let mut next = 0;
    while next < seen.len() && seen.len() < MAX_PROCESSES {
        let pid = seen[next];
        next += 1;
        for child in children(root, pid) {
            if seen.contains(&child) {
                continue;
            }
            if let Ok(status) = root.read(&format!("/proc/{child}/status")) {
                anon_kib += kib(&status, "RssAnon:");
                seen.push(child);
            }
        }
    }
    Some(ThisBuild {
        cargo_pid,
        processes: seen.len() as u32,
        anon: anon_kib.saturating_mul(1024),
    })
}

/// Where the cargo running this build script was started (`/proc/<cargo>/cwd`): in a
/// dependency's build script, the way back to the workspace being built. `None` when the parent
/// is not cargo or the link cannot be read.
pub(crate) fn cargo_cwd(root: &SystemRoot) -> Option<std::path::PathBuf> {
    let own = root.read("/proc/self/status").ok()?;
    let cargo_pid: u32 = field(&own, "PPid:")?.parse().ok()?;
    let cargo = root.read(&format!("/proc/{cargo_pid}/status")).ok()?;
    if field(&cargo, "Name:")? != "cargo" {
        return None;
    }
    std::fs::read_link(root.path(&format!("/proc/{cargo_pid}/cwd"))).ok()
}

/// The children of every thread of `pid` (cargo starts rustc from several threads).
fn children(root: &SystemRoot, pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(root.path(&format!("/proc/{pid}/task"))) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = super::fs::read_small(&task.path().join("children")) {
            found.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(str::trim)
}

fn kib(status: &str, name: &str) -> u64 {
    field(status, name)
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture(name: &str) -> SystemRoot {
        SystemRoot::new(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/builds")
                .join(name),
        )
    }

    /// Taken from a real build: cargo, a rustc and the build script itself.
    #[test]
    fn a_real_build_counts_cargo_and_what_it_started() {
        let build = this_build(&fixture("cargo-running")).unwrap();
        assert_eq!(build.cargo_pid, 13244);
        assert_eq!(build.processes, 3);
        assert_eq!(build.anon, (5900 + 85448 + 140) * 1024);
    }

    #[test]
    fn not_under_cargo_is_none() {
        assert_eq!(this_build(&fixture("no-such-tree")), None);
        // The machine fixtures have a /proc/self without a cargo parent.
        let machines = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/machines");
        assert_eq!(
            this_build(&SystemRoot::new(machines.join("v2-nested"))),
            None
        );
    }
}
