//! Resolving one key of a cargo profile the way cargo does: `CARGO_PROFILE_<NAME>_<KEY>` over
//! config files over the manifest, and up the `inherits` chain to `dev` or `release`.

use super::discover::Loaded;
use super::toml::{self, Value};
use super::Origin;
use crate::env::envify;
use crate::env::Env;

/// A profile value before interpretation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

impl Raw {
    /// The value as cargo would spell it in an environment variable.
    pub(crate) fn text(&self) -> String {
        match self {
            Raw::Text(t) => t.clone(),
            Raw::Integer(i) => i.to_string(),
            Raw::Boolean(b) => b.to_string(),
        }
    }

    fn from_value(value: &Value) -> Option<Raw> {
        match value {
            Value::String(s) => Some(Raw::Text(s.clone())),
            Value::Integer(i) => Some(Raw::Integer(*i)),
            Value::Boolean(b) => Some(Raw::Boolean(*b)),
            _ => None,
        }
    }
}

/// The longest `inherits` chain followed before calling it a cycle.
pub(crate) const MAX_CHAIN: usize = 16;

/// The places profiles are defined, in precedence order.
pub(crate) struct Profiles<'a> {
    pub(crate) env: &'a Env,
    /// Config files, highest precedence first.
    pub(crate) configs: &'a [Loaded],
    pub(crate) manifest: Option<&'a Loaded>,
}

impl Profiles<'_> {
    /// `key` as set for exactly `profile` (no inheritance), with where it was set.
    fn own(&self, profile: &str, key: &str) -> Option<(Raw, Origin)> {
        let var = format!("CARGO_PROFILE_{}_{}", envify(profile), envify(key));
        if let Some(text) = self.env.text(&var) {
            return Some((Raw::Text(text.to_string()), Origin::Env(var)));
        }
        let table = format!("[profile.{profile}]");
        for config in self.configs {
            if let Some(raw) = lookup(config, &["profile", profile, key]) {
                return Some((raw, Origin::Config(config.path.clone(), table)));
            }
        }
        let manifest = self.manifest?;
        lookup(manifest, &["profile", profile, key])
            .map(|raw| (raw, Origin::Manifest(manifest.path.clone(), table)))
    }

    /// `key` of `[profile.<profile>.package."*"]` (all dependencies), from config or manifest.
    fn own_for_dependencies(&self, profile: &str, key: &str) -> Option<(Raw, Origin)> {
        let path = ["profile", profile, "package", "*", key];
        let table = format!("[profile.{profile}.package.\"*\"]");
        for config in self.configs {
            if let Some(raw) = lookup(config, &path) {
                return Some((raw, Origin::Config(config.path.clone(), table)));
            }
        }
        let manifest = self.manifest?;
        lookup(manifest, &path).map(|raw| (raw, Origin::Manifest(manifest.path.clone(), table)))
    }

    /// `profile` and the profiles it inherits from, ending at `dev` or `release`. A missing
    /// `inherits` or a cycle ends the chain at `dev`, with a problem.
    pub(crate) fn chain(&self, profile: &str) -> (Vec<String>, Option<String>) {
        let mut chain = vec![profile.to_string()];
        loop {
            let current = chain.last().cloned().unwrap_or_default();
            let current = current.as_str();
            if current == "dev" || current == "release" {
                return (chain, None);
            }
            let (parent, origin) = match self.own(current, "inherits") {
                Some((raw, origin)) => (raw.text(), Some(origin)),
                None => match current {
                    "test" | "doc" | "check" => ("dev".to_string(), None),
                    "bench" => ("release".to_string(), None),
                    _ => {
                        chain.push("dev".to_string());
                        let problem = format!(
                            "profile `{current}` has no `inherits`; assuming it is like dev"
                        );
                        return (chain, Some(problem));
                    }
                },
            };
            if chain.contains(&parent) || chain.len() >= MAX_CHAIN {
                let set_in = origin.map(|o| format!(", set in {o}")).unwrap_or_default();
                let problem = format!(
                    "profile `{profile}` inherits in a cycle ({} -> {parent}{set_in}); assuming it is like dev",
                    chain.join(" -> ")
                );
                chain.push("dev".to_string());
                return (chain, Some(problem));
            }
            chain.push(parent);
        }
    }

    /// `key` for `chain` (from [`Profiles::chain`]): the first profile in it that sets it.
    pub(crate) fn get(&self, chain: &[String], key: &str) -> Option<(Raw, Origin)> {
        chain.iter().find_map(|p| self.own(p, key))
    }

    /// `key` for all dependencies of `chain`'s profile (`package."*"`), if any profile sets it.
    pub(crate) fn get_for_dependencies(
        &self,
        chain: &[String],
        key: &str,
    ) -> Option<(Raw, Origin)> {
        chain.iter().find_map(|p| self.own_for_dependencies(p, key))
    }
}

