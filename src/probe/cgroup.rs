//! Reading the container memory limit that applies to this process: its cgroup from
//! `/proc/self/cgroup`, the hierarchy's mount from `/proc/self/mountinfo`, then every ancestor's
//! limit (cgroup v1 and v2, hybrid, bind mounts and cgroup namespaces).

use super::fs::SystemRoot;

/// v1 writes "unlimited" as i64::MAX rounded down to the page size (9223372036854771712 with
/// 4 KiB pages); anything this large is no real limit.
pub(crate) const UNLIMITED_FLOOR: u64 = 1 << 62;

/// The memory cgroup of this process and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupMemory {
    /// 1 or 2.
    pub version: u8,
    /// The process's cgroup, as /proc/self/cgroup names it.
    pub path: String,
    /// The smallest hard limit over the cgroup and its ancestors (v2 `memory.max`, v1
    /// `memory.limit_in_bytes` or `hierarchical_memory_limit`); `None` when unlimited.
    pub limit: Option<CgroupLimit>,
    /// The smallest v2 `memory.high` (throttling starts there); `None` when unset.
    pub soft_limit: Option<CgroupLimit>,
    /// The cgroup's usage (`memory.current` / `memory.usage_in_bytes`).
    pub usage: Option<u64>,
    /// Its `inactive_file` (page cache the kernel reclaims first).
    pub inactive_file: Option<u64>,
    /// What is left under the limits: limit - (usage - inactive_file) of the cgroup that sets
    /// it, smallest over the limited ancestors; `None` when there is no limit.
    pub headroom: Option<u64>,
    /// The limit that leaves the smallest headroom: the one that binds.
    pub binding: Option<CgroupLimit>,
}

/// One limit and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupLimit {
    /// The limit in bytes.
    pub bytes: u64,
    /// The cgroup that sets it, as a path in the hierarchy.
    pub cgroup: String,
    /// The file it was read from (`memory.max`, `memory.high`, `memory.limit_in_bytes`,
    /// `memory.stat:hierarchical_memory_limit`).
    pub file: &'static str,
}

/// One line of /proc/self/cgroup: `hierarchy-ID:controller-list:cgroup-path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupLine {
    pub(crate) hierarchy: String,
    pub(crate) controllers: Vec<String>,
    pub(crate) path: String,
}

/// Parses /proc/self/cgroup; malformed lines are skipped.
pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let hierarchy = parts.next()?.trim().to_string();
            let controllers = parts.next()?;
            let path = parts.next()?.trim();
            if !path.starts_with('/') {
                return None;
            }
            Some(CgroupLine {
                hierarchy,
                controllers: controllers
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// One mount of a cgroup hierarchy, from /proc/self/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// The path inside the hierarchy that is mounted (not `/` for bind mounts).
    pub(crate) root: String,
    /// Where it is mounted.
    pub(crate) mount_point: String,
    /// `cgroup` (v1) or `cgroup2`.
    pub(crate) fstype: String,
    /// Super options; for v1 they name the controllers (`rw,memory`).
    pub(crate) super_options: Vec<String>,
}

/// Parses the cgroup mounts out of /proc/self/mountinfo; other mounts and malformed lines are
/// skipped.
///
/// A line is `id parent major:minor root mount-point options [optional fields...] - fstype
/// source super-options`; paths escape space, tab, newline and backslash as octal (`\040`).
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mut fields = before.split_whitespace();
            let root = fields.nth(3)?;
            let mount_point = fields.next()?;
            // The kernel writes both as absolute paths; anything else is a line cut short.
            if !root.starts_with('/') || !mount_point.starts_with('/') {
                return None;
            }
            let mut after = after.split_whitespace();
            let fstype = after.next()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            let super_options = after.nth(1).unwrap_or("");
            Some(CgroupMount {
                root: unescape_octal(root),
                mount_point: unescape_octal(mount_point),
                fstype: fstype.to_string(),
                super_options: super_options.split(',').map(str::to_string).collect(),
            })
        })
        .collect()
}

