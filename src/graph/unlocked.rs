//! A lock for a workspace that has none yet (a new project before its first build): written in
//! memory from the manifests when there is nothing to resolve, that is when every dependency of
//! every package the workspace builds is a path dependency.

use super::manifest::{dependency_tables, DepKind};
use crate::settings::toml::{get_path, Table, Value};
use crate::workspace::{members, normalize, read_toml};
use std::path::{Path, PathBuf};

/// The text of a version 4 Cargo.lock for the workspace rooted at `root`, listing its packages
/// and the path packages they reach; `None` when a dependency needs resolving (a registry or
/// git one), a manifest cannot be read, or two packages share a name.
pub(crate) fn lock_text(root: &Path) -> Option<String> {
    let root_table = read_toml(&root.join("Cargo.toml")).ok()?;
    let mut queue: Vec<PathBuf> = members(root, &root_table);
    if root_table.contains_key("package") {
        queue.push(root.join("Cargo.toml"));
    }
    let mut packages: Vec<(String, String, Vec<String>, PathBuf)> = Vec::new();
    while let Some(manifest) = queue.pop() {
        if packages.iter().any(|p| p.3 == manifest) {
            continue;
        }
        let table = read_toml(&manifest).ok()?;
        let dir = manifest.parent()?;
        let name = get_path(&table, &["package", "name"])?
            .as_str()?
            .to_string();
        let mut deps = Vec::new();
        for deps_table in
            dependency_tables(&table, &[DepKind::Normal, DepKind::Build, DepKind::Dev])
        {
            for (key, spec) in deps_table.iter() {
                let (path, base) = path_of(spec, key, &root_table, dir, root)?;
                let spec_table = spec.as_table();
                let renamed = spec_table
                    .and_then(|t| t.get("package"))
                    .and_then(Value::as_str);
                deps.push(renamed.unwrap_or(key).to_string());
                queue.push(normalize(&base.join(path)).join("Cargo.toml"));
            }
        }
        deps.sort_unstable();
        deps.dedup();
        if packages.iter().any(|p| p.0 == name) {
            return None;
        }
        packages.push((name, version(&table, &root_table), deps, manifest));
    }
    packages.sort_unstable();
    let mut text = String::from("version = 4\n");
    for (name, version, deps, _) in &packages {
        text.push_str(&format!(
            "\n[[package]]\nname = {name:?}\nversion = {version:?}\n"
        ));
        if !deps.is_empty() {
            text.push_str("dependencies = [\n");
            for dep in deps {
                text.push_str(&format!(" {dep:?},\n"));
            }
            text.push_str("]\n");
        }
    }
    Some(text)
}

/// The `path` of a dependency and the directory it is relative to (the package's, or the
/// root's for `workspace = true`); `None` when it is not a path dependency.
fn path_of<'a>(
    spec: &'a Value,
    key: &str,
    root_table: &'a Table,
    dir: &'a Path,
    root: &'a Path,
) -> Option<(&'a str, &'a Path)> {
    let spec = spec.as_table()?;
    if let Some(path) = spec.get("path").and_then(Value::as_str) {
        return Some((path, dir));
    }
    if spec.get("workspace").and_then(Value::as_bool) == Some(true) {
        let inherited = get_path(root_table, &["workspace", "dependencies", key])?;
        return Some((inherited.as_table()?.get("path")?.as_str()?, root));
    }
    None
}

/// The package's version: its own, the workspace's (`version.workspace = true`), or cargo's
/// default for a package that gives none.
fn version(table: &Table, root_table: &Table) -> String {
    let own = get_path(table, &["package", "version"]);
    let inherited = own
        .and_then(Value::as_table)
        .filter(|t| t.get("workspace").and_then(Value::as_bool) == Some(true))
        .and_then(|_| get_path(root_table, &["workspace", "package", "version"]));
    inherited
        .or(own)
        .and_then(Value::as_str)
        .unwrap_or("0.0.0")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::files::write_creating as write;

    #[test]
    fn a_workspace_of_path_packages_gets_a_lock_and_one_with_registry_deps_none() {
        let dir = crate::files::scratch_dir("unlocked");
        write(
            &dir.join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.2.0\"\n\n[dependencies]\nutil = { path = \"util\" }\nshared.workspace = true\n\n[workspace]\nmembers = [\"tools/*\"]\npackage.version = \"1.0.0\"\ndependencies.shared = { path = \"shared\" }\n",
        );
        write(
            &dir.join("util/Cargo.toml"),
            "[package]\nname = \"util\"\nversion.workspace = true\n",
        );
        write(
            &dir.join("shared/Cargo.toml"),
            "[package]\nname = \"shared\"\n",
        );
        write(
            &dir.join("tools/cli/Cargo.toml"),
            "[package]\nname = \"cli\"\nversion = \"0.1.0\"\n[target.'cfg(unix)'.build-dependencies]\nmy-util = { path = \"../../util\", package = \"util\" }\n",
        );
        let text = lock_text(&dir).unwrap();
        assert_eq!(
            text,
            "version = 4\n\n\
             [[package]]\nname = \"app\"\nversion = \"0.2.0\"\ndependencies = [\n \"shared\",\n \"util\",\n]\n\n\
             [[package]]\nname = \"cli\"\nversion = \"0.1.0\"\ndependencies = [\n \"util\",\n]\n\n\
             [[package]]\nname = \"shared\"\nversion = \"0.0.0\"\n\n\
             [[package]]\nname = \"util\"\nversion = \"1.0.0\"\n"
        );
        // What cargo writes parses the same way.
        let lock = crate::graph::lock::parse(&text).unwrap();
        assert!(lock.problems.is_empty(), "{:?}", lock.problems);
        assert_eq!(lock.packages[0].deps, [2, 3]);

        write(
            &dir.join("util/Cargo.toml"),
            "[package]\nname = \"util\"\n[dev-dependencies]\nserde = \"1\"\n",
        );
        assert_eq!(lock_text(&dir), None, "serde needs resolving");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
