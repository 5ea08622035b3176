//! The environment seam: every variable the crate reads goes through here and is remembered, so
//! the shell can report each one with `rerun-if-env-changed` and tests can supply their own.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;

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
    "NUM_JOBS",
    "OPT_LEVEL",
    "OUT_DIR",
    "PATH",
    "PROFILE",
    "RUSTC",
    "TARGET",
];

/// A view of environment variables that records which ones were asked for.
#[derive(Debug)]
pub(crate) struct Env {
    vars: BTreeMap<String, OsString>,
    read: RefCell<BTreeSet<String>>,
}

impl Env {
    /// The process environment, with `overrides` laid on top (a `None` value removes a variable).
    pub(crate) fn process(overrides: &[(String, Option<OsString>)]) -> Env {
        let mut vars: BTreeMap<String, OsString> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
            .collect();
        for (key, value) in overrides {
            match value {
                Some(v) => vars.insert(key.clone(), v.clone()),
                None => vars.remove(key),
            };
        }
        Env::from_map(vars)
    }

    /// Exactly these variables and no others.
    pub(crate) fn from_map(vars: BTreeMap<String, OsString>) -> Env {
        Env {
            vars,
            read: RefCell::new(BTreeSet::new()),
        }
    }

    /// Exactly these variables, for tests.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        )
    }

    /// The raw value of `key`, recorded as read.
    pub(crate) fn get_os(&self, key: &str) -> Option<&OsString> {
        self.read.borrow_mut().insert(key.to_string());
        self.vars.get(key)
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

    /// Whether `key` is set at all (even empty).
    pub(crate) fn is_set(&self, key: &str) -> bool {
        self.get_os(key).is_some()
    }

    /// Names of the variables read so far that a user can change, for `rerun-if-env-changed`.
    pub(crate) fn watched(&self) -> Vec<String> {
        self.read
            .borrow()
            .iter()
            .filter(|k| {
                !NOT_WATCHED.contains(&k.as_str())
                    && !k.starts_with("CARGO_CFG_")
                    && !k.starts_with("CARGO_FEATURE_")
            })
            .cloned()
            .collect()
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
    fn empty_counts_as_absent_for_text() {
        let env = Env::from_pairs(&[("LOWMEM_BUILD_MEMORY", "")]);
        assert!(env.is_set("LOWMEM_BUILD_MEMORY"));
        assert_eq!(env.text("LOWMEM_BUILD_MEMORY"), None);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_is_a_message_not_a_panic() {
        use std::os::unix::ffi::OsStringExt;
        let mut vars = BTreeMap::new();
        vars.insert(
            "LOWMEM_BUILD".to_string(),
            OsString::from_vec(vec![0xff, 0x66]),
        );
        let env = Env::from_map(vars);
        let err = env.get("LOWMEM_BUILD").unwrap_err();
        assert!(err.starts_with("LOWMEM_BUILD is not valid UTF-8"), "{err}");
        assert_eq!(env.text("LOWMEM_BUILD"), None);
    }
}
