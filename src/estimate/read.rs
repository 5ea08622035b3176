//! The shell around the estimate: finds the build's workspace, platform, target directory and
//! store, and reads the graph. Everything it cannot find is a note, never an error.

use super::table;
use crate::env::Env;
use crate::graph::{self, CfgSet, Graph, Inputs, Root};
use crate::probe::{build, fs::SystemRoot};
use crate::process;
use crate::settings::{discover, BuildSettings};
use crate::store::{self, Record};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `rustc --print cfg` may take (only outside a build script, or when cross-compiling).
const PRINT_CFG_TIMEOUT: Duration = Duration::from_secs(10);

/// What the estimate reads about this build.
#[derive(Debug)]
pub(crate) struct BuildInputs {
    /// The packages it compiles.
    pub(crate) graph: Graph,
    /// What was measured here before (the store in the target directory).
    pub(crate) store: Vec<Record>,
    /// The files read that decide the graph, for `rerun-if-changed` (Cargo.lock).
    pub(crate) files: Vec<PathBuf>,
}

/// Reads the graph of the package at `manifest_dir` (or `CARGO_MANIFEST_DIR`), built for
/// `settings.target`. `Err` says in one line why there is no graph to estimate.
pub(crate) fn read(
    env: &Env,
    system: &SystemRoot,
    settings: &BuildSettings,
    manifest_path: Option<&Path>,
    rows: &[table::Row<'_>],
) -> Result<BuildInputs, String> {
    let manifest_dir = manifest_path
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .or_else(|| settings.manifest_dir.clone())
        .ok_or("no package to estimate: not in a build script and no manifest path given")?;
    let manifest_dir = if manifest_dir.is_relative() {
        std::env::current_dir()
            .map_err(|e| format!("cannot resolve {}: {e}", manifest_dir.display()))?
            .join(manifest_dir)
    } else {
        manifest_dir
    };
    let target_dir = target_dir(env, settings, &manifest_dir);
    let cargo_home = env.cargo_home();
    let dependency = settings.in_build_script
        && manifest_path.is_none()
        && crate::workspace::is_dependency_source(&manifest_dir, cargo_home.as_deref());
    // In a registry, git or vendored dependency's build script, its own directory is no
    // workspace: the build's workspace is around where cargo was started, else around the
    // target directory (cargo's default layout).
    let (workspace, roots) = match (dependency, env.text("CARGO_PKG_NAME")) {
        (true, Some(name)) => {
            let started = build::cargo_cwd(system);
            let around = started
                .iter()
                .chain(
                    target_dir
                        .as_ref()
                        .and_then(|t| t.parent().map(Path::to_path_buf))
                        .iter(),
                )
                .find_map(|dir| {
                    dir.ancestors()
                        .find(|d| d.join("Cargo.lock").is_file())
                        .map(Path::to_path_buf)
                })
                .unwrap_or_default();
            (around, vec![Root::Name(name.to_string())])
        }
        _ => {
            let mut log = discover::Log::default();
            let root = discover::workspace_manifest(&manifest_dir, &mut log);
            let root_dir = root
                .as_ref()
                .and_then(|m| m.path.parent())
                .map_or_else(|| manifest_dir.clone(), Path::to_path_buf);
            // A virtual manifest (a workspace without a package) builds its members.
            let virtual_members = root
                .as_ref()
                .filter(|m| root_dir == manifest_dir && !m.table.contains_key("package"))
                .map(|m| crate::workspace::members(&root_dir, &m.table));
            let roots = match virtual_members {
                Some(members) => members
                    .iter()
                    .filter_map(|m| m.parent().map(|d| Root::Dir(d.to_path_buf())))
                    .collect(),
                None => vec![Root::Dir(manifest_dir.clone())],
            };
            (root_dir, roots)
        }
    };
    let lockfile = workspace.join("Cargo.lock");
    // Before the first build a workspace whose dependencies are all path dependencies has
    // nothing to resolve: its lock is written in memory.
    let unlocked = if lockfile.is_file() {
        None
    } else {
        Some(graph::unlocked::lock_text(&workspace).ok_or_else(|| format!(
            "no Cargo.lock in {}: the build's graph is unknown (cargo writes it on the first build, or run `cargo generate-lockfile`)",
            workspace.display()
        ))?)
    };
    let (target, host) = platforms(env, settings)?;
    let cache_dir = target_dir.as_ref().map(|t| t.join("lowmem"));
    // In a build script the package's active features: exact names from cargo 1.84 on, else the
    // names of `CARGO_FEATURE_<NAME>` (upper-cased, `_` for `-`), which the graph matches to the
    // manifest's. Cargo sets neither when no feature is on. Elsewhere the default features.
    let root_features: Option<Vec<String>> = settings.in_build_script.then(|| {
        let split = |list: &str| -> Vec<String> {
            list.split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect()
        };
        match env.get("CARGO_CFG_FEATURE") {
            Ok(Some(list)) => split(list),
            _ => env
                .prefixed("CARGO_FEATURE_")
                .into_iter()
                .map(|(key, _)| key["CARGO_FEATURE_".len()..].to_string())
                .collect(),
        }
    });
    // Sources are measured only for the size model: crates the shipped table has every figure
    // of never need it, and the heavy ones are in it. Sorted once, searched per package (the
    // graph asks for every package on every run, cached or not).
    // `rows` is sorted by package.
    let measure = |name: &str, version: &str| {
        let start = rows.partition_point(|r| r.package < name);
        let mut matching = rows[start..]
            .iter()
            .take_while(|r| r.package == name)
            .filter(|r| table::compatible(r.version, version))
            .peekable();
        let complete = |r: &table::Row<'_>| {
            r.peak_mib.iter().all(Option::is_some) && r.out_kib.iter().all(Option::is_some)
        };
        !(matching.peek().is_some() && matching.all(complete))
    };
    let inputs = Inputs {
        workspace: &workspace,
        roots: &roots,
        root_features: root_features.as_deref(),
        target: &target,
        host: &host,
        dev_deps: false,
        measure: &measure,
        cargo_home: cargo_home.as_deref(),
        cache_dir: cache_dir.as_deref(),
    };
    let graph = match &unlocked {
        Some(text) => graph::read_locked(&inputs, &workspace, &lockfile, text),
        None => graph::read(&inputs),
    };
    let store_path = env
        .text("LOWMEM_BUILD_STORE")
        .map(PathBuf::from)
        .or_else(|| target_dir.as_ref().map(|t| store::path_in(t)));
    let store = store_path.map(|p| store::read(&p)).unwrap_or_default();
    Ok(BuildInputs {
        graph,
        store,
        // A file that does not exist would rerun a build script on every build.
        files: if unlocked.is_none() {
            vec![lockfile]
        } else {
            Vec::new()
        },
    })
}

