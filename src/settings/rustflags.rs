//! Reading the memory-relevant flags out of `CARGO_ENCODED_RUSTFLAGS`.

use super::{Debuginfo, Lto};

/// The flags that change how much memory rustc and the linker need. `None` = not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rustflags {
    pub(crate) debuginfo: Option<Debuginfo>,
    pub(crate) codegen_units: Option<u32>,
    pub(crate) lto: Option<Lto>,
    pub(crate) opt_level: Option<String>,
    pub(crate) split_debuginfo: Option<String>,
    pub(crate) incremental: Option<bool>,
    pub(crate) linker: Option<String>,
    /// The `-fuse-ld=` (or `--ld-path=`) value found in `-C link-arg(s)`.
    pub(crate) fuse_ld: Option<String>,
    /// `-Z linker-features=-lld` or `-C link-self-contained=-linker`: rust-lld turned off.
    pub(crate) rust_lld_off: bool,
    /// `-Z threads=N`.
    pub(crate) threads: Option<u32>,
}

/// Parses the 0x1F-separated `CARGO_ENCODED_RUSTFLAGS`. Later flags win, as in rustc.
pub(crate) fn parse_encoded(encoded: &str) -> Rustflags {
    parse_args(encoded.split('\x1f').filter(|s| !s.is_empty()))
}

/// Parses rustc arguments, one per item.
pub(crate) fn parse_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Rustflags {
    let mut flags = Rustflags::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (kind, inline) = if let Some(rest) = arg.strip_prefix("--codegen") {
            ('C', rest.strip_prefix('='))
        } else if let Some(rest) = arg.strip_prefix("-C") {
            ('C', Some(rest).filter(|r| !r.is_empty()))
        } else if let Some(rest) = arg.strip_prefix("-Z") {
            ('Z', Some(rest).filter(|r| !r.is_empty()))
        } else if arg == "-g" {
            flags.debuginfo = Some(Debuginfo::Full);
            continue;
        } else if arg == "-O" {
            flags.opt_level = Some("2".to_string());
            continue;
        } else {
            continue;
        };
        let Some(option) = inline.or_else(|| args.next()) else {
            break;
        };
        let (key, value) = match option.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (option, None),
        };
        match (kind, key.replace('_', "-").as_str(), value) {
            ('C', "debuginfo", Some(v)) => {
                if let Some(d) = Debuginfo::parse(v) {
                    flags.debuginfo = Some(d);
                }
            }
            ('C', "codegen-units", Some(v)) => flags.codegen_units = v.parse().ok(),
            ('C', "lto", v) => flags.lto = Lto::parse(v.unwrap_or("fat")),
            ('C', "opt-level", Some(v)) => flags.opt_level = Some(v.to_string()),
            ('C', "split-debuginfo", Some(v)) => flags.split_debuginfo = Some(v.to_string()),
            ('C', "incremental", Some(_)) => flags.incremental = Some(true),
            ('C', "linker", Some(v)) => flags.linker = Some(v.to_string()),
            ('C', "link-arg" | "link-args", Some(v)) => {
                for part in v.split([' ', ',']) {
                    let part = part.trim_start_matches("-Wl,");
                    if let Some(ld) = part
                        .strip_prefix("-fuse-ld=")
                        .or_else(|| part.strip_prefix("--ld-path="))
                    {
                        flags.fuse_ld = Some(ld.to_string());
                    }
                }
            }
            ('C', "link-self-contained", Some(v)) if v.contains("-linker") => {
                flags.rust_lld_off = true;
            }
            ('Z', "linker-features", Some(v)) if v.contains("-lld") => flags.rust_lld_off = true,
            ('Z', "threads", Some(v)) => flags.threads = v.parse().ok(),
            _ => {}
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_joined_and_separate_forms() {
        let flags = parse_encoded(
            "-Cdebuginfo=0\x1f-C\x1fcodegen-units=4\x1f--codegen=lto=thin\x1f-Zthreads=8\x1f-C\x1flink-arg=-fuse-ld=mold",
        );
        assert_eq!(flags.debuginfo, Some(Debuginfo::None));
        assert_eq!(flags.codegen_units, Some(4));
        assert_eq!(flags.lto, Some(Lto::Thin));
        assert_eq!(flags.threads, Some(8));
        assert_eq!(flags.fuse_ld.as_deref(), Some("mold"));
    }

    #[test]
    fn later_flags_win_and_odd_forms_parse() {
        let flags = parse_args([
            "-g",
            "-C",
            "debuginfo=line-tables-only",
            "-Clto",
            "-Clink-args=-Wl,-fuse-ld=lld -Wl,--as-needed",
            "-C",
            "linker=clang",
            "-C",
            "split_debuginfo=unpacked",
            "-Zlinker-features=-lld",
        ]);
        assert_eq!(flags.debuginfo, Some(Debuginfo::LineTablesOnly));
        assert_eq!(flags.lto, Some(Lto::Fat));
        assert_eq!(flags.fuse_ld.as_deref(), Some("lld"));
        assert_eq!(flags.linker.as_deref(), Some("clang"));
        assert_eq!(flags.split_debuginfo.as_deref(), Some("unpacked"));
        assert!(flags.rust_lld_off);
    }

    #[test]
    fn empty_and_garbage_give_nothing() {
        assert_eq!(parse_encoded(""), Rustflags::default());
        assert_eq!(parse_encoded("-C"), Rustflags::default());
        assert_eq!(
            parse_encoded("--cfg\x1ffoo\x1f-Cdebuginfo=7"),
            Rustflags::default()
        );
        assert_eq!(parse_encoded("-Ccodegen-units=many").codegen_units, None);
    }
}
