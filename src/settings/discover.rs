//! Finding and loading the files cargo takes settings from: the workspace root manifest and the
//! `.cargo/config.toml` files, nearest first.

use super::toml::Table;
use crate::env::Env;
use crate::workspace::{read_toml, root_manifest, FileError};
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
    match read_toml(path) {
        Ok(table) => {
            log.read(path);
            Some(Loaded {
                path: path.to_path_buf(),
                table,
            })
        }
        Err(FileError::Missing) => None,
        Err(e) => {
            if matches!(e, FileError::Invalid(_)) {
                log.read(path);
            }
            log.problems
                .push(format!("{}: {e}; its settings are ignored", path.display()));
            None
        }
    }
}

impl Log {
    /// Notes `path` as read, once, for `rerun-if-changed`.
    fn read(&mut self, path: &Path) {
        if !self.files_read.iter().any(|p| p == path) {
            self.files_read.push(path.to_path_buf());
        }
    }
}

/// The manifest that holds the workspace's `[profile.*]`: the workspace root manifest of the
/// package at `manifest_dir` (see [`root_manifest`]), else the package's own.
pub(crate) fn workspace_manifest(manifest_dir: &Path, log: &mut Log) -> Option<Loaded> {
    let own = load(&manifest_dir.join("Cargo.toml"), log)?;
    match root_manifest(&own.path, &own.table, |path| {
        load(path, log).map(|loaded| loaded.table)
    }) {
        Some((path, table)) => Some(Loaded { path, table }),
        None => Some(own),
    }
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