/// The target directory, as cargo decides it: in a build script, above `OUT_DIR`
/// (`<target>/[<triple>/]<profile>/build/<pkg>-<hash>/out`, where cargo put it whatever set
/// it); else `CARGO_TARGET_DIR`, `CARGO_BUILD_TARGET_DIR` (relative to the current directory),
/// `[build] target-dir` in the cargo config files (relative to the directory holding their
/// `.cargo`), else `<workspace>/target`.
fn target_dir(env: &Env, settings: &BuildSettings, manifest_dir: &Path) -> Option<PathBuf> {
    if let Some(out) = env.text("OUT_DIR") {
        let profile_dir = Path::new(out).ancestors().nth(3)?;
        let above = profile_dir.parent()?;
        let triple = above
            .file_name()
            .is_some_and(|n| n == settings.target.as_str());
        return if triple {
            above.parent().map(Path::to_path_buf)
        } else {
            Some(above.to_path_buf())
        };
    }
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        if let Some(dir) = env.text(var) {
            let cwd = std::env::current_dir().unwrap_or_default();
            return Some(cwd.join(dir));
        }
    }
    let mut log = discover::Log::default();
    for config in discover::config_files(Some(manifest_dir), env, &mut log) {
        let dir = crate::settings::toml::get_path(&config.table, &["build", "target-dir"])
            .and_then(|v| v.as_str());
        // `<base>/.cargo/config.toml`: relative paths start at `<base>`.
        if let (Some(dir), Some(base)) = (dir, config.path.parent().and_then(Path::parent)) {
            return Some(base.join(dir));
        }
    }
    let mut log = discover::Log::default();
    let root = discover::workspace_manifest(manifest_dir, &mut log)?;
    Some(root.path.parent()?.join("target"))
}