/// Undoes mountinfo's `\ooo` escapes.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let code = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (b, code) {
            (b'\\', Some(code)) => {
                out.push(code);
                i += 4;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cgroup value file: a number, or `max` / the v1 sentinel for "unlimited".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CgroupValue {
    Bytes(u64),
    Unlimited,
}

/// Parses a cgroup value file such as memory.max (`max`, `2147483648`).
pub(crate) fn parse_value(text: &str) -> Option<CgroupValue> {
    let text = text.trim();
    if text == "max" {
        return Some(CgroupValue::Unlimited);
    }
    match text.parse::<u64>().ok()? {
        n if n >= UNLIMITED_FLOOR => Some(CgroupValue::Unlimited),
        n => Some(CgroupValue::Bytes(n)),
    }
}

/// The key/value pairs of a `memory.stat` file, in file order (a few dozen: a list will do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Stat(Vec<(String, u64)>);

impl Stat {
    /// The value of `key` (the last, if the file repeats it).
    pub(crate) fn get(&self, key: &str) -> Option<&u64> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// How many pairs were read.
    #[cfg(any(test, feature = "unstable-internals"))]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The keys, in file order.
    #[cfg(any(test, feature = "unstable-internals"))]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }
}

/// Parses a `memory.stat` file into its key/value pairs; lines that are not `key number` are
/// skipped.
pub(crate) fn parse_stat(text: &str) -> Stat {
    Stat(
        text.lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let key = parts.next()?;
                let value = parts.next()?.parse().ok()?;
                Some((key.to_string(), value))
            })
            .collect(),
    )
}

/// The hierarchy that holds the memory controller, and where this process sits in it.
pub(crate) struct Hierarchy {
    version: u8,
    pub(crate) mount: CgroupMount,
    pub(crate) path: String,
}

/// Picks the memory hierarchy: v1 when a v1 hierarchy has the memory controller (also on hybrid
/// systems, where the v2 tree has no memory files), else the v2 unified one.
pub(crate) fn find_hierarchy(lines: &[CgroupLine], mounts: &[CgroupMount]) -> Option<Hierarchy> {
    let v1_line = lines
        .iter()
        .find(|l| l.controllers.iter().any(|c| c == "memory"));
    // A later mount on the same point hides an earlier one: prefer the last.
    let v1_mount = mounts
        .iter()
        .rev()
        .find(|m| m.fstype == "cgroup" && m.super_options.iter().any(|o| o == "memory"));
    if let (Some(line), Some(mount)) = (v1_line, v1_mount) {
        return Some(Hierarchy {
            version: 1,
            mount: mount.clone(),
            path: line.path.clone(),
        });
    }
    let v2_line = lines
        .iter()
        .find(|l| l.hierarchy == "0" && l.controllers.is_empty())?;
    let v2_mount = mounts.iter().rev().find(|m| m.fstype == "cgroup2")?;
    Some(Hierarchy {
        version: 2,
        mount: v2_mount.clone(),
        path: v2_line.path.clone(),
    })
}

/// The conventional mounts that exist under `root`, used only when /proc/self/mountinfo cannot
/// be read or names no cgroup mount.
fn conventional_mounts(root: &SystemRoot) -> Vec<CgroupMount> {
    let mount = |mount_point: &str, fstype: &str, options: &[&str]| CgroupMount {
        root: "/".to_string(),
        mount_point: mount_point.to_string(),
        fstype: fstype.to_string(),
        super_options: options.iter().map(|o| o.to_string()).collect(),
    };
    vec![
        mount("/sys/fs/cgroup/memory", "cgroup", &["rw", "memory"]),
        mount("/sys/fs/cgroup", "cgroup2", &["rw"]),
    ]
    .into_iter()
    .filter(|m| root.path(&m.mount_point).is_dir())
    .collect()
}

/// One directory on the walk from the process's cgroup up to the mount's root.
pub(crate) struct Level {
    /// Absolute directory (under the system root).
    pub(crate) dir: String,
    /// The cgroup path it stands for.
    pub(crate) cgroup: String,
}

