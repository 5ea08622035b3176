//! Rustflags, the one-word settings and `rustc -vV` output.

use super::*;

proptest! {
    #![proptest_config(config())]

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