/// The target's and the host's cfg sets: from cargo's `CARGO_CFG_*` in a build script (the
/// host's from rustc only when cross-compiling), else from `rustc --print cfg`.
fn platforms(env: &Env, settings: &BuildSettings) -> Result<(CfgSet, CfgSet), String> {
    let cross = settings.target != settings.host;
    if settings.in_build_script {
        let target = CfgSet::from_cargo_env(Some(&settings.target), &env.prefixed("CARGO_CFG_"));
        let host = if cross {
            print_cfg(env, &settings.host)?
        } else {
            target.clone()
        };
        return Ok((target, host));
    }
    let host = print_cfg(env, &settings.host)?;
    let target = if cross {
        print_cfg(env, &settings.target)?
    } else {
        host.clone()
    };
    Ok((target, host))
}

fn print_cfg(env: &Env, triple: &str) -> Result<CfgSet, String> {
    let rustc = env.text("RUSTC").unwrap_or("rustc");
    let mut command = env.command(rustc);
    command.args(["--print", "cfg"]);
    if !triple.is_empty() {
        command.args(["--target", triple]);
    }
    let done = process::run(command, PRINT_CFG_TIMEOUT)?;
    if !done.success {
        return Err(format!(
            "`{rustc} --print cfg --target {triple}` failed: {}",
            done.stderr.lines().next().unwrap_or("").trim()
        ));
    }
    Ok(CfgSet::from_rustc_print(Some(triple), &done.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the store is looked for: cargo's order of target-dir settings.
    #[test]
    fn the_target_dir_is_found_as_cargo_finds_it() {
        let ws = crate::files::scratch_dir("target-dir");
        crate::files::write_creating(&ws.join("app/Cargo.toml"), "[package]\nname = \"app\"\n");
        std::fs::create_dir_all(ws.join("app/.cargo")).unwrap();
        let settings = BuildSettings::dev_defaults(2);
        let find = |pairs: &[(&str, &str)]| {
            target_dir(&Env::from_pairs(pairs), &settings, &ws.join("app"))
        };

        assert_eq!(find(&[]), Some(ws.join("app/target")));
        std::fs::write(
            ws.join("app/.cargo/config.toml"),
            "[build]\ntarget-dir = \"../shared\"\n",
        )
        .unwrap();
        assert_eq!(find(&[]), Some(ws.join("app/../shared")));
        assert_eq!(
            find(&[("CARGO_BUILD_TARGET_DIR", "/b")]),
            Some(PathBuf::from("/b"))
        );
        assert_eq!(
            find(&[("CARGO_TARGET_DIR", "/t"), ("CARGO_BUILD_TARGET_DIR", "/b")]),
            Some(PathBuf::from("/t"))
        );
        let relative = find(&[("CARGO_TARGET_DIR", "rel")]).unwrap();
        assert_eq!(relative, std::env::current_dir().unwrap().join("rel"));
        // In a build script cargo's own answer wins, whatever set it.
        let out = "/x/tgt/debug/build/app-1/out";
        assert_eq!(
            find(&[("OUT_DIR", out), ("CARGO_TARGET_DIR", "/t")]),
            Some(PathBuf::from("/x/tgt"))
        );
        let cross = "/x/tgt/x86_64-unknown-linux-gnu/debug/build/app-1/out";
        assert_eq!(find(&[("OUT_DIR", cross)]), Some(PathBuf::from("/x/tgt")));
        std::fs::remove_dir_all(&ws).unwrap();
    }
}