/// The directories from the process's cgroup up to the top of what is mounted.
///
/// The process's path is relative to the hierarchy's root; the mount shows `mount.root` of it.
/// With a bind mount (root not `/`) the path starts with that root, which is stripped. When it
/// does not (cgroup namespaces show `/`), the mount point itself is the process's cgroup.
pub(crate) fn levels(mount: &CgroupMount, path: &str) -> Vec<Level> {
    let root = mount.root.trim_end_matches('/');
    let relative = if root.is_empty() {
        path
    } else {
        match path.strip_prefix(root) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => "",
        }
    };
    let mut parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
    let mut out = Vec::new();
    loop {
        let suffix: String = parts.iter().map(|p| format!("/{p}")).collect();
        let cgroup = format!("{root}{suffix}");
        out.push(Level {
            dir: format!("{}{}", mount.mount_point.trim_end_matches('/'), suffix),
            cgroup: if cgroup.is_empty() {
                "/".to_string()
            } else {
                cgroup
            },
        });
        if parts.pop().is_none() {
            break;
        }
    }
    out
}

/// Reads the memory cgroup of this process under `root`. `None` when the process is in no
/// memory cgroup (or the files are missing); problems worth telling go to `problems`.
pub(crate) fn read_cgroup(root: &SystemRoot, problems: &mut Vec<String>) -> Option<CgroupMemory> {
    let proc_cgroup = match root.read("/proc/self/cgroup") {
        Ok(text) => text,
        Err(e) => {
            if root.path("/proc/self").exists() {
                problems.push(format!(
                    "cannot read the process's cgroup ({e}); container limits are unknown"
                ));
            }
            return None;
        }
    };
    let lines = parse_proc_cgroup(&proc_cgroup);
    let mounts = match root.read("/proc/self/mountinfo") {
        Ok(text) => parse_mountinfo(&text),
        Err(e) => {
            problems.push(format!(
                "cannot read mounts ({e}); looking for cgroups at the usual /sys/fs/cgroup"
            ));
            conventional_mounts(root)
        }
    };
    // An empty or truncated mountinfo names no cgroup mount at all, though the process is in a
    // cgroup: look where they usually are rather than report no limit.
    let mounts = if mounts.is_empty() && !lines.is_empty() {
        problems.push(
            "/proc/self/mountinfo lists no cgroup mount; looking for cgroups at the usual /sys/fs/cgroup"
                .to_string(),
        );
        conventional_mounts(root)
    } else {
        mounts
    };
    let hierarchy = find_hierarchy(&lines, &mounts)?;
    Some(read_limits(root, &hierarchy, problems))
}

/// Adds `problem` unless it is already there (a file read at two levels is told once).
fn tell(problems: &mut Vec<String>, problem: String) {
    if !problems.contains(&problem) {
        problems.push(problem);
    }
}

/// The first characters of a bad value, quoted on one line.
fn quoted(text: &str) -> String {
    let cut: String = text.trim().chars().take(40).collect();
    format!("{cut:?}")
}

/// The names of one version's files.
struct Files {
    limit: &'static str,
    usage: &'static str,
    inactive: &'static [&'static str],
}

const V1: Files = Files {
    limit: "memory.limit_in_bytes",
    usage: "memory.usage_in_bytes",
    inactive: &["total_inactive_file", "inactive_file"],
};
const V2: Files = Files {
    limit: "memory.max",
    usage: "memory.current",
    inactive: &["inactive_file"],
};

