//! /proc/meminfo, /proc/self/cgroup, mountinfo and the cgroup value and stat files.

use super::*;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn meminfo_never_panics(
        text in soup(&["MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached", "SwapTotal",
                       ":", " kB", " MB", "18446744073709551615", "1", "\n"])
    ) {
        meminfo(text.as_bytes());
    }

    /// Each known key takes the value of its last line, in bytes (`kB` times 1024, no unit as
    /// is, another unit or an overflow none); unknown keys and lines without a colon are skipped.
    #[test]
    fn meminfo_reads_generated_lines(
        lines in prop::collection::vec((
            prop::sample::select(&["MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached",
                                   "SwapTotal", "SwapFree", "HugePages_Total", "Active(file)"][..]),
            edgy_u64(),
            prop::sample::select(&[" kB", "", " MB"][..]),
            prop::sample::select(&[" ", "    ", "\t"][..]),
            any::<bool>(),
        ), 0..24)
    ) {
        let mut text = String::new();
        let mut expected: BTreeMap<&str, Option<u64>> = BTreeMap::new();
        for &(key, number, unit, gap, junk_after) in &lines {
            text.push_str(&format!("{key}:{gap}{number}{unit}\n"));
            if junk_after {
                text.push_str("no colon here 12 kB\n");
            }
            let bytes = match unit {
                " kB" => number.checked_mul(1024),
                "" => Some(number),
                _ => None,
            };
            expected.insert(key, bytes);
        }
        let info = meminfo::parse_meminfo(&text);
        let want = |key| expected.get(key).copied().flatten();
        prop_assert_eq!(info.total, want("MemTotal"));
        prop_assert_eq!(info.available, want("MemAvailable"));
        prop_assert_eq!(info.free, want("MemFree"));
        prop_assert_eq!(info.buffers, want("Buffers"));
        prop_assert_eq!(info.cached, want("Cached"));
        prop_assert_eq!(info.swap_total, want("SwapTotal"));
        prop_assert_eq!(info.swap_free, want("SwapFree"));
        meminfo(text.as_bytes());
    }

    #[test]
    fn cgroup_files_never_panic(
        text in soup(&["0::/", "12:memory:/", "cgroup", "cgroup2", " - ", "rw,memory", "\\040",
                       "\\", "/sys/fs/cgroup", " / ", "35 31 0:32 ", "shared:1 ", "/a/b", "\0"])
    ) {
        cgroup(text.as_bytes());
        cgroup_value(text.as_bytes());
    }

    #[test]
    fn cgroup_files_never_panic_on_any_bytes(data in bytes()) {
        cgroup(&data);
        cgroup_value(&data);
    }

    /// `N:controllers:/path` lines come back as written; lines without a `/` path are skipped.
    #[test]
    fn proc_cgroup_reads_generated_lines(
        lines in prop::collection::vec((
            0u32..20,
            prop::collection::vec(prop::sample::select(
                &["memory", "cpu", "cpuacct", "name=systemd", "pids"][..]), 0..3),
            prop::collection::vec(name(6), 0..4),
            any::<bool>(),
        ), 0..8)
    ) {
        let mut text = String::new();
        let mut expected = Vec::new();
        for (hierarchy, controllers, parts, absolute) in &lines {
            let path = parts.join("/");
            let path = if *absolute { format!("/{path}") } else { path };
            text.push_str(&format!("{hierarchy}:{}:{path}\n", controllers.join(",")));
            if path.starts_with('/') {
                let controllers: Vec<String> = controllers.iter().map(|c| c.to_string()).collect();
                expected.push((hierarchy.to_string(), controllers, path));
            }
        }
        let parsed: Vec<_> = cgroup::parse_proc_cgroup(&text)
            .into_iter()
            .map(|l| (l.hierarchy, l.controllers, l.path))
            .collect();
        prop_assert_eq!(parsed, expected);
    }

    /// mountinfo lines with optional fields and octal escapes: the cgroup mounts come back with
    /// their paths unescaped, other filesystems are skipped; the walk up from a cgroup below the
    /// mount holds.
    #[test]
    fn mountinfo_reads_generated_lines(
        mounts in prop::collection::vec((
            prop::collection::vec(path_part(), 0..3),
            prop::collection::vec(path_part(), 1..4),
            prop::collection::vec(prop::sample::select(
                &["shared:17", "master:3", "propagate_from:2", "unbindable"][..]), 0..3),
            prop::sample::select(&["cgroup", "cgroup2", "ext4", "tmpfs"][..]),
            prop::sample::select(&["rw,memory", "rw,nsdelegate", "rw,cpu,cpuacct", ""][..]),
        ), 0..6),
        below in prop::collection::vec(name(5), 0..4),
    ) {
        let mut mountinfo = String::new();
        let mut expected = Vec::new();
        for (id, (root, point, optional, fstype, options)) in mounts.iter().enumerate() {
            let root = format!("/{}", root.join("/"));
            let point = format!("/{}", point.join("/"));
            let optional: String = optional.iter().map(|o| format!(" {o}")).collect();
            mountinfo.push_str(&format!(
                "{} 1 0:{id} {} {} rw,nosuid{optional} - {fstype} {fstype} {options}\n",
                id + 20,
                escape_octal(&root),
                escape_octal(&point),
            ));
            if fstype.starts_with("cgroup") {
                expected.push((root, point, fstype.to_string()));
            }
        }
        let parsed: Vec<_> = cgroup::parse_mountinfo(&mountinfo)
            .into_iter()
            .map(|m| (m.root, m.mount_point, m.fstype))
            .collect();
        prop_assert_eq!(&parsed, &expected);
        let proc_cgroup = format!("7:memory:/{0}\n0::/{0}\n", below.join("/"));
        cgroup(format!("{proc_cgroup}\0{mountinfo}").as_bytes());
    }

    /// A number is a limit below the v1 "unlimited" sentinel and unlimited from it on; `max` is
    /// unlimited; memory.stat keeps each key's last value.
    #[test]
    fn cgroup_values_and_stats(
        n in edgy_u64(),
        blanks in prop::sample::select(&["", "\n", " \n", "\t"][..]),
        stat in prop::collection::vec((prop::sample::select(
            &["cache", "inactive_file", "total_inactive_file", "hierarchical_memory_limit"][..]),
            edgy_u64()), 0..8),
    ) {
        let expected = if n >= cgroup::UNLIMITED_FLOOR {
            cgroup::CgroupValue::Unlimited
        } else {
            cgroup::CgroupValue::Bytes(n)
        };
        prop_assert_eq!(cgroup::parse_value(&format!("{n}{blanks}")), Some(expected));
        prop_assert_eq!(
            cgroup::parse_value(&format!("max{blanks}")),
            Some(cgroup::CgroupValue::Unlimited)
        );
        let text: String = stat.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
        let want: BTreeMap<String, u64> = stat.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let parsed = cgroup::parse_stat(&text);
        prop_assert_eq!(parsed.len(), stat.len());
        for (key, value) in &want {
            prop_assert_eq!(parsed.get(key), Some(value));
        }
    }
}

/// A part of a mountinfo path, with the characters mountinfo escapes.
fn path_part() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(&['a', 'b', 'z', ' ', '\t', '\\', 'é', '-', '.'][..]);
    prop::collection::vec(chars, 1..6).prop_map(|c| c.into_iter().collect())
}

/// Escapes space, tab, newline and backslash as mountinfo does (`\040`).
fn escape_octal(path: &str) -> String {
    path.chars()
        .map(|c| match c {
            ' ' | '\t' | '\n' | '\\' => format!("\\{:03o}", c as u32),
            c => c.to_string(),
        })
        .collect()
}
