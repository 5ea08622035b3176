//! The environment seam: every variable the crate reads goes through here and is remembered, so
//! the shell can report each one with `rerun-if-env-changed` and tests can supply their own.

use std::cell::RefCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Variables not reported with `rerun-if-env-changed`: those cargo sets for the build script
/// itself (they are not in cargo's own environment, so watching them is noise), and `PATH`,
/// read only to find mold or lld, whose every change would otherwise rerun the build script.
const NOT_WATCHED: &[&str] = &[
    "CARGO",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_NAME",
    "CARGO_PKG_RUST_VERSION",
    "CARGO_PRIMARY_PACKAGE",
    "DEBUG",
    "HOST",
    // Set by `cargo lowmem` to a directory named by its process id: watching it would rerun the
    // build script on every governed build.
    "LOWMEM_GOVERNOR_DIR",
    "NUM_JOBS",
    "OPT_LEVEL",
    "OUT_DIR",
    "PATH",
    "PROFILE",
    "RUSTC",
    "TARGET",
];

/// A name as cargo spells it inside a variable's name: upper case, `-` as `_` (profile
/// `my-profile` in `CARGO_PROFILE_MY_PROFILE_DEBUG`, feature `fast-math` in
/// `CARGO_FEATURE_FAST_MATH`).
pub(crate) fn envify(name: &str) -> String {
    name.to_uppercase().replace('-', "_")
}

/// A view of environment variables that records which ones were asked for.
///
/// Plain lists, not maps: a build script's environment has about a hundred variables and the
/// crate asks for a few dozen, and every map type instantiated costs compile time on the small
/// machines this crate is for.
#[derive(Debug)]
pub(crate) struct Env {
    /// Each name once.
    vars: Vec<(String, OsString)>,
    /// What [`Env::process`] laid on top of the process environment, for child processes.
    overrides: Vec<(String, Option<OsString>)>,
    /// Each name once, in the order first asked.
    read: RefCell<Vec<String>>,
}

impl Env {
    /// The process environment, with `overrides` laid on top (a `None` value removes a variable).
    pub(crate) fn process(overrides: &[(String, Option<OsString>)]) -> Env {
        let mut vars: Vec<(String, OsString)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
            .collect();
        for (key, value) in overrides {
            vars.retain(|(k, _)| k != key);
            if let Some(v) = value {
                vars.push((key.clone(), v.clone()));
            }
        }
        let mut env = Env::from_vars(vars);
        env.overrides = overrides.to_vec();
        env
    }

    /// A command for `program` whose environment is the one this check sees: the process's,
    /// with the overrides of [`Env::process`] applied, so a variable set or removed through
    /// [`Config::env_var`](crate::Config::env_var) reaches rustc and cargo too.
    pub(crate) fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut command = std::process::Command::new(program);
        for (key, value) in &self.overrides {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        command
    }

    /// Exactly these variables and no others (the last value of a name repeated wins).
    pub(crate) fn from_vars(vars: Vec<(String, OsString)>) -> Env {
        let mut unique: Vec<(String, OsString)> = Vec::with_capacity(vars.len());
        for (key, value) in vars {
            match unique.iter_mut().find(|(k, _)| *k == key) {
                Some(seen) => seen.1 = value,
                None => unique.push((key, value)),
            }
        }
        Env {
            vars: unique,
            overrides: Vec::new(),
            read: RefCell::new(Vec::new()),
        }
    }

    /// Exactly these variables and no others, for tests.
    #[cfg(test)]
    pub(crate) fn from_map(vars: std::collections::BTreeMap<String, OsString>) -> Env {
        Env::from_vars(vars.into_iter().collect())
    }

