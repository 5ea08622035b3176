//! The filesystem seam: every read of /proc and /sys goes through a [`SystemRoot`], so tests can
//! run the same code on fixture trees.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files under /proc and /sys are small; anything larger than this is not what we expect and is
/// cut off rather than read whole.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Where the machine's `/` is: `/` itself, or a fixture directory in tests.
#[derive(Debug, Clone)]
pub(crate) struct SystemRoot {
    root: PathBuf,
}

impl SystemRoot {
    /// A root at `root`.
    pub(crate) fn new(root: impl Into<PathBuf>) -> SystemRoot {
        SystemRoot { root: root.into() }
    }

    /// `absolute` (a path such as `/proc/meminfo`) under this root.
    pub(crate) fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// Reads a small text file; a one-line message names the file when it cannot be read.
    pub(crate) fn read(&self, absolute: &str) -> Result<String, String> {
        read_small(&self.path(absolute)).map_err(|e| format!("{absolute}: {e}"))
    }
}

/// Reads at most [`MAX_FILE_BYTES`] of a file as text (invalid UTF-8 replaced).
pub(crate) fn read_small(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)?;
    // Valid UTF-8 (nearly always) is kept without the copy and the slower checks of the lossy
    // conversion, which count for the lock files and caches of large graphs.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned()))
}
