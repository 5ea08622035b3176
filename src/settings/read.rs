//! Putting the settings together from cargo's environment, rustflags, profiles and config.

use super::discover::{self, Loaded, Log};
use super::profile::{Profiles, Raw};
use super::rustflags::{self, Rustflags};
use super::toml;
use super::{rustc, BuildSettings, Debuginfo, Linker, Lto, Origin, Setting};
use crate::env::envify;
use crate::env::Env;
use std::path::{Path, PathBuf};

/// Reads the settings in effect. Outside a build script `assumed_profile` (or `dev`) is used and
/// the rest falls back to defaults: host target, all cores.
pub(crate) fn read_settings(
    env: &Env,
    assumed_profile: Option<&str>,
    manifest_dir: Option<&Path>,
) -> BuildSettings {
    let in_build_script = env.is_set("OUT_DIR") && env.is_set("NUM_JOBS") && env.is_set("TARGET");
    let mut problems = Vec::new();
    let rustc = rustc::version(env).map_err(|e| problems.push(e)).ok();
    let host = env
        .text("HOST")
        .map(str::to_string)
        .or_else(|| rustc.as_ref().map(|r| r.host.clone()))
        .unwrap_or_default();
    let target = env
        .text("TARGET")
        .map_or_else(|| host.clone(), str::to_string);
    let profile = profile_name(env, in_build_script, assumed_profile);

    // The package named explicitly (`Config::manifest_path`, a tool's `--manifest-path`), else
    // the build script's.
    let manifest_dir = manifest_dir
        .map(Path::to_path_buf)
        .or_else(|| env.text("CARGO_MANIFEST_DIR").map(PathBuf::from));
    let mut log = Log::default();
    let manifest = manifest_dir
        .as_deref()
        .and_then(|dir| discover::workspace_manifest(dir, &mut log));
    let configs = discover::config_files(manifest_dir.as_deref(), env, &mut log);
    let profiles = Profiles {
        env,
        configs: &configs,
        manifest: manifest.as_ref(),
    };
    let (chain, chain_problem) = profiles.chain(&profile);
    problems.extend(chain_problem);
    let root = if chain.last().map(String::as_str) == Some("release") {
        "release"
    } else {
        "dev"
    };
    let flags = rustflags::parse_encoded(env.text("CARGO_ENCODED_RUSTFLAGS").unwrap_or(""));
    let mut r = Resolver {
        env,
        profiles: &profiles,
        chain: &chain,
        root,
        configs: &configs,
        flags: &flags,
        problems: &mut problems,
    };
    let jobs = r.jobs(in_build_script);
    let incremental = r.incremental();
    let mut settings = BuildSettings {
        in_build_script,
        jobs,
        opt_level: r.opt_level(),
        debuginfo: r.debuginfo(),
        codegen_units: r.codegen_units(incremental.value),
        lto: r.lto(),
        split_debuginfo: r.split_debuginfo(&target),
        linker: r.linker(&target, rustc.as_ref()),
        incremental,
        threads: flags.threads,
        rustc_wrapper: r.rustc_wrapper(),
        caller_rust_version: env
            .text("CARGO_PKG_RUST_VERSION")
            .and_then(parse_rust_version),
        profile,
        target,
        host,
        rustc,
        manifest_dir,
        files_read: log.files_read,
        problems,
    };
    settings.problems.extend(log.problems);
    settings
}

/// The profile name: from OUT_DIR's `<profile-dir>/build/<pkg>-<hash>/out` (`debug` is `dev`),
/// else from `PROFILE`, else assumed.
fn profile_name(env: &Env, in_build_script: bool, assumed: Option<&str>) -> String {
    if in_build_script {
        let from_out_dir = env.text("OUT_DIR").and_then(|out| {
            let out = Path::new(out);
            let build = out.parent()?.parent()?;
            if build.file_name()? != "build" {
                return None;
            }
            build.parent()?.file_name()?.to_str().map(str::to_string)
        });
        let dir = from_out_dir.or_else(|| env.text("PROFILE").map(str::to_string));
        if let Some(dir) = dir {
            return if dir == "debug" {
                "dev".to_string()
            } else {
                dir
            };
        }
    }
    assumed.unwrap_or("dev").to_string()
}

