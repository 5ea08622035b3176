//! Sampling a process tree's anonymous memory from /proc while it runs: rustc and the
//! processes it starts (the C compiler driver and the linker).

use std::fs;

/// What a process tree holds now, KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Summed `RssAnon` of the tree (what the OOM killer is about).
    pub anon_kib: u64,
    /// Summed `VmRSS` of the tree.
    pub rss_kib: u64,
    /// Summed `VmRSS` of the descendants alone (the linker, the C compiler driver).
    pub children_rss_kib: u64,
}

/// The summed `RssAnon` (KiB) of `pid` and all its descendants now; 0 when it is gone.
pub fn tree_anon_kib(pid: u32) -> u64 {
    tree(pid).anon_kib
}

/// What `pid` and all its descendants hold now; zeros when it is gone.
pub fn tree(root: u32) -> Memory {
    let mut memory = Memory::default();
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        memory.anon_kib += field_kib(&status, "RssAnon:").unwrap_or(0);
        let rss = field_kib(&status, "VmRSS:").unwrap_or(0);
        memory.rss_kib += rss;
        if pid != root {
            memory.children_rss_kib += rss;
        }
        pending.extend(children(pid));
    }
    memory
}

/// A `Name:   1234 kB` field of /proc/<pid>/status.
pub fn field_kib(status: &str, name: &str) -> Option<u64> {
    let rest = status.lines().find_map(|l| l.strip_prefix(name))?;
    rest.trim().trim_end_matches("kB").trim().parse().ok()
}

/// The children of every thread of `pid` (rustc starts the linker from a worker thread).
pub fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return found;
    };
    for task in tasks.flatten() {
        if let Ok(list) = fs::read_to_string(task.path().join("children")) {
            found.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let status = "Name:\trustc\nVmHWM:\t  2048 kB\nRssAnon:\t  1024 kB\n";
        assert_eq!(field_kib(status, "RssAnon:"), Some(1024));
        assert_eq!(field_kib(status, "VmHWM:"), Some(2048));
        assert_eq!(field_kib(status, "RssFile:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_tree_with_a_child_counts_both() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let own = tree_anon_kib(std::process::id());
        assert!(own > 0);
        assert!(tree_anon_kib(child.id()) > 0);
        assert!(children(child.id()).len() == 1, "sleep is a child of sh");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(tree_anon_kib(child.id()), 0, "gone");
    }
}
