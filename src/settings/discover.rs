//! Finding and loading the files cargo takes settings from: the workspace root manifest and the
//! `.cargo/config.toml` files, nearest first.

use super::toml::{self, Table};
use crate::env::Env;
use crate::probe::fs::read_small;
use std::path::{Path, PathBuf};

/// A TOML file that was read and parsed.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) path: PathBuf,
    pub(crate) table: Table,
}

/// What loading found: the files (for `rerun-if-changed`) and one-line problems.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) files_read: Vec<PathBuf>,
    pub(crate) problems: Vec<String>,
}

/// Reads and parses `path`; `None` when it does not exist (silently) or is unreadable or
/// invalid (with a problem naming the file).
pub(crate) fn load(path: &Path, log: &mut Log) -> Option<Loaded> {
    let text = match read_small(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            log.problems.push(format!(
                "{}: cannot read ({e}); its settings are ignored",
                path.display()
            ));
            return None;
        }
    };
    if !log.files_read.iter().any(|p| p == path) {
        log.files_read.push(path.to_path_buf());
    }
    match toml::parse(&text) {
        Ok(table) => Some(Loaded {
            path: path.to_path_buf(),
            table,
        }),
        Err(e) => {
            log.problems.push(format!(
                "{}: not valid TOML ({e}); its settings are ignored",
                path.display()
            ));
            None
        }
    }
}

/// The manifest that holds the workspace's `[profile.*]`: the nearest `Cargo.toml` at or above
/// `manifest_dir` with a `[workspace]` table (or the one `package.workspace` names), else the
/// package's own.
pub(crate) fn workspace_manifest(manifest_dir: &Path, log: &mut Log) -> Option<Loaded> {
    let own = load(&manifest_dir.join("Cargo.toml"), log)?;
    if own.table.contains_key("workspace") {
        return Some(own);
    }
    if let Some(explicit) =
        toml::get_path(&own.table, &["package", "workspace"]).and_then(|v| v.as_str())
    {
        let path = manifest_dir.join(explicit).join("Cargo.toml");
        return load(&path, log).or(Some(own));
    }
    for dir in manifest_dir.ancestors().skip(1) {
        let candidate = dir.join("Cargo.toml");
        if !candidate.is_file() {
            continue;
        }
        if let Some(found) = load(&candidate, log) {
            if found.table.contains_key("workspace") {
                return Some(found);
            }
        }
    }
    Some(own)
}

/// The cargo config files that apply, highest precedence first: `.cargo/config.toml` (or the
/// legacy `.cargo/config`) in `start` and each ancestor, then `$CARGO_HOME/config.toml`.
pub(crate) fn config_files(start: Option<&Path>, env: &Env, log: &mut Log) -> Vec<Loaded> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for dir in start.into_iter().flat_map(Path::ancestors) {
        candidates.push(dir.join(".cargo"));
    }
    candidates.extend(env.cargo_home());
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for dir in candidates {
        if seen.contains(&dir) {
            continue;
        }
        seen.push(dir.clone());
        let toml_path = dir.join("config.toml");
        let path = if toml_path.is_file() {
            toml_path
        } else {
            dir.join("config")
        };
        if path.is_file() {
            out.extend(load(&path, log));
        }
    }
    out
}