fn lookup(file: &Loaded, path: &[&str]) -> Option<Raw> {
    toml::get_path(&file.table, path).and_then(Raw::from_value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn loaded(name: &str, text: &str) -> Loaded {
        Loaded {
            path: PathBuf::from(name),
            table: toml::parse(text).unwrap(),
        }
    }

    #[test]
    fn env_beats_config_beats_manifest_and_inheritance_walks_up() {
        let manifest = loaded(
            "Cargo.toml",
            "[profile.dev]\ndebug = 1\ncodegen-units = 4\n[profile.lowmem]\ninherits = \"release\"\nlto = \"fat\"\n",
        );
        let configs = [loaded(
            ".cargo/config.toml",
            "[profile.dev]\ndebug = \"line-tables-only\"\n",
        )];
        let env = Env::from_pairs(&[("CARGO_PROFILE_LOWMEM_LTO", "thin")]);
        let profiles = Profiles {
            env: &env,
            configs: &configs,
            manifest: Some(&manifest),
        };

        let (dev, problem) = profiles.chain("dev");
        assert_eq!((dev.as_slice(), problem), (&["dev".to_string()][..], None));
        let (raw, origin) = profiles.get(&dev, "debug").unwrap();
        assert_eq!(raw, Raw::Text("line-tables-only".into()));
        assert!(matches!(origin, Origin::Config(..)));
        assert_eq!(
            profiles.get(&dev, "codegen-units").unwrap().0,
            Raw::Integer(4)
        );

        let (lowmem, _) = profiles.chain("lowmem");
        assert_eq!(lowmem, ["lowmem", "release"]);
        let (raw, origin) = profiles.get(&lowmem, "lto").unwrap();
        assert_eq!(
            (raw, origin),
            (
                Raw::Text("thin".into()),
                Origin::Env("CARGO_PROFILE_LOWMEM_LTO".into())
            )
        );
        assert_eq!(profiles.get(&lowmem, "debug"), None);
    }

    #[test]
    fn cycles_and_missing_inherits_end_at_dev_with_a_problem() {
        let manifest = loaded(
            "Cargo.toml",
            "[profile.a]\ninherits = \"b\"\n[profile.b]\ninherits = \"a\"\n[profile.c]\nopt-level = 1\n",
        );
        let env = Env::from_pairs(&[]);
        let profiles = Profiles {
            env: &env,
            configs: &[],
            manifest: Some(&manifest),
        };
        let (chain, problem) = profiles.chain("a");
        assert_eq!(chain.last().map(String::as_str), Some("dev"));
        assert_eq!(
            problem.as_deref(),
            Some("profile `a` inherits in a cycle (a -> b -> a, set in [profile.b] in Cargo.toml); assuming it is like dev")
        );
        let (chain, problem) = profiles.chain("c");
        assert_eq!(chain, ["c", "dev"]);
        assert!(problem.unwrap().contains("no `inherits`"));
        assert_eq!(profiles.chain("bench").0, ["bench", "release"]);
    }

    #[test]
    fn dependency_overrides_and_wrong_types() {
        let manifest = loaded(
            "Cargo.toml",
            "[profile.dev.package.\"*\"]\ndebug = false\n[profile.release]\ndebug = [1]\n",
        );
        let env = Env::from_pairs(&[]);
        let profiles = Profiles {
            env: &env,
            configs: &[],
            manifest: Some(&manifest),
        };
        let dev = profiles.chain("dev").0;
        assert_eq!(
            profiles.get_for_dependencies(&dev, "debug").unwrap().0,
            Raw::Boolean(false)
        );
        assert_eq!(profiles.get(&dev, "debug"), None);
        assert_eq!(profiles.get(&["release".to_string()], "debug"), None);
    }
}
