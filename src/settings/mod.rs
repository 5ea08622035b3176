//! The build settings in effect: cargo's environment, rustflags, the workspace's `[profile.*]`
//! tables and `.cargo/config.toml`, merged in cargo's order of precedence.

pub(crate) mod discover;
pub(crate) mod profile;
pub(crate) mod read;
pub(crate) mod rustc;
pub(crate) mod rustflags;
pub(crate) mod toml;

pub(crate) use read::read_settings;
pub use rustc::RustcVersion;

use std::fmt;
use std::path::PathBuf;

/// Debuginfo level, as `debug` in a profile or `-C debuginfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Debuginfo {
    /// `debug = 0` / `false` / `"none"`.
    None,
    /// `"line-directives-only"`.
    LineDirectivesOnly,
    /// `"line-tables-only"` (cargo 1.71+): enough for backtraces.
    LineTablesOnly,
    /// `debug = 1` / `"limited"`.
    Limited,
    /// `debug = 2` / `true` / `"full"`: the dev default.
    Full,
}

impl Debuginfo {
    /// Parses the forms cargo and rustc accept (`0`, `false`, `none`, `1`, `limited`,
    /// `line-tables-only`, `line-directives-only`, `2`, `true`, `full`).
    pub(crate) fn parse(text: &str) -> Option<Debuginfo> {
        Some(match text.trim() {
            "0" | "false" | "none" => Debuginfo::None,
            "line-directives-only" => Debuginfo::LineDirectivesOnly,
            "line-tables-only" => Debuginfo::LineTablesOnly,
            "1" | "limited" => Debuginfo::Limited,
            "2" | "true" | "full" => Debuginfo::Full,
            _ => return None,
        })
    }
}

impl fmt::Display for Debuginfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Debuginfo::None => "0",
            Debuginfo::LineDirectivesOnly => "line-directives-only",
            Debuginfo::LineTablesOnly => "line-tables-only",
            Debuginfo::Limited => "1 (limited)",
            Debuginfo::Full => "2 (full)",
        })
    }
}

/// Link-time optimisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lto {
    /// `lto = false` (the default: thin-local LTO within the crate) or `"off"` (none): neither
    /// is whole-program.
    Off,
    /// `lto = "thin"`.
    Thin,
    /// `lto = true` / `"fat"`: the whole program in one LLVM module at link time.
    Fat,
}

impl Lto {
    /// Parses profile and `-C lto` values.
    pub(crate) fn parse(text: &str) -> Option<Lto> {
        Some(match text.trim() {
            "false" | "off" | "no" | "n" => Lto::Off,
            "thin" => Lto::Thin,
            "true" | "fat" | "yes" | "y" => Lto::Fat,
            _ => return None,
        })
    }
}

impl fmt::Display for Lto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lto::Off => "off",
            Lto::Thin => "thin",
            Lto::Fat => "fat",
        })
    }
}

/// Which linker does the final link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Linker {
    /// rust-lld, the default on x86_64-unknown-linux-gnu since Rust 1.90.
    RustLld,
    /// LLVM's lld.
    Lld,
    /// mold.
    Mold,
    /// GNU gold.
    Gold,
    /// GNU ld (bfd), what `cc` uses on most Linux systems.
    Bfd,
    /// The platform's own linker (ld64 on macOS, link.exe on Windows).
    Platform,
    /// Something else, by name.
    Other(String),
}

impl Linker {
    /// Whether this linker is already a lean one (lld or mold).
    pub fn is_lean(&self) -> bool {
        matches!(self, Linker::RustLld | Linker::Lld | Linker::Mold)
    }

    /// Names a linker from a `-fuse-ld=` value or a linker path.
    pub(crate) fn from_name(name: &str) -> Option<Linker> {
        let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
        Some(if file.contains("mold") {
            Linker::Mold
        } else if file.contains("rust-lld") {
            Linker::RustLld
        } else if file.contains("lld") {
            Linker::Lld
        } else if file.contains("gold") {
            Linker::Gold
        } else if file == "bfd" || file.contains("ld.bfd") {
            Linker::Bfd
        } else {
            return None;
        })
    }
}

