//! How much Rust source a package's crate has: bytes and files under its root file's directory,
//! from directory listings and file metadata alone (no file is read).

use std::fs;
use std::path::Path;

/// The size of a crate's sources, for estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SourceSize {
    /// Bytes of all `.rs` files under the root file's directory.
    pub(crate) bytes: u64,
    /// How many `.rs` files that is.
    pub(crate) files: u32,
    /// Bytes of the root file alone (`src/lib.rs`): a crate that is one generated file, or
    /// mostly `include!`s, shows here.
    pub(crate) root_bytes: u64,
}

/// Directories that hold no part of the lib: other targets, build output, and hidden ones
/// (`.git`), skipped by name at any depth.
const SKIPPED: [&str; 4] = ["tests", "benches", "examples", "target"];

/// How deep the walk goes: real source trees are a few levels deep; the bound keeps a strange
/// tree (a bind mount of `/`) from taking long.
const MAX_DEPTH: usize = 16;

/// Measures the crate whose root file is `root_file` (`<package>/src/lib.rs`): every `.rs` file
/// under its directory, skipping [`SKIPPED`] and hidden directories and never following a
/// symlinked directory. `None` when the root file does not exist.
pub(crate) fn measure(root_file: &Path) -> Option<SourceSize> {
    let root_bytes = fs::metadata(root_file).ok()?.len();
    let mut size = SourceSize {
        root_bytes,
        ..SourceSize::default()
    };
    if let Some(dir) = root_file.parent() {
        walk(dir, 0, &mut size);
    }
    Some(size)
}

fn walk(dir: &Path, depth: usize, size: &mut SourceSize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if kind.is_dir() {
            if depth < MAX_DEPTH && !name.starts_with('.') && !SKIPPED.contains(&name.as_ref()) {
                walk(&entry.path(), depth + 1, size);
            }
            continue;
        }
        if !name.ends_with(".rs") {
            continue;
        }
        // `DirEntry::metadata` does not follow symlinks; a symlinked file counts as its target
        // (a symlinked directory is never entered: `file_type` says symlink, not dir).
        let bytes = if kind.is_symlink() {
            fs::metadata(entry.path())
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        } else {
            entry.metadata().ok().map(|m| m.len())
        };
        if let Some(bytes) = bytes {
            size.bytes += bytes;
            size.files += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::scratch_dir;

    fn write(path: &Path, bytes: usize) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "x".repeat(bytes)).unwrap();
    }

    #[test]
    fn counts_rs_files_under_the_root_directory_only() {
        let dir = scratch_dir("size");
        write(&dir.join("src/lib.rs"), 100);
        write(&dir.join("src/a.rs"), 20);
        write(&dir.join("src/deep/b.rs"), 3);
        write(&dir.join("src/notes.md"), 1000);
        write(&dir.join("src/tests/t.rs"), 1000);
        write(&dir.join("src/benches/b.rs"), 1000);
        write(&dir.join("src/examples/e.rs"), 1000);
        write(&dir.join("src/target/debug/x.rs"), 1000);
        write(&dir.join("src/.hidden/h.rs"), 1000);
        write(&dir.join("tests/it.rs"), 1000);
        write(&dir.join("build.rs"), 1000);
        write(&dir.join("outside/o.rs"), 1000);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("outside"), dir.join("src/linked")).unwrap();
            std::os::unix::fs::symlink(dir.join("src/a.rs"), dir.join("src/alias.rs")).unwrap();
        }
        let size = measure(&dir.join("src/lib.rs")).unwrap();
        let (bytes, files) = if cfg!(unix) { (143, 4) } else { (123, 3) };
        assert_eq!(
            size,
            SourceSize {
                bytes,
                files,
                root_bytes: 100
            }
        );
        assert_eq!(measure(&dir.join("src/missing.rs")), None);
        let _ = fs::remove_dir_all(&dir);
    }
}
