//! The workspace around the caller: its root, members' manifests and Cargo.lock, which decide
//! the resolved features and so are watched and hashed.

use super::caller::Caller;
use crate::workspace::{excluded, members, read_toml, root_manifest};
use std::path::{Path, PathBuf};

/// The caller's workspace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Workspace {
    /// The directory of the workspace root manifest.
    pub(crate) root: PathBuf,
    /// The members' manifests, root's excluded, sorted.
    pub(crate) members: Vec<PathBuf>,
    /// The directories the root's `workspace.exclude` lists.
    pub(crate) excluded: Vec<PathBuf>,
}

impl Workspace {
    /// The workspace `caller` belongs to, found as cargo does: the caller's own manifest when it
    /// has `[workspace]`, the one `package.workspace` names, else the nearest ancestor with
    /// `[workspace]` that does not exclude it; else the caller is its own root.
    pub(crate) fn of(caller: &Caller) -> Workspace {
        let found = root_manifest(&caller.manifest, &caller.table, |path| read_toml(path).ok());
        let (root, table) = match &found {
            Some((path, table)) => (path.parent().unwrap_or(path).to_path_buf(), table),
            None => (caller.dir().to_path_buf(), &caller.table),
        };
        let members = members(&root, table);
        let excluded = excluded(&root, table);
        Workspace {
            root,
            members,
            excluded,
        }
    }

    /// Whether the package in `dir` is one of this workspace's to edit: under the root and not
    /// excluded, as cargo makes path packages there members. Registry and git packages, path
    /// dependencies elsewhere and excluded directories (vendored code) are someone else's.
    pub(crate) fn owns(&self, dir: &Path) -> bool {
        dir.starts_with(&self.root) && !self.excluded.iter().any(|e| dir.starts_with(e))
    }

    /// A workspace at `root` with nothing excluded, for fixtures whose paths do not exist.
    #[cfg(test)]
    pub(crate) fn at(root: &str) -> Workspace {
        Workspace {
            root: PathBuf::from(root),
            members: Vec::new(),
            excluded: Vec::new(),
        }
    }

    /// The root manifest.
    pub(crate) fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    /// `Cargo.lock` at the root.
    pub(crate) fn lockfile(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }

    /// What decides the resolved features: the root manifest, each member's, and Cargo.lock;
    /// those that exist (cargo reruns a build script on every build for a missing one).
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.manifest()];
        files.extend(self.members.iter().cloned());
        files.push(self.lockfile());
        files.retain(|f| f.is_file());
        files
    }

    /// `path` relative to the workspace root when it is inside it, for messages.
    pub(crate) fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::files::write_creating as write;

    fn caller_at(manifest: &Path) -> Caller {
        Caller {
            name: "x".into(),
            version: None,
            manifest: manifest.to_path_buf(),
            features: Vec::new(),
            target: None,
            table: read_toml(manifest).unwrap(),
        }
    }

    #[test]
    fn finds_the_root_members_and_lockfile() {
        let root = crate::files::scratch_dir("workspace");
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\", \"tools/cli\", \"./\"]\nexclude = [\"crates/old\"]\n",
        );
        let pkg = "[package]\nname = \"x\"\n";
        write(&root.join("crates/app/Cargo.toml"), pkg);
        write(&root.join("crates/lib/Cargo.toml"), pkg);
        write(&root.join("crates/old/Cargo.toml"), pkg);
        fs::create_dir_all(root.join("crates/not-a-crate")).unwrap();
        write(&root.join("tools/cli/Cargo.toml"), pkg);
        write(&root.join("outside/Cargo.toml"), pkg);
        write(
            &root.join("named/Cargo.toml"),
            "[package]\nname = \"x\"\nworkspace = \"../crates/app/../..\"\n",
        );

        let ws = Workspace::of(&caller_at(&root.join("crates/app/Cargo.toml")));
        assert_eq!(ws.root, root);
        let members = [
            root.join("Cargo.toml"),
            root.join("crates/app/Cargo.toml"),
            root.join("crates/lib/Cargo.toml"),
            root.join("tools/cli/Cargo.toml"),
        ];
        assert_eq!(ws.files(), members);
        write(&root.join("Cargo.lock"), "version = 4\n");
        assert_eq!(ws.files().last(), Some(&root.join("Cargo.lock")));
        assert_eq!(
            ws.relative(&root.join("crates/app/Cargo.toml")),
            "crates/app/Cargo.toml"
        );
        assert_eq!(
            ws.relative(Path::new("/elsewhere/Cargo.toml")),
            "/elsewhere/Cargo.toml"
        );

        // An excluded package is its own root; `package.workspace` points at the root.
        let old = Workspace::of(&caller_at(&root.join("crates/old/Cargo.toml")));
        assert_eq!(old.root, root.join("crates/old"));
        let named = Workspace::of(&caller_at(&root.join("named/Cargo.toml")));
        assert_eq!(named.root, root);
        let _ = fs::remove_dir_all(&root);
    }
}