/// Walks the levels, collecting the smallest hard and soft limits and the headroom under them.
///
/// A value file that is there but holds no number (empty, cut short, garbage) is ignored with a
/// problem naming it, as is a limit of 0: no running process lives under it, so it is a broken
/// or emulated cgroupfs (a budget of 0 would fail a deny build because of a probe problem).
fn read_limits(
    root: &SystemRoot,
    hierarchy: &Hierarchy,
    problems: &mut Vec<String>,
) -> CgroupMemory {
    let files = if hierarchy.version == 1 { &V1 } else { &V2 };
    let read_value = |dir: &str, file: &str, problems: &mut Vec<String>| {
        let path = format!("{dir}/{file}");
        let text = root.read(&path).ok()?;
        match parse_value(&text) {
            Some(CgroupValue::Bytes(0)) if file != files.usage => {
                tell(
                    problems,
                    format!("{path} is 0, which no running process could live under; this limit is ignored"),
                );
                None
            }
            None => {
                tell(
                    problems,
                    format!(
                        "{path} holds {}, not a number of bytes or `max`; it is ignored",
                        quoted(&text)
                    ),
                );
                None
            }
            value => value,
        }
    };
    let read_stat = |dir: &str| {
        root.read(&format!("{dir}/memory.stat"))
            .map(|t| parse_stat(&t))
            .unwrap_or_default()
    };
    let inactive_of = |stat: &Stat| files.inactive.iter().find_map(|k| stat.get(k).copied());

    let levels = levels(&hierarchy.mount, &hierarchy.path);
    let leaf_dir = levels.first().map(|l| l.dir.clone()).unwrap_or_default();
    let leaf_stat = read_stat(&leaf_dir);
    let usage = match read_value(&leaf_dir, files.usage, problems) {
        Some(CgroupValue::Bytes(n)) => Some(n),
        _ => None,
    };
    let inactive_file = inactive_of(&leaf_stat);
    let in_use = |u: Option<u64>, i: Option<u64>| u.map(|u| u.saturating_sub(i.unwrap_or(0)));

    let mut limit: Option<CgroupLimit> = None;
    let mut soft_limit: Option<CgroupLimit> = None;
    let mut headroom: Option<u64> = None;
    let mut binding: Option<CgroupLimit> = None;
    let mut consider = |found: CgroupLimit, level_in_use: Option<u64>, soft: bool| {
        let room = found
            .bytes
            .saturating_sub(level_in_use.or(in_use(usage, inactive_file)).unwrap_or(0));
        if headroom.map_or(true, |h| room < h) {
            headroom = Some(room);
            binding = Some(found.clone());
        }
        let slot = if soft { &mut soft_limit } else { &mut limit };
        if slot.as_ref().map_or(true, |s| found.bytes < s.bytes) {
            *slot = Some(found);
        }
    };

    for level in &levels {
        let hard = read_value(&level.dir, files.limit, problems);
        let high = if hierarchy.version == 2 {
            read_value(&level.dir, "memory.high", problems)
        } else {
            None
        };
        if !matches!(hard, Some(CgroupValue::Bytes(_)))
            && !matches!(high, Some(CgroupValue::Bytes(_)))
        {
            continue;
        }
        let level_in_use = in_use(
            match read_value(&level.dir, files.usage, problems) {
                Some(CgroupValue::Bytes(n)) => Some(n),
                _ => None,
            },
            inactive_of(&read_stat(&level.dir)),
        );
        for (value, file, soft) in [(hard, files.limit, false), (high, "memory.high", true)] {
            if let Some(CgroupValue::Bytes(bytes)) = value {
                let cgroup = level.cgroup.clone();
                consider(
                    CgroupLimit {
                        bytes,
                        cgroup,
                        file,
                    },
                    level_in_use,
                    soft,
                );
            }
        }
    }
    // v1 sums the hierarchy up for us, including ancestors a bind mount hides.
    if hierarchy.version == 1 {
        if let Some(&bytes) = leaf_stat.get("hierarchical_memory_limit") {
            if bytes == 0 {
                tell(
                    problems,
                    format!("{leaf_dir}/memory.stat: hierarchical_memory_limit is 0, which no running process could live under; it is ignored"),
                );
            } else if bytes < UNLIMITED_FLOOR {
                let cgroup = hierarchy.path.clone();
                let file = "memory.stat:hierarchical_memory_limit";
                consider(
                    CgroupLimit {
                        bytes,
                        cgroup,
                        file,
                    },
                    None,
                    false,
                );
            }
        }
    }
    CgroupMemory {
        version: hierarchy.version,
        path: hierarchy.path.clone(),
        limit,
        soft_limit,
        usage,
        inactive_file,
        headroom,
        binding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_v2_and_hybrid_cgroup_lines() {
        let lines = parse_proc_cgroup(
            "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/user.slice\nbroken\n3:x:relative\n",
        );
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].controllers, ["memory"]);
        assert_eq!(lines[1].controllers, ["cpu", "cpuacct"]);
        assert_eq!(lines[3].hierarchy, "0");
        assert!(lines[3].controllers.is_empty());
        assert_eq!(lines[3].path, "/user.slice");
    }

    #[test]
    fn parses_cgroup_mounts_with_optional_fields_and_escapes() {
        let mounts = parse_mountinfo(
            "35 31 0:32 /docker/a\\040b /sys/fs/cgroup/memory rw,nosuid shared:17 master:3 - cgroup cgroup rw,memory\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n\
             22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
             garbage line\n",
        );
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].root, "/docker/a b");
        assert_eq!(mounts[0].mount_point, "/sys/fs/cgroup/memory");
        assert!(mounts[0].super_options.contains(&"memory".to_string()));
        assert_eq!(mounts[1].fstype, "cgroup2");
        assert_eq!(unescape_octal("a\\134b\\9"), "a\\b\\9");
    }

    #[test]
    fn mountinfo_lines_with_relative_paths_are_skipped() {
        // Found by the cgroup fuzz target: with a field missing, the mount options were read
        // as the root and an optional field as the mount point.
        let mounts = parse_mountinfo(
            "23 29 group/perf_event ro,nosuid master:/sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
        );
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].mount_point, "/sys/fs/cgroup/unified");
    }

    #[test]
    fn values_and_sentinels() {
        assert_eq!(parse_value("max\n"), Some(CgroupValue::Unlimited));
        assert_eq!(
            parse_value("9223372036854771712"),
            Some(CgroupValue::Unlimited)
        );
        assert_eq!(
            parse_value("2147483648\n"),
            Some(CgroupValue::Bytes(2147483648))
        );
        assert_eq!(parse_value("0"), Some(CgroupValue::Bytes(0)));
        assert_eq!(parse_value(""), None);
        assert_eq!(parse_value("-1"), None);
        assert_eq!(parse_value("12 34"), None);
        let stat = parse_stat("cache 5\ninactive_file 7\nbad\nx y\n");
        assert_eq!(stat.get("inactive_file"), Some(&7));
        assert_eq!(stat.len(), 2);
    }

    #[test]
    fn levels_strip_bind_mount_roots_and_walk_up() {
        let mount = |root: &str| CgroupMount {
            root: root.to_string(),
            mount_point: "/sys/fs/cgroup".to_string(),
            fstype: "cgroup2".to_string(),
            super_options: vec![],
        };
        let dirs = |m: &CgroupMount, p: &str| -> Vec<(String, String)> {
            levels(m, p)
                .into_iter()
                .map(|l| (l.dir, l.cgroup))
                .collect()
        };
        assert_eq!(
            dirs(&mount("/"), "/a/b"),
            [
                ("/sys/fs/cgroup/a/b".to_string(), "/a/b".to_string()),
                ("/sys/fs/cgroup/a".to_string(), "/a".to_string()),
                ("/sys/fs/cgroup".to_string(), "/".to_string()),
            ]
        );
        assert_eq!(
            dirs(&mount("/docker/x"), "/docker/x/build"),
            [
                (
                    "/sys/fs/cgroup/build".to_string(),
                    "/docker/x/build".to_string()
                ),
                ("/sys/fs/cgroup".to_string(), "/docker/x".to_string()),
            ]
        );
        // A namespace shows `/` while the mount root is elsewhere: the mount point is ours.
        assert_eq!(
            dirs(&mount("/docker/x"), "/"),
            [("/sys/fs/cgroup".to_string(), "/docker/x".to_string())]
        );
        // A prefix that is not a whole component is not a match.
        assert_eq!(dirs(&mount("/docker/x"), "/docker/xy").len(), 1);
    }
}