/// `1.70` or `1.70.0` as (1, 70).
pub(crate) fn parse_rust_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// One pass over the sources for one profile.
struct Resolver<'a> {
    env: &'a Env,
    profiles: &'a Profiles<'a>,
    chain: &'a [String],
    root: &'static str,
    configs: &'a [Loaded],
    flags: &'a Rustflags,
    problems: &'a mut Vec<String>,
}

impl Resolver<'_> {
    fn default_origin(&self) -> Origin {
        Origin::Default(self.root.to_string())
    }

    /// A `[build]` key from config files, or its `CARGO_BUILD_<KEY>` variable.
    fn build_config(&self, key: &str) -> Option<(Raw, Origin)> {
        let var = format!("CARGO_BUILD_{}", envify(key));
        if let Some(text) = self.env.text(&var) {
            return Some((Raw::Text(text.to_string()), Origin::Env(var)));
        }
        self.configs.iter().find_map(|c| {
            let value = toml::get_path(&c.table, &["build", key])?;
            let raw = match value {
                toml::Value::String(s) => Raw::Text(s.clone()),
                toml::Value::Integer(i) => Raw::Integer(*i),
                toml::Value::Boolean(b) => Raw::Boolean(*b),
                _ => return None,
            };
            Some((raw, Origin::Config(c.path.clone(), "[build]".to_string())))
        })
    }

    /// Records that `origin` holds a value that means nothing for `key`.
    fn ignored(&mut self, key: &str, raw: &Raw, origin: &Origin, accepted: &str) {
        self.problems.push(format!(
            "{key} = {:?} ({origin}) is not understood; accepted: {accepted}",
            raw.text()
        ));
    }

    /// `RUSTC_WRAPPER`, else `build.rustc-wrapper` (a path with a `/` in a config file is
    /// relative to the directory holding that file's `.cargo`). Empty means none.
    fn rustc_wrapper(&mut self) -> Option<Setting<String>> {
        if let Some(text) = self.env.get_os("RUSTC_WRAPPER") {
            let text = text.to_string_lossy().into_owned();
            return (!text.is_empty())
                .then(|| Setting::new(text, Origin::Env("RUSTC_WRAPPER".to_string())));
        }
        let (raw, origin) = self.build_config("rustc-wrapper")?;
        let Raw::Text(text) = raw else {
            return None;
        };
        if text.is_empty() {
            return None;
        }
        let resolved = match &origin {
            Origin::Config(path, _) if text.contains('/') && Path::new(&text).is_relative() => {
                path.parent().and_then(Path::parent).map_or_else(
                    || text.clone(),
                    |base| base.join(&text).display().to_string(),
                )
            }
            _ => text,
        };
        Some(Setting::new(resolved, origin))
    }

    fn jobs(&mut self, in_build_script: bool) -> Setting<u32> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        if in_build_script {
            match self.env.text("NUM_JOBS").map(str::parse::<u32>) {
                Some(Ok(n)) if n > 0 => return Setting::new(n, Origin::Cargo("NUM_JOBS")),
                _ => self.problems.push(
                    "NUM_JOBS from cargo is missing or not a positive number; assuming all cores"
                        .to_string(),
                ),
            }
        } else if let Some((raw, origin)) = self.build_config("jobs") {
            let text = raw.text();
            match text.parse::<i64>() {
                Ok(n) if n > 0 => return Setting::new(n.min(4096) as u32, origin),
                Ok(n) if n < 0 => {
                    let n = (i64::from(cpus) + n).max(1) as u32;
                    return Setting::new(n, origin);
                }
                _ if text == "default" => return Setting::new(cpus, origin),
                _ => self.ignored(
                    "jobs",
                    &raw,
                    &origin,
                    "a positive or negative whole number, or \"default\"",
                ),
            }
        }
        Setting::new(cpus, Origin::Assumed)
    }

    fn opt_level(&mut self) -> Setting<String> {
        if let Some(level) = &self.flags.opt_level {
            return Setting::new(level.clone(), Origin::Rustflags);
        }
        if let Some(level) = self.env.text("OPT_LEVEL") {
            return Setting::new(level.to_string(), Origin::Cargo("OPT_LEVEL"));
        }
        match self.profiles.get(self.chain, "opt-level") {
            Some((raw, origin)) => Setting::new(raw.text(), origin),
            None => {
                let level = if self.root == "release" { "3" } else { "0" };
                Setting::new(level.to_string(), self.default_origin())
            }
        }
    }

    fn debuginfo(&mut self) -> Setting<Debuginfo> {
        if let Some(level) = self.flags.debuginfo {
            return Setting::new(level, Origin::Rustflags);
        }
        let accepted =
            "0, 1, 2, true, false, none, limited, full, line-tables-only, line-directives-only";
        let from_profile = [
            self.profiles.get_for_dependencies(self.chain, "debug"),
            self.profiles.get(self.chain, "debug"),
        ];
        for (raw, origin) in from_profile.into_iter().flatten() {
            match Debuginfo::parse(&raw.text()) {
                Some(level) => return self.checked_against_cargo(Setting::new(level, origin)),
                None => self.ignored("debug", &raw, &origin, accepted),
            }
        }
        let level = if self.root == "release" {
            Debuginfo::None
        } else {
            Debuginfo::Full
        };
        let origin = self.default_origin();
        self.checked_against_cargo(Setting::new(level, origin))
    }

    /// Cargo's `DEBUG` says only whether there is any debuginfo, but it sees `--config` and
    /// everything else: when it disagrees with what the files say, it wins.
    fn checked_against_cargo(&self, found: Setting<Debuginfo>) -> Setting<Debuginfo> {
        if found.origin.is_dependency_override() {
            return found;
        }
        match self.env.text("DEBUG") {
            Some("false") if found.value != Debuginfo::None => {
                Setting::new(Debuginfo::None, Origin::Cargo("DEBUG"))
            }
            Some("true") if found.value == Debuginfo::None => {
                Setting::new(Debuginfo::Full, Origin::Cargo("DEBUG"))
            }
            _ => found,
        }
    }

    fn codegen_units(&mut self, incremental: bool) -> Setting<u32> {
        if let Some(units) = self.flags.codegen_units {
            return Setting::new(units, Origin::Rustflags);
        }
        let from_profile = [
            self.profiles
                .get_for_dependencies(self.chain, "codegen-units"),
            self.profiles.get(self.chain, "codegen-units"),
        ];
        for (raw, origin) in from_profile.into_iter().flatten() {
            match raw.text().parse::<u32>() {
                Ok(units) if units > 0 => return Setting::new(units, origin),
                _ => self.ignored("codegen-units", &raw, &origin, "a whole number from 1"),
            }
        }
        // Cargo's default: 256 for incremental builds, 16 otherwise.
        Setting::new(if incremental { 256 } else { 16 }, self.default_origin())
    }

    fn lto(&mut self) -> Setting<Lto> {
        if let Some(lto) = self.flags.lto {
            return Setting::new(lto, Origin::Rustflags);
        }
        if let Some((raw, origin)) = self.profiles.get(self.chain, "lto") {
            match Lto::parse(&raw.text()) {
                Some(lto) => return Setting::new(lto, origin),
                None => self.ignored(
                    "lto",
                    &raw,
                    &origin,
                    "true, false, \"fat\", \"thin\", \"off\"",
                ),
            }
        }
        Setting::new(Lto::Off, self.default_origin())
    }

    fn incremental(&mut self) -> Setting<bool> {
        if let Some(text) = self.env.text("CARGO_INCREMENTAL") {
            return Setting::new(text == "1", Origin::Env("CARGO_INCREMENTAL".to_string()));
        }
        if self.flags.incremental == Some(true) {
            return Setting::new(true, Origin::Rustflags);
        }
        let found = [
            self.build_config("incremental"),
            self.profiles.get(self.chain, "incremental"),
        ];
        for (raw, origin) in found.into_iter().flatten() {
            match raw.text().as_str() {
                "true" => return Setting::new(true, origin),
                "false" => return Setting::new(false, origin),
                _ => self.ignored("incremental", &raw, &origin, "true or false"),
            }
        }
        Setting::new(self.root == "dev", self.default_origin())
    }

    fn split_debuginfo(&mut self, target: &str) -> Setting<String> {
        if let Some(split) = &self.flags.split_debuginfo {
            return Setting::new(split.clone(), Origin::Rustflags);
        }
        if let Some((raw, origin)) = self.profiles.get(self.chain, "split-debuginfo") {
            return Setting::new(raw.text(), origin);
        }
        let platform = if target.contains("apple") {
            "unpacked"
        } else if target.contains("windows-msvc") {
            "packed"
        } else {
            "off"
        };
        Setting::new(platform.to_string(), Origin::Default(target.to_string()))
    }

    fn linker(&mut self, target: &str, rustc: Option<&super::RustcVersion>) -> Setting<Linker> {
        if let Some(name) = &self.flags.fuse_ld {
            let linker = Linker::from_name(name).unwrap_or_else(|| Linker::Other(name.clone()));
            return Setting::new(linker, Origin::Rustflags);
        }
        let var = format!("CARGO_TARGET_{}_LINKER", envify(target));
        let configured = self
            .flags
            .linker
            .clone()
            .map(|l| (l, Origin::Rustflags))
            .or_else(|| {
                self.env
                    .text(&var)
                    .map(|l| (l.to_string(), Origin::Env(var.clone())))
            })
            .or_else(|| {
                self.configs.iter().find_map(|c| {
                    let value = toml::get_path(&c.table, &["target", target, "linker"])?;
                    let table = format!("[target.{target}]");
                    Some((
                        value.as_str()?.to_string(),
                        Origin::Config(c.path.clone(), table),
                    ))
                })
            });
        if let Some((name, origin)) = &configured {
            if let Some(linker) = Linker::from_name(name) {
                return Setting::new(linker, origin.clone());
            }
        }
        let origin = configured.map_or_else(|| Origin::Default(target.to_string()), |(_, o)| o);
        // Since 1.90 rustc links x86_64-unknown-linux-gnu with rust-lld through any `cc`.
        let rust_lld = target == "x86_64-unknown-linux-gnu"
            && rustc.is_some_and(|r| r.at_least(90))
            && !self.flags.rust_lld_off;
        let linker = if rust_lld {
            Linker::RustLld
        } else if target.contains("linux") || target.contains("windows-gnu") {
            Linker::Bfd
        } else {
            Linker::Platform
        };
        Setting::new(linker, origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_comes_from_out_dir_then_profile() {
        let env = Env::from_pairs(&[
            (
                "OUT_DIR",
                "/t/x86_64-unknown-linux-gnu/lowmem/build/app-0123/out",
            ),
            ("PROFILE", "release"),
        ]);
        assert_eq!(profile_name(&env, true, None), "lowmem");
        let env = Env::from_pairs(&[
            ("OUT_DIR", "/t/debug/build/app-1/out"),
            ("PROFILE", "debug"),
        ]);
        assert_eq!(profile_name(&env, true, None), "dev");
        let env = Env::from_pairs(&[("OUT_DIR", "/elsewhere/out"), ("PROFILE", "release")]);
        assert_eq!(profile_name(&env, true, None), "release");
        assert_eq!(
            profile_name(&Env::from_pairs(&[]), false, Some("bench")),
            "bench"
        );
    }

    #[test]
    fn rust_versions() {
        assert_eq!(parse_rust_version("1.70"), Some((1, 70)));
        assert_eq!(parse_rust_version("1.77.2"), Some((1, 77)));
        assert_eq!(parse_rust_version("1"), Some((1, 0)));
        assert_eq!(parse_rust_version("x"), None);
    }
}

#[cfg(test)]
mod project_tests {
    use super::*;
    use crate::settings::Linker;

    fn project(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/projects")
            .join(name)
    }

    fn env_for(manifest_dir: &Path, extra: &[(&str, &str)]) -> Env {
        let dir = manifest_dir.display().to_string();
        let mut pairs = vec![
            ("CARGO_MANIFEST_DIR", dir.as_str()),
            ("HOME", "/nonexistent"),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(&pairs)
    }

    #[test]
    fn a_member_outside_a_build_script_reads_workspace_profiles_and_config() {
        let app = project("ws/crates/app");
        let env = env_for(&app, &[("CARGO_PROFILE_DEV_CODEGEN_UNITS", "4")]);
        let s = read_settings(&env, None, None);
        assert!(!s.in_build_script);
        assert_eq!(s.profile, "dev");
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        assert_eq!(
            s.jobs.value,
            cpus.saturating_sub(1).max(1),
            "jobs = -1 in config"
        );
        // package."*" wins for the heavy crates.
        assert_eq!(s.debuginfo.value, Debuginfo::LineTablesOnly);
        assert!(s
            .debuginfo
            .origin
            .to_string()
            .starts_with("[profile.dev.package.\"*\"] in"));
        assert_eq!(s.codegen_units.value, 4);
        assert_eq!(
            s.codegen_units.origin,
            Origin::Env("CARGO_PROFILE_DEV_CODEGEN_UNITS".into())
        );
        assert_eq!(s.lto.value, Lto::Thin);
        assert!(matches!(s.lto.origin, Origin::Config(..)));
        assert!(!s.incremental.value, "build.incremental = false");
        assert_eq!(s.files_read.len(), 3, "{:?}", s.files_read);
        if s.target == "x86_64-unknown-linux-gnu"
            && s.rustc.as_ref().is_some_and(|r| r.at_least(90))
        {
            assert_eq!(
                s.linker.value,
                Linker::RustLld,
                "clang still links with rust-lld"
            );
        }
    }

    #[test]
    fn a_build_script_of_a_custom_profile_follows_inherits() {
        let app = project("ws/crates/app");
        let env = env_for(
            &app,
            &[
                ("OUT_DIR", "/t/target/lowmem/build/app-0a1b/out"),
                ("PROFILE", "release"),
                ("NUM_JOBS", "2"),
                ("TARGET", "aarch64-unknown-linux-gnu"),
                ("HOST", "x86_64-unknown-linux-gnu"),
                ("OPT_LEVEL", "3"),
                ("DEBUG", "false"),
                ("CARGO_ENCODED_RUSTFLAGS", "-C\x1flink-arg=-fuse-ld=mold"),
                ("CARGO_INCREMENTAL", "1"),
                ("CARGO_PKG_RUST_VERSION", "1.70"),
            ],
        );
        let s = read_settings(&env, None, None);
        assert!(s.in_build_script);
        assert_eq!(s.profile, "lowmem");
        assert_eq!(s.jobs, Setting::new(2, Origin::Cargo("NUM_JOBS")));
        assert_eq!(s.opt_level.value, "3");
        assert_eq!(s.codegen_units.value, 1);
        assert_eq!(s.linker, Setting::new(Linker::Mold, Origin::Rustflags));
        assert!(s.incremental.value);
        assert_eq!(s.target, "aarch64-unknown-linux-gnu");
        assert_eq!(s.caller_rust_version, Some((1, 70)));
        // The problems name the wrong-typed value; the profile chain itself was fine.
        assert!(
            s.problems.iter().all(|p| !p.contains("cycle")),
            "{:?}",
            s.problems
        );
    }

    #[test]
    fn wrong_types_cycles_and_invalid_toml_are_one_line_problems() {
        let app = project("ws/crates/app");
        let s = read_settings(
            &env_for(&app, &[("CARGO_PROFILE_DEV_CODEGEN_UNITS", "")]),
            None,
            None,
        );
        assert!(
            s.problems
                .iter()
                .any(|p| p.starts_with("codegen-units = \"many\" ([profile.dev] in")),
            "{:?}",
            s.problems
        );
        let s = read_settings(&env_for(&app, &[]), Some("loop-a"), None);
        assert!(
            s.problems.iter().any(|p| p.contains("cycle")),
            "{:?}",
            s.problems
        );
        assert_eq!(
            s.debuginfo.value,
            Debuginfo::LineTablesOnly,
            "treated like dev"
        );

        let broken = project("broken");
        let s = read_settings(&env_for(&broken, &[]), None, None);
        assert!(
            s.problems
                .iter()
                .any(|p| p.contains(".cargo/config.toml: not valid TOML (line 1:")),
            "{:?}",
            s.problems
        );
        assert_eq!(
            s.debuginfo.value,
            Debuginfo::None,
            "the manifest is still read"
        );
        assert!(s.problems.iter().all(|p| !p.contains('\n')));
    }
}