impl fmt::Display for Linker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Linker::RustLld => f.write_str("rust-lld"),
            Linker::Lld => f.write_str("lld"),
            Linker::Mold => f.write_str("mold"),
            Linker::Gold => f.write_str("gold"),
            Linker::Bfd => f.write_str("GNU ld (bfd)"),
            Linker::Platform => f.write_str("platform default"),
            Linker::Other(name) => f.write_str(name),
        }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Cargo's built-in default for the named profile.
    Default(String),
    /// A manifest's table, e.g. `[profile.dev]` of `/ws/Cargo.toml`.
    Manifest(PathBuf, String),
    /// A cargo config file's table.
    Config(PathBuf, String),
    /// An environment variable.
    Env(String),
    /// `CARGO_ENCODED_RUSTFLAGS` (RUSTFLAGS, `build.rustflags`).
    Rustflags,
    /// A variable cargo sets for build scripts (`NUM_JOBS`, `DEBUG`, `OPT_LEVEL`).
    Cargo(&'static str),
    /// Not in a build script, and nothing said otherwise: a guess.
    Assumed,
}

impl Origin {
    /// Whether this is a `[profile.<name>.package."*"]` table, which applies to dependencies
    /// and cannot be set through a `CARGO_PROFILE_*` variable.
    pub fn is_dependency_override(&self) -> bool {
        matches!(self, Origin::Manifest(_, t) | Origin::Config(_, t) if t.contains(".package."))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default(profile) => write!(f, "default of {profile}"),
            Origin::Manifest(path, table) | Origin::Config(path, table) => {
                write!(f, "{table} in {}", path.display())
            }
            Origin::Env(var) => write!(f, "{var}"),
            Origin::Rustflags => f.write_str("rustflags"),
            Origin::Cargo(var) => write!(f, "{var} from cargo"),
            Origin::Assumed => f.write_str("assumed"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value in effect.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

impl<T: fmt::Display> fmt::Display for Setting<T> {
    /// `value (origin)`, e.g. `0 (CARGO_PROFILE_DEV_DEBUG)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.value, self.origin)
    }
}

impl<T> Setting<T> {
    pub(crate) fn new(value: T, origin: Origin) -> Setting<T> {
        Setting { value, origin }
    }
}

/// The settings that decide how much memory the build needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildSettings {
    /// Whether cargo's build-script environment was present (else values are defaults).
    pub in_build_script: bool,
    /// The cargo profile: `dev`, `release`, or a custom name.
    pub profile: String,
    /// The target triple.
    pub target: String,
    /// The host triple.
    pub host: String,
    /// Parallel jobs.
    pub jobs: Setting<u32>,
    /// Optimisation level (`0`-`3`, `s`, `z`).
    pub opt_level: Setting<String>,
    /// Debuginfo of the heavy crates (dependencies: `[profile.*.package."*"]` counts).
    pub debuginfo: Setting<Debuginfo>,
    /// Codegen units of the heavy crates.
    pub codegen_units: Setting<u32>,
    /// Link-time optimisation.
    pub lto: Setting<Lto>,
    /// Incremental compilation.
    pub incremental: Setting<bool>,
    /// `split-debuginfo` (`off`, `packed`, `unpacked`), as given or the platform default.
    pub split_debuginfo: Setting<String>,
    /// The linker of the final link.
    pub linker: Setting<Linker>,
    /// `-Z threads=N` (parallel front end), when given.
    pub threads: Option<u32>,
    /// The `RUSTC_WRAPPER` in effect (the variable, or `build.rustc-wrapper` in a config file),
    /// which `cargo lowmem` chains behind itself; `None` when there is none.
    pub rustc_wrapper: Option<Setting<String>>,
    /// The compiler's version, when `rustc -vV` answered.
    pub rustc: Option<RustcVersion>,
    /// The calling package's `rust-version`, when declared.
    pub caller_rust_version: Option<(u32, u32)>,
    /// The calling package's manifest directory.
    pub manifest_dir: Option<PathBuf>,
    /// Manifests and config files read, for `rerun-if-changed`.
    pub(crate) files_read: Vec<PathBuf>,
    /// What could not be read or understood, one line each (moved into the report's
    /// diagnostics).
    pub(crate) problems: Vec<String>,
}

impl BuildSettings {
    /// Reads the settings in effect from the process environment (cargo's, in a build script;
    /// outside one, `profile` or `dev` with the defaults). Internal: for the benchmarks.
    #[cfg(feature = "unstable-internals")]
    pub fn from_env(profile: Option<&str>) -> BuildSettings {
        read_settings(&crate::env::Env::process(&[]), profile, None)
    }

