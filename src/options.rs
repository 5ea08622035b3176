//! The `LOWMEM_BUILD*` environment knobs, parsed into plain data with one message per bad value.

use crate::env::Env;
use crate::size::{parse_size, ACCEPTED_FORMS};
use std::fmt;

/// What `check()` does when memory is short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Print no warnings about memory or feature rules, never fail and skip the feature check;
    /// the `rustc-env`/`cfg` hints are still emitted so code that reads them keeps compiling
    /// (and a malformed knob is still one warning, the report still printed when verbose).
    Off,
    /// Print warnings with the fixes (the default).
    #[default]
    Warn,
    /// Fail the build when the tier is `low` or `critical`, a feature rule is broken, or rules
    /// are set that this build of the crate cannot check (never because a probe failed).
    Deny,
}

impl Policy {
    /// Parses `off`, `warn` or `deny` (any case).
    pub(crate) fn parse(text: &str) -> Option<Policy> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Policy::Off),
            "warn" => Some(Policy::Warn),
            "deny" => Some(Policy::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Off => "off",
            Policy::Warn => "warn",
            Policy::Deny => "deny",
        })
    }
}

/// The knobs as the environment sets them; `None` = not set (or not valid).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EnvOptions {
    pub(crate) policy: Option<Policy>,
    pub(crate) memory: Option<u64>,
    pub(crate) min_memory: Option<u64>,
    pub(crate) verbose: Option<bool>,
    /// One line per malformed value, naming the variable, the value and what is accepted.
    pub(crate) problems: Vec<String>,
}

/// Reads `LOWMEM_BUILD`, `LOWMEM_BUILD_MEMORY`, `LOWMEM_BUILD_MIN_MEMORY`, `LOWMEM_BUILD_VERBOSE`.
pub(crate) fn read_options(env: &Env) -> EnvOptions {
    let mut options = EnvOptions::default();
    const POLICIES: &str = "off, warn, deny";
    const SWITCH: &str = "1 or 0";
    let text = |key: &str, accepted: &str, problems: &mut Vec<String>| match env.get(key) {
        Ok(value) => value.map(str::to_string),
        Err(_) => {
            let raw = env.get_os(key).cloned().unwrap_or_default();
            problems.push(format!(
                "{key}={raw:?} is not valid UTF-8; accepted: {accepted} (ignored)"
            ));
            None
        }
    };
    let mut problems = Vec::new();
    if let Some(value) = text("LOWMEM_BUILD", POLICIES, &mut problems) {
        options.policy = Policy::parse(&value);
        if options.policy.is_none() {
            problems.push(format!(
                "LOWMEM_BUILD={value:?} is not understood; accepted: {POLICIES} (using the policy from build.rs)"
            ));
        }
    }
    for (key, slot) in [
        ("LOWMEM_BUILD_MEMORY", &mut options.memory),
        ("LOWMEM_BUILD_MIN_MEMORY", &mut options.min_memory),
    ] {
        if let Some(value) = text(key, ACCEPTED_FORMS, &mut problems) {
            *slot = parse_size(&value);
            if slot.is_none() {
                problems.push(format!(
                    "{key}={value:?} is not a size; accepted: {ACCEPTED_FORMS} (ignored)"
                ));
            }
        }
    }
    if let Some(value) = text("LOWMEM_BUILD_VERBOSE", SWITCH, &mut problems) {
        options.verbose = match value.trim() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" | "" => Some(false),
            _ => {
                problems.push(format!(
                    "LOWMEM_BUILD_VERBOSE={value:?} is not understood; accepted: {SWITCH} (ignored)"
                ));
                None
            }
        };
    }
    options.problems = problems;
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::{GIB, MIB};

    #[test]
    fn reads_valid_knobs() {
        let env = Env::from_pairs(&[
            ("LOWMEM_BUILD", "Deny"),
            ("LOWMEM_BUILD_MEMORY", "2GiB"),
            ("LOWMEM_BUILD_MIN_MEMORY", "1536M"),
            ("LOWMEM_BUILD_VERBOSE", "1"),
        ]);
        let options = read_options(&env);
        assert_eq!(options.policy, Some(Policy::Deny));
        assert_eq!(options.memory, Some(2 * GIB));
        assert_eq!(options.min_memory, Some(1536 * MIB));
        assert_eq!(options.verbose, Some(true));
        assert!(options.problems.is_empty());
    }

    #[test]
    fn each_bad_value_is_one_line_naming_the_variable() {
        let env = Env::from_pairs(&[
            ("LOWMEM_BUILD", "maybe"),
            ("LOWMEM_BUILD_MEMORY", "abc"),
            ("LOWMEM_BUILD_MIN_MEMORY", ""),
            ("LOWMEM_BUILD_VERBOSE", "loud"),
        ]);
        let options = read_options(&env);
        assert_eq!(options.policy, None);
        assert_eq!(options.memory, None);
        assert_eq!(options.problems.len(), 4, "{:?}", options.problems);
        for (problem, key) in options.problems.iter().zip([
            "LOWMEM_BUILD=",
            "LOWMEM_BUILD_MEMORY=",
            "LOWMEM_BUILD_MIN_MEMORY=",
            "LOWMEM_BUILD_VERBOSE=",
        ]) {
            assert!(problem.starts_with(key), "{problem}");
            assert!(!problem.contains('\n'));
        }
        assert!(options.problems[1].contains("2GiB"));
    }

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_value_names_the_variable_and_the_accepted_forms() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        let mut vars = std::collections::BTreeMap::new();
        for key in ["LOWMEM_BUILD", "LOWMEM_BUILD_MEMORY"] {
            vars.insert(key.to_string(), OsString::from_vec(b"2\xffGiB".to_vec()));
        }
        let options = read_options(&Env::from_map(vars));
        assert_eq!((options.policy, options.memory), (None, None));
        assert_eq!(
            options.problems,
            [
                r#"LOWMEM_BUILD="2\xFFGiB" is not valid UTF-8; accepted: off, warn, deny (ignored)"#
                    .to_string(),
                format!(
                    r#"LOWMEM_BUILD_MEMORY="2\xFFGiB" is not valid UTF-8; accepted: {ACCEPTED_FORMS} (ignored)"#
                ),
            ]
        );
    }
}
