//! Property tests: the fuzz entry points on generated input, and what each parser must read out
//! of input generated in its own format. Arbitrary text finds panics near the surface; the
//! near-valid generators reach the code behind the first check.

use super::*;
use crate::features::rules::crate_key;
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;

/// Cases per property: the whole suite stays within a few seconds of a debug `cargo test`.
const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text made of `pieces` and any characters, so that arbitrary input still hits the tokens a
/// parser branches on.
fn soup(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(pieces).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
        1 => prop::sample::select(&["\n", " ", "\t", "\r\n", "\0", "\\"][..]).prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|parts| parts.concat())
}

/// Any bytes, valid UTF-8 or not.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..256)
}

/// A name made of the characters names are made of.
fn name(max: usize) -> impl Strategy<Value = String> {
    let chars = prop::sample::select(&['a', 'b', 'c', 'x', 'y', '-', '_', '0', '1'][..]);
    (
        prop::sample::select(&['a', 'b', 'p', 'x'][..]),
        prop::collection::vec(chars, 0..max),
    )
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect())
}

const UNITS: &[(&str, u32)] = &[
    ("", 0),
    ("B", 0),
    ("k", 10),
    ("KB", 10),
    ("Ki", 10),
    ("KiB", 10),
    ("m", 20),
    ("MB", 20),
    ("MiB", 20),
    ("g", 30),
    ("G", 30),
    ("GiB", 30),
    ("gib", 30),
    ("T", 40),
    ("TiB", 40),
];