    /// Exactly these variables, for tests.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        )
    }

    /// The raw value of `key`, recorded as read.
    pub(crate) fn get_os(&self, key: &str) -> Option<&OsString> {
        {
            let mut read = self.read.borrow_mut();
            if !read.iter().any(|k| k == key) {
                read.push(key.to_string());
            }
        }
        self.vars.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key` as text; `Err` carries a one-line message when it is not UTF-8.
    pub(crate) fn get(&self, key: &str) -> Result<Option<&str>, String> {
        match self.get_os(key) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(Some)
                .ok_or_else(|| format!("{key} is not valid UTF-8 ({v:?}); it is ignored")),
        }
    }

    /// The value of `key` as text, treating unset, empty and non-UTF-8 alike as absent.
    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        self.get(key).ok().flatten().filter(|v| !v.is_empty())
    }

    /// Every variable whose name starts with `prefix`, with its text (non-UTF-8 values are left
    /// out). Not recorded as read: only cargo sets such families (`CARGO_CFG_*`).
    pub(crate) fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| Some((k.clone(), v.to_str()?.to_string())))
            .collect()
    }

    /// Whether `key` is set at all (even empty).
    pub(crate) fn is_set(&self, key: &str) -> bool {
        self.get_os(key).is_some()
    }

    /// Cargo's home directory: `CARGO_HOME`, else `$HOME/.cargo` (cargo's own default).
    pub(crate) fn cargo_home(&self) -> Option<PathBuf> {
        self.text("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| self.text("HOME").map(|h| Path::new(h).join(".cargo")))
    }

    /// Names of the variables read so far that a user can change, for `rerun-if-env-changed`,
    /// sorted.
    pub(crate) fn watched(&self) -> Vec<String> {
        let mut watched: Vec<String> = self
            .read
            .borrow()
            .iter()
            .filter(|k| {
                !NOT_WATCHED.contains(&k.as_str())
                    && !k.starts_with("CARGO_CFG_")
                    && !k.starts_with("CARGO_FEATURE_")
            })
            .cloned()
            .collect();
        watched.sort_unstable();
        watched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_reads_and_skips_cargo_set_variables() {
        let env = Env::from_pairs(&[("LOWMEM_BUILD", "warn"), ("NUM_JOBS", "2")]);
        assert_eq!(env.text("LOWMEM_BUILD"), Some("warn"));
        assert_eq!(env.text("NUM_JOBS"), Some("2"));
        assert_eq!(env.text("CARGO_PROFILE_DEV_DEBUG"), None);
        assert!(!env.is_set("CARGO_CFG_FEATURE"));
        assert_eq!(env.watched(), ["CARGO_PROFILE_DEV_DEBUG", "LOWMEM_BUILD"]);
    }

    #[test]
    fn overrides_replace_and_remove_and_the_last_repeat_wins() {
        std::env::set_var("LOWMEM_BUILD_ENV_TEST_REMOVED", "1");
        let env = Env::process(&[
            ("LOWMEM_BUILD_ENV_TEST".to_string(), Some("a".into())),
            ("LOWMEM_BUILD_ENV_TEST".to_string(), Some("b".into())),
            ("LOWMEM_BUILD_ENV_TEST_REMOVED".to_string(), None),
        ]);
        assert_eq!(env.text("LOWMEM_BUILD_ENV_TEST"), Some("b"));
        assert!(!env.is_set("LOWMEM_BUILD_ENV_TEST_REMOVED"));
        let repeated = Env::from_pairs(&[("X", "1"), ("Y", "2"), ("X", "3")]);
        assert_eq!(repeated.text("X"), Some("3"));
        let thrice = Env::from_pairs(&[("X", "1"), ("X", "2"), ("X", "3")]);
        assert_eq!(thrice.text("X"), Some("3"), "the last of three wins");
        assert_eq!(repeated.text("Y"), Some("2"));
        assert_eq!(repeated.watched(), ["X", "Y"]);
    }

    #[test]
    fn cargo_home_falls_back_to_home() {
        let set = Env::from_pairs(&[("CARGO_HOME", "/ch"), ("HOME", "/h")]);
        assert_eq!(set.cargo_home(), Some(PathBuf::from("/ch")));
        let unset = Env::from_pairs(&[("CARGO_HOME", ""), ("HOME", "/h")]);
        assert_eq!(unset.cargo_home(), Some(PathBuf::from("/h/.cargo")));
        assert_eq!(Env::from_pairs(&[]).cargo_home(), None);
    }

    #[test]
    fn empty_counts_as_absent_for_text() {
        let env = Env::from_pairs(&[("LOWMEM_BUILD_MEMORY", "")]);
        assert!(env.is_set("LOWMEM_BUILD_MEMORY"));
        assert_eq!(env.text("LOWMEM_BUILD_MEMORY"), None);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_is_a_message_not_a_panic() {
        use std::os::unix::ffi::OsStringExt;
        let mut vars = std::collections::BTreeMap::new();
        vars.insert(
            "LOWMEM_BUILD".to_string(),
            OsString::from_vec(vec![0xff, 0x66]),
        );
        let env = Env::from_map(vars);
        let err = env.get("LOWMEM_BUILD").unwrap_err();
        assert!(err.starts_with("LOWMEM_BUILD is not valid UTF-8"), "{err}");
        assert_eq!(env.text("LOWMEM_BUILD"), None);
    }

    /// What `Config::env_var` sets or removes is what rustc and cargo see too.
    #[cfg(unix)]
    #[test]
    fn overrides_reach_child_processes() {
        let env = Env::process(&[
            ("LOWMEM_TEST_SET".to_string(), Some(OsString::from("given"))),
            ("HOME".to_string(), None),
        ]);
        assert_eq!(env.text("LOWMEM_TEST_SET"), Some("given"));
        let mut child = env.command("sh");
        child.args([
            "-c",
            "printf '%s %s' \"${LOWMEM_TEST_SET-unset}\" \"${HOME-unset}\"",
        ]);
        let seen = child.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&seen.stdout), "given unset");
        // Without overrides the child inherits the process environment as it is.
        let plain = Env::process(&[])
            .command("sh")
            .args(["-c", "printf %s \"${LOWMEM_TEST_SET-unset}\""])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&plain.stdout), "unset");
    }
}