    /// The settings that decide a build's memory most, as the headline gives them:
    /// `profile dev, jobs 2, debug 2 (full), codegen-units 256`.
    pub fn summary(&self) -> String {
        format!(
            "profile {}, jobs {}, debug {}, codegen-units {}",
            self.profile, self.jobs.value, self.debuginfo.value, self.codegen_units.value
        )
    }

    /// The `CARGO_PROFILE_<NAME>_` prefix for this profile's variables.
    pub(crate) fn profile_env_prefix(&self) -> String {
        format!("CARGO_PROFILE_{}_", crate::env::envify(&self.profile))
    }
}

#[cfg(test)]
impl BuildSettings {
    /// The dev defaults on x86_64 Linux with `jobs` jobs, for tests.
    pub(crate) fn dev_defaults(jobs: u32) -> BuildSettings {
        let default = || Origin::Default("dev".to_string());
        BuildSettings {
            in_build_script: true,
            profile: "dev".to_string(),
            target: "x86_64-unknown-linux-gnu".to_string(),
            host: "x86_64-unknown-linux-gnu".to_string(),
            jobs: Setting::new(jobs, Origin::Cargo("NUM_JOBS")),
            opt_level: Setting::new("0".to_string(), default()),
            debuginfo: Setting::new(Debuginfo::Full, default()),
            codegen_units: Setting::new(256, default()),
            lto: Setting::new(Lto::Off, default()),
            incremental: Setting::new(true, default()),
            split_debuginfo: Setting::new("off".to_string(), default()),
            linker: Setting::new(Linker::RustLld, default()),
            threads: None,
            rustc_wrapper: None,
            rustc: None,
            caller_rust_version: None,
            manifest_dir: None,
            files_read: Vec::new(),
            problems: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debuginfo_forms() {
        assert_eq!(Debuginfo::parse("false"), Some(Debuginfo::None));
        assert_eq!(
            Debuginfo::parse("line-tables-only"),
            Some(Debuginfo::LineTablesOnly)
        );
        assert_eq!(Debuginfo::parse("1"), Some(Debuginfo::Limited));
        assert_eq!(Debuginfo::parse("true"), Some(Debuginfo::Full));
        assert_eq!(Debuginfo::parse("3"), None);
        assert!(Debuginfo::Full > Debuginfo::LineTablesOnly);
    }

    #[test]
    fn linker_names() {
        assert_eq!(Linker::from_name("/usr/bin/mold"), Some(Linker::Mold));
        assert_eq!(Linker::from_name("ld.lld"), Some(Linker::Lld));
        assert_eq!(Linker::from_name("rust-lld"), Some(Linker::RustLld));
        assert_eq!(Linker::from_name("gold"), Some(Linker::Gold));
        assert_eq!(Linker::from_name("bfd"), Some(Linker::Bfd));
        assert_eq!(Linker::from_name("clang"), None);
        assert_eq!(crate::env::envify("my-profile"), "MY_PROFILE");
    }
}