/// Sizes near the edges the printing switches units at, and near `u64::MAX`.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (0u32..64, -2048i64..2048)
            .prop_map(|(shift, delta)| (1u64 << shift).checked_add_signed(delta).unwrap_or(0)),
        (0u64..1 << 32).prop_map(|below| u64::MAX - below),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn size_never_panics_on_any_bytes(data in bytes()) {
        size(&data);
    }

    #[test]
    fn size_never_panics_on_number_like_text(
        text in soup(&["1", "0", "9", ".", "5", "e", "E", "-", "+", "G", "iB", "K", "inf", "NaN",
                       "18446744073709551616", "99999999999999999999"])
    ) {
        size(text.as_bytes());
    }

    /// `<n><unit>` is n times the unit, `None` exactly when that overflows, whatever the blanks.
    #[test]
    fn size_of_whole_units_is_exact(
        n in edgy_u64(),
        (unit, shift) in prop::sample::select(UNITS),
        gap in prop::sample::select(&["", " ", "\t"][..]),
    ) {
        let text = format!(" {n}{gap}{unit} ");
        prop_assert_eq!(size::parse_size(&text), n.checked_mul(1 << shift), "{:?}", text);
    }

    /// `<n>.5<unit>` is n and a half units, rounded half up to whole bytes.
    #[test]
    fn size_with_a_half_rounds_half_up(
        n in 0u64..1 << 20,
        (unit, shift) in prop::sample::select(UNITS),
    ) {
        let expected = if shift == 0 { n + 1 } else { (2 * n + 1) << (shift - 1) };
        prop_assert_eq!(size::parse_size(&format!("{n}.5{unit}")), Some(expected));
        prop_assert_eq!(size::parse_size(&format!("{n}.0{unit}")), Some(n << shift));
    }

    /// A printed size parses back within the rounding of the unit it is printed in.
    #[test]
    fn printed_sizes_parse_back_within_their_rounding(n in edgy_u64()) {
        shown_size_round_trips(n);
        size(n.to_string().as_bytes());
    }

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
        prop_assert_eq!(cgroup::parse_stat(&text), want);
    }

    #[test]
    fn rustflags_never_panic(
        text in soup(&["-C", "-Z", "--codegen", "=", "debuginfo", "codegen-units", "lto",
                       "link-arg", "link-args", "-fuse-ld=", "-Wl,", "threads", "\x1f", "-g",
                       "-O", "opt-level", "linker", "split_debuginfo", "4294967296", "7"])
    ) {
        rustflags(text.as_bytes());
    }

    /// Generated flags in the joined, separate and `--codegen` forms among unrelated ones: the
    /// last valid value of each setting wins, as in rustc.
    #[test]
    fn rustflags_take_the_last_valid_flag(
        flags in prop::collection::vec((flag(), 0usize..3, any::<bool>()), 0..12)
    ) {
        let mut args: Vec<String> = Vec::new();
        let mut expected = rustflags::Rustflags::default();
        for (setting, form, unrelated_before) in &flags {
            if *unrelated_before {
                args.extend(["--cfg".to_string(), "feature=\"x\"".to_string()]);
            }
            let option = match setting {
                Flag::Debuginfo(text) => {
                    if let Some(level) = Debuginfo::parse(text) {
                        expected.debuginfo = Some(level);
                    }
                    format!("debuginfo={text}")
                }
                Flag::CodegenUnits(n) => {
                    expected.codegen_units = Some(*n);
                    format!("codegen-units={n}")
                }
                Flag::Lto(text) => {
                    expected.lto = Lto::parse(text);
                    format!("lto={text}")
                }
                Flag::Linker(linker) => {
                    expected.fuse_ld = Some(linker.to_string());
                    format!("link-arg=-fuse-ld={linker}")
                }
            };
            match form {
                0 => args.push(format!("-C{option}")),
                1 => args.extend(["-C".to_string(), option]),
                _ => args.push(format!("--codegen={option}")),
            }
        }
        prop_assert_eq!(rustflags::parse_encoded(&args.join("\x1f")), expected.clone());
        prop_assert_eq!(rustflags::parse_args(args.iter().map(String::as_str)), expected);
    }

    #[test]
    fn toml_never_panics_on_any_bytes(data in bytes()) {
        toml(&data);
        profile(&data);
    }

    #[test]
    fn toml_never_panics_on_toml_like_text(
        text in soup(&["[", "]", "[[", "]]", "{", "}", "=", ".", ",", "\"", "'", "\"\"\"", "'''",
                       "#", "\\", "\\u", "\\U0010FFFF", "\\x", "a", "key", "1", "0x", "1e5", "_",
                       "true", "inf", "nan", "1979-05-27", "T07:32:00", "Z", "+", "-", "\n"])
    ) {
        toml(text.as_bytes());
        profile(text.as_bytes());
    }

    /// A generated document of tables, dotted keys and scalar values reads back as generated.
    #[test]
    fn toml_reads_generated_documents(tables in toml_document()) {
        let text = render_document(&tables);
        let parsed = toml::parse(&text);
        prop_assert!(parsed.is_ok(), "{:?} in\n{}", parsed, text);
        let parsed = parsed.unwrap_or_default();
        for (header, entries) in &tables {
            for (key, value) in entries {
                let path: Vec<&str> = header.iter().chain(key).map(String::as_str).collect();
                prop_assert_eq!(toml::get_path(&parsed, &path), Some(&value.expected()), "{}", text);
            }
        }
        toml(text.as_bytes());
    }

    /// Profiles with `inherits` in any shape, cycles included, spread over a manifest, a config
    /// file and the environment: every chain ends at dev or release, and follows `inherits`
    /// (env over config over manifest) exactly when that reaches dev or release without a loop;
    /// every key resolves to the first profile on the chain that sets it.
    #[test]
    fn profiles_resolve_for_any_inherits_graph(set in prop::collection::vec(profile_setting(), 0..16)) {
        let mut sources: [BTreeMap<String, BTreeMap<&str, String>>; 3] = Default::default();
        for (source, profile, key, value) in &set {
            sources[*source].entry(profile.to_string()).or_default().insert(key, value.clone());
        }
        let render = |profiles: &BTreeMap<String, BTreeMap<&str, String>>| -> String {
            profiles
                .iter()
                .map(|(name, keys)| {
                    let body: String = keys.iter().map(|(k, v)| format!("{k} = {v:?}\n")).collect();
                    format!("[profile.{name}]\n{body}")
                })
                .collect()
        };
        let env_text: String = sources[2]
            .iter()
            .flat_map(|(name, keys)| keys.iter().map(move |(k, v)| {
                format!("CARGO_PROFILE_{}_{}={v}\n", crate::settings::env_name(name), crate::settings::env_name(k))
            }))
            .collect();
        let (manifest_text, config_text) = (render(&sources[0]), render(&sources[1]));
        profile(format!("{manifest_text}\0{config_text}\0{env_text}").as_bytes());

        let manifest = Loaded { path: "Cargo.toml".into(), table: toml::parse(&manifest_text).unwrap_or_default() };
        let configs = [Loaded { path: "config.toml".into(), table: toml::parse(&config_text).unwrap_or_default() }];
        let env = crate::env::Env::from_map(env_text.lines().filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), OsString::from(v))).collect());
        let profiles = Profiles { env: &env, configs: &configs, manifest: Some(&manifest) };
        // Env over config over manifest, for one profile's own key.
        let own = |profile: &str, key: &str| -> Option<String> {
            [2, 1, 0].iter().find_map(|&s| sources[s].get(profile)?.get(key).cloned())
        };
        for start in PROFILE_NAMES {
            let (chain, problem) = profiles.chain(start);
            let mut expected = vec![start.to_string()];
            let mut reaches = true;
            while !matches!(expected.last().map(String::as_str), Some("dev" | "release")) {
                let current = expected.last().cloned().unwrap_or_default();
                let parent = own(&current, "inherits").or_else(|| match current.as_str() {
                    "test" => Some("dev".to_string()),
                    "bench" => Some("release".to_string()),
                    _ => None,
                });
                match parent {
                    Some(parent) if !expected.contains(&parent) => expected.push(parent),
                    _ => { reaches = false; break; }
                }
            }
            if reaches {
                prop_assert_eq!(&chain, &expected);
                prop_assert_eq!(problem, None);
            } else {
                prop_assert_eq!(chain.last().map(String::as_str), Some("dev"));
                prop_assert!(problem.is_some());
            }
            for key in ["debug", "lto"] {
                let want = chain.iter().find_map(|p| own(p, key));
                let got = profiles.get(&chain, key).map(|(raw, _)| raw.text());
                prop_assert_eq!(got, want, "{} {:?}", key, chain);
            }
        }
    }

    #[test]
    fn cargo_tree_never_panics(
        text in soup(&["0", "1", "2", "3", "a", "b", " v1.0.0", " v", "|", ",", "x", "default",
                       " feature \"", "\"", " (*)", " (command-line)", " (proc-macro)", " (/ws/a)",
                       " (", ")", "\n", "\n1", "\n2", "\0"])
    ) {
        cargo_tree(text.as_bytes());
    }

    #[test]
    fn cargo_tree_never_panics_on_any_bytes(data in bytes()) {
        cargo_tree(&data);
    }

    /// A generated tree of package and feature lines: every line is read, each crate's enabled
    /// features are the union of the lists it was printed with, and explaining them holds.
    #[test]
    fn cargo_tree_reads_generated_trees(lines in prop::collection::vec(tree_line(), 1..40)) {
        let mut text = String::new();
        let mut depth = 0usize;
        let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (index, (up, line)) in lines.iter().enumerate() {
            // The first line is the root; each later one at most one level below the last.
            depth = if index == 0 { 0 } else { (depth + 1).saturating_sub(*up).max(1) };
            match line {
                TreeLine::Package { name, version, path, features, seen } => {
                    let source = if *path { format!(" (/ws/{name})") } else { String::new() };
                    let seen = if *seen { " (*)" } else { "" };
                    text.push_str(&format!("{depth}{name} v{version}{source}|{}{seen}\n", features.join(",")));
                    expected.entry(crate_key(name)).or_default().extend(features.iter().cloned());
                }
                TreeLine::Feature { name, feature, command_line } => {
                    let flag = if *command_line { " (command-line)" } else { "" };
                    text.push_str(&format!("{depth}{name} feature \"{feature}\"{flag}\n"));
                }
            }
        }
        let mut graph = tree::Graph::default();
        prop_assert_eq!(graph.add_forward(&text), lines.len());
        prop_assert_eq!(graph.enabled(), expected);
        cargo_tree(text.as_bytes());
        cargo_tree(format!("\0{text}").as_bytes());
    }

    #[test]
    fn words_never_panic(
        text in soup(&["0", "1", "2", ".", "70", "true", "false", "thin", "fat", "off", "deny",
                       "WARN", "line-tables-only", " "])
    ) {
        words(text.as_bytes());
        rustc_version(text.as_bytes());
    }

    /// The documented spellings read as documented, with blanks around; `rust-version`
    /// `a.b[.c]` reads as (a, b).
    #[test]
    fn words_read_their_documented_forms(
        blank in prop::sample::select(&["", " ", "\t", "\n"][..]),
        (major, minor, patch) in (any::<u32>(), any::<u32>(), prop::option::of(any::<u32>())),
        upper in any::<bool>(),
    ) {
        let pad = |s: &str| format!("{blank}{s}{blank}");
        for (text, level) in [("0", Debuginfo::None), ("none", Debuginfo::None),
                              ("line-tables-only", Debuginfo::LineTablesOnly),
                              ("line-directives-only", Debuginfo::LineDirectivesOnly),
                              ("limited", Debuginfo::Limited), ("1", Debuginfo::Limited),
                              ("true", Debuginfo::Full), ("2", Debuginfo::Full)] {
            prop_assert_eq!(Debuginfo::parse(&pad(text)), Some(level));
        }
        for (text, lto) in [("false", Lto::Off), ("off", Lto::Off), ("thin", Lto::Thin),
                            ("fat", Lto::Fat), ("true", Lto::Fat)] {
            prop_assert_eq!(Lto::parse(&pad(text)), Some(lto));
        }
        for policy in [Policy::Off, Policy::Warn, Policy::Deny] {
            let text = policy.to_string();
            let text = if upper { text.to_uppercase() } else { text };
            prop_assert_eq!(Policy::parse(&pad(&text)), Some(policy));
        }
        let version = match patch {
            Some(patch) => format!("{major}.{minor}.{patch}"),
            None => format!("{major}.{minor}"),
        };
        prop_assert_eq!(read::parse_rust_version(&pad(&version)), Some((major, minor)));
        prop_assert_eq!(read::parse_rust_version(&pad(&major.to_string())), Some((major, 0)));
    }

    /// Generated `rustc -vV` output reads back: version, channel and host.
    #[test]
    fn rustc_vv_output_reads_back(
        (major, minor, patch) in (0u64..1 << 40, 0u64..1000, 0u64..100),
        channel in prop::sample::select(&["", "-nightly", "-beta.3", "-dev"][..]),
        host in "[a-z0-9_]{1,8}-[a-z]{1,8}-[a-z]{1,6}",
    ) {
        let release = format!("{major}.{minor}.{patch}{channel}");
        let text = format!("rustc {release} (abc 2026-01-01)\nbinary: rustc\ncommit-hash: abc\n\
                            commit-date: 2026-01-01\nhost: {host}\nrelease: {release}\nLLVM version: 20.1.8\n");
        let parsed = rustc::parse(&text);
        prop_assert!(parsed.is_ok(), "{:?}", parsed);
        let version = parsed.unwrap_or_else(|_| unreachable!());
        let fits = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        prop_assert_eq!((version.major, version.minor, version.patch), (fits(major), fits(minor), fits(patch)));
        prop_assert_eq!(version.nightly, channel == "-nightly" || channel == "-dev");
        prop_assert_eq!(&version.host, &host);
        rustc_version(text.as_bytes());
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

/// One memory-relevant codegen flag.
#[derive(Debug, Clone)]
enum Flag {
    Debuginfo(&'static str),
    CodegenUnits(u32),
    Lto(&'static str),
    Linker(&'static str),
}

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        prop::sample::select(
            &[
                "0",
                "1",
                "2",
                "limited",
                "full",
                "line-tables-only",
                "7",
                "x"
            ][..]
        )
        .prop_map(Flag::Debuginfo),
        any::<u32>().prop_map(Flag::CodegenUnits),
        prop::sample::select(&["thin", "fat", "off", "yes", "n", "bogus"][..]).prop_map(Flag::Lto),
        prop::sample::select(&["mold", "lld", "gold", "bfd"][..]).prop_map(Flag::Linker),
    ]
}

/// A scalar TOML value, written and as read.
#[derive(Debug, Clone)]
enum Scalar {
    Integer(i64),
    Boolean(bool),
    Text(String),
}

impl Scalar {
    fn render(&self) -> String {
        match self {
            Scalar::Integer(n) => n.to_string(),
            Scalar::Boolean(b) => b.to_string(),
            // Rust's debug escapes (`\u{7f}`) are not TOML's: write TOML's own.
            Scalar::Text(text) => {
                let mut out = String::from("\"");
                for c in text.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c if (c as u32) < 0x20 || c == '\u{7f}' => {
                            out.push_str(&format!("\\u{:04X}", c as u32))
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
                out
            }
        }
    }

    fn expected(&self) -> toml::Value {
        match self {
            Scalar::Integer(n) => toml::Value::Integer(*n),
            Scalar::Boolean(b) => toml::Value::Boolean(*b),
            Scalar::Text(t) => toml::Value::String(t.clone()),
        }
    }
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        any::<i64>().prop_map(Scalar::Integer),
        any::<bool>().prop_map(Scalar::Boolean),
        any::<String>().prop_map(Scalar::Text),
        prop::collection::vec(
            prop::sample::select(
                &[
                    '"',
                    '\\',
                    '\n',
                    '\t',
                    '\u{7f}',
                    '\u{1}',
                    'a',
                    'é',
                    '\u{10FFFF}'
                ][..]
            ),
            0..8
        )
        .prop_map(|chars| Scalar::Text(chars.into_iter().collect())),
    ]
}

/// Tables (by header path) of dotted keys and values; keys are unique within a document, and
/// no key is a prefix of another, so every entry is reachable by its path.
type Document = Vec<Section>;

/// A header path and its entries: dotted keys and values.
type Section = (Vec<String>, Vec<(Vec<String>, Scalar)>);

fn toml_document() -> impl Strategy<Value = Document> {
    let key = prop_oneof![name(6), any::<String>().prop_map(|s| format!("q{s}")),];
    let table = (
        prop::collection::vec(key.clone(), 0..3),
        prop::collection::vec((prop::collection::vec(key, 1..3), scalar()), 0..5),
    );
    prop::collection::vec(table, 0..5).prop_map(|tables| {
        // Number each header and key part so that no path is a prefix of another.
        tables
            .into_iter()
            .enumerate()
            .map(|(t, (header, entries))| {
                let header = header.into_iter().map(|h| format!("t{t}{h}")).collect();
                let entries = entries
                    .into_iter()
                    .enumerate()
                    .map(|(e, (key, value))| {
                        let key = key.into_iter().map(|k| format!("k{t}{e}{k}")).collect();
                        (key, value)
                    })
                    .collect();
                (header, entries)
            })
            .collect()
    })
}

/// A key part, bare when it may be, else a basic string.
fn render_key(part: &str) -> String {
    if part
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        part.to_string()
    } else {
        Scalar::Text(part.to_string()).render()
    }
}

fn render_document(tables: &Document) -> String {
    let mut text = String::new();
    let join = |path: &[String]| {
        path.iter()
            .map(|p| render_key(p))
            .collect::<Vec<_>>()
            .join(" . ")
    };
    // The root table's entries first: those of tables without a header.
    let mut ordered: Vec<&Section> = tables.iter().collect();
    ordered.sort_by_key(|(header, _)| !header.is_empty());
    for (header, entries) in ordered {
        if !header.is_empty() {
            text.push_str(&format!("[ {} ]  # table\n", join(header)));
        }
        for (key, value) in entries {
            text.push_str(&format!("{} = {}\n", join(key), value.render()));
        }
    }
    text
}

const PROFILE_NAMES: [&str; 7] = ["dev", "release", "test", "bench", "a", "b", "custom"];

/// (source: manifest, config or env; profile; key; value)
fn profile_setting() -> impl Strategy<Value = (usize, &'static str, &'static str, String)> {
    let profile = prop::sample::select(&PROFILE_NAMES[..]);
    let value = prop_oneof![
        prop::sample::select(&PROFILE_NAMES[..]).prop_map(str::to_string),
        prop::sample::select(&["0", "1", "full", "thin", "fat", "x"][..]).prop_map(str::to_string),
    ];
    (
        0usize..3,
        profile,
        prop::sample::select(&["inherits", "debug", "lto"][..]),
        value,
    )
}

/// One line of `cargo tree` output below the root, and how many levels it goes up.
#[derive(Debug, Clone)]
enum TreeLine {
    Package {
        name: String,
        version: String,
        path: bool,
        features: Vec<String>,
        seen: bool,
    },
    Feature {
        name: String,
        feature: String,
        command_line: bool,
    },
}

fn tree_line() -> impl Strategy<Value = (usize, TreeLine)> {
    let crate_name =
        prop::sample::select(&["app", "polars", "polars_core", "polars-core", "helper"][..]);
    let feature = prop::sample::select(&["default", "lazy", "dtype-full", "dtype-i8", "std"][..]);
    let package = (
        crate_name.clone(),
        prop::sample::select(&["0.1.0", "1.0.0", "0.55.2"][..]),
        any::<bool>(),
        prop::collection::vec(feature.clone(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(name, version, path, features, seen)| TreeLine::Package {
            name: name.to_string(),
            version: version.to_string(),
            path,
            features: features.into_iter().map(str::to_string).collect(),
            seen,
        });
    let feature_line =
        (crate_name, feature, any::<bool>()).prop_map(|(name, feature, command_line)| {
            TreeLine::Feature {
                name: name.to_string(),
                feature: feature.to_string(),
                command_line,
            }
        });
    (0usize..4, prop_oneof![package, feature_line])
}

/// The NUL split gives each entry point its texts, the last taking the rest.
#[test]
fn parts_split_at_nul() {
    assert_eq!(parts::<2>("a\0b\0c"), ["a", "b\0c"]);
    assert_eq!(parts::<3>("a"), ["a", "", ""]);
    assert_eq!(parts::<1>("a\0b"), ["a\0b"]);
}
