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

/// How many samples pass between two searches for new descendants.
pub const FIND_EVERY: u32 = 4;

/// What `pid` and all its descendants hold now; zeros when it is gone.
pub fn tree(root: u32) -> Memory {
    Tree::new(root).sample(true)
}

/// A process tree sampled again and again. Finding the descendants means reading a file per
/// thread of each process (rustc runs a dozen), so the wrappers look for new ones only every
/// few samples and read the known ones' figures in between.
pub struct Tree {
    root: u32,
    descendants: Vec<u32>,
}

impl Tree {
    pub fn new(root: u32) -> Tree {
        Tree {
            root,
            descendants: Vec::new(),
        }
    }

    /// The root and the descendants found at the last search.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.root];
        pids.extend(&self.descendants);
        pids
    }

    /// Whether the last search found any descendant (the linker, under rustc).
    pub fn has_descendants(&self) -> bool {
        !self.descendants.is_empty()
    }

    /// What the tree holds now; `find` looks for descendants anew first.
    pub fn sample(&mut self, find: bool) -> Memory {
        if find {
            let mut found = children(self.root);
            let mut next = 0;
            while next < found.len() {
                let more = children(found[next]);
                found.extend(more);
                next += 1;
            }
            self.descendants = found;
        }
        let mut memory = Memory::default();
        let Some((anon, rss)) = status_kib(self.root) else {
            return memory;
        };
        memory.anon_kib = anon;
        memory.rss_kib = rss;
        self.descendants.retain(|&pid| match status_kib(pid) {
            Some((anon, rss)) => {
                memory.anon_kib += anon;
                memory.rss_kib += rss;
                memory.children_rss_kib += rss;
                true
            }
            None => false,
        });
        memory
    }
}

/// The user and system CPU time of one process so far, ms (fields 14 and 15 of
/// /proc/<pid>/stat, in clock ticks of 1/100 s, as Linux reports them to user space); `None`
/// when it is gone.
pub fn cpu_ms(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) * 10)
}

/// `pid` and all its descendants now, the root first.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    let mut i = 0;
    while i < pids.len() {
        pids.extend(children(pids[i]));
        i += 1;
    }
    pids
}

/// `RssAnon` and `VmRSS` of one process, KiB; `None` when it is gone.
fn status_kib(pid: u32) -> Option<(u64, u64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some((
        field_kib(&status, "RssAnon:").unwrap_or(0),
        field_kib(&status, "VmRSS:").unwrap_or(0),
    ))
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
