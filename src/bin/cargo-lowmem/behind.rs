//! Finding the rustc that compiles a unit when it is not the wrapper's own child. Behind
//! sccache, the compiler of a cache miss runs as a child of the sccache server, a daemon the
//! first client started, and the client the wrapper runs is only a messenger (a few MiB): the
//! wrapper must measure, stop and kill the server's rustc, not the client. (An incremental build,
//! which sccache does not cache, runs rustc as the client's child: then it is in the wrapper's
//! own tree.) A unit's rustc is known by its arguments: the crate name, `-C metadata=<hash>`
//! (unique to the unit) and `--out-dir`, in whatever form the intermediary passes them on
//! (sccache splits `--flag=value` in two). sccache's server also runs rustc with the same
//! arguments to hash the sources (`--emit dep-info -o <tmp>/deps.d`) and to ask for the output
//! names (`--print file-names`): those are not the compile, and are passed over.

use crate::unit::Unit;
use std::fs;
use std::path::PathBuf;

/// What names a unit's rustc on its command line, read as the wrapper reads cargo's arguments
/// ([`Unit::from_args`], which passes over probes such as sccache's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    krate: String,
    metadata: String,
    out_dir: Option<PathBuf>,
}

impl Wanted {
    /// The unit's; `None` without a `-C metadata` (nothing tells the unit apart then).
    pub fn of(unit: &Unit) -> Option<Wanted> {
        (!unit.hash.is_empty()).then(|| Wanted {
            krate: unit.krate.clone(),
            metadata: unit.hash.clone(),
            out_dir: unit.out_dir.clone(),
        })
    }

    /// Whether `argv` (a process's whole command line) is rustc compiling this unit.
    pub fn matches(&self, argv: &[String]) -> bool {
        let Some((program, args)) = argv.split_first() else {
            return false;
        };
        let name = std::path::Path::new(program)
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if !(name.starts_with("rustc") || name.starts_with("clippy-driver")) {
            return false;
        }
        Unit::from_args(args).is_some_and(|unit| {
            unit.krate == self.krate
                && unit.hash == self.metadata
                && match (&self.out_dir, &unit.out_dir) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        })
    }

    /// The pid of a process compiling this unit among `pids`.
    pub fn among(&self, pids: &[u32]) -> Option<u32> {
        pids.iter().copied().find(|&pid| self.matches(&argv(pid)))
    }

    /// The pid of a rustc compiling this unit anywhere on the machine (that this user can see),
    /// other than `exclude`.
    pub fn anywhere(&self, exclude: &[u32]) -> Option<u32> {
        compilers(exclude).find(|&pid| self.matches(&argv(pid)))
    }
}

/// The processes named like a compiler (`rustc...`, `clippy-driver`), other than `exclude`:
/// the short name is read first, a few bytes, where a command line may be long.
fn compilers(exclude: &[u32]) -> impl Iterator<Item = u32> + '_ {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(move |pid| !exclude.contains(pid))
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| {
                let c = c.trim_end();
                c.starts_with("rustc") || c.starts_with("clippy-driver")
            })
        })
}

/// Whether a rustc other than `exclude` is running with `rmeta` (a file name such as
/// `libmid-0123.rmeta`) among its arguments: a dependent compiling against that metadata.
pub fn reading(rmeta: &str, exclude: &[u32]) -> bool {
    compilers(exclude).any(|pid| argv(pid).iter().any(|a| a.ends_with(rmeta)))
}

/// A process's command line; empty when it is gone.
fn argv(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    /// cargo's arguments, and the same unit as sccache 0.16's server ran it (read from
    /// /proc/<pid>/cmdline of the server's child): `--error-format json` and `--emit ...` split.
    #[test]
    fn the_servers_rustc_is_recognised_in_its_own_spelling() {
        let cargo = words(
            "--crate-name p --edition=2024 src/lib.rs --error-format=json \
             --json=diagnostic-rendered-ansi,artifacts,future-incompat --crate-type lib \
             --emit=dep-info,metadata,link -C embed-bitcode=no -C debuginfo=2 \
             -C metadata=55d0b505ed708f8e -C extra-filename=-66e8334f2d71fe16 \
             --out-dir /tmp/scc/p/target/debug/deps -L dependency=/tmp/scc/p/target/debug/deps",
        );
        let wanted = Wanted::of(&Unit::from_args(&cargo).unwrap()).unwrap();
        let server = words(
            "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc --crate-name p \
             --edition=2024 src/lib.rs --error-format json --json \
             diagnostic-rendered-ansi,artifacts,future-incompat --crate-type rlib --emit \
             dep-info,metadata,link -C embed-bitcode=no -C debuginfo=2 -C \
             metadata=55d0b505ed708f8e -C extra-filename=-66e8334f2d71fe16 --out-dir \
             /tmp/scc/p/target/debug/deps -L dependency=/tmp/scc/p/target/debug/deps",
        );
        assert!(wanted.matches(&server));
        // The client has the same arguments, but it is not rustc.
        let mut client = server.clone();
        client[0] = "/opt/venv/bin/sccache".into();
        client.insert(1, "/root/.rustup/toolchains/x/bin/rustc".into());
        assert!(!wanted.matches(&client));
        // Another unit of the same crate (other features, another hash) is not this one.
        let other: Vec<String> = server
            .iter()
            .map(|a| a.replace("55d0b505ed708f8e", "0000000000000000"))
            .collect();
        assert!(!wanted.matches(&other));
        // The same unit in another target dir is not this one.
        let elsewhere: Vec<String> = server
            .iter()
            .map(|a| a.replace("/tmp/scc/p/target", "/elsewhere/target"))
            .collect();
        assert!(!wanted.matches(&elsewhere));
        // sccache's own runs before the compile: hashing the sources, asking for the outputs.
        let hashing: Vec<String> = server
            .iter()
            .map(|a| a.replace("dep-info,metadata,link", "dep-info"))
            .chain(["-o".to_string(), "/tmp/sccacheovmVLh/deps.d".to_string()])
            .collect();
        assert!(!wanted.matches(&hashing));
        let names: Vec<String> = server
            .iter()
            .cloned()
            .chain(["--print".to_string(), "file-names".to_string()])
            .collect();
        assert!(!wanted.matches(&names));
        assert!(!wanted.matches(&[]));
        let no_hash = Unit::from_args(&words("--crate-name p --crate-type lib")).unwrap();
        assert_eq!(Wanted::of(&no_hash), None);
    }

    /// A real rustc started elsewhere is found by its arguments, and this process is not.
    #[test]
    fn a_running_rustc_is_found_anywhere() {
        let dir = crate::files::scratch_dir("behind");
        // A crate that takes rustc a while, long enough to be looked for.
        let mut source = String::new();
        for i in 0..3000 {
            source.push_str(&format!(
                "pub fn f{i}(x: u64) -> u64 {{ x.wrapping_mul({i}) }}\n"
            ));
        }
        std::fs::write(dir.join("lib.rs"), source).unwrap();
        let args = words(&format!(
            "--crate-name behindtest --crate-type lib -C metadata=feedface0001 --out-dir {}",
            dir.display()
        ));
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let mut child = std::process::Command::new(rustc)
            .args(&args)
            .arg(dir.join("lib.rs"))
            .spawn()
            .unwrap();
        let wanted = Wanted::of(&Unit::from_args(&args).unwrap()).unwrap();
        let started = std::time::Instant::now();
        let mut found = None;
        while found.is_none() && started.elapsed().as_secs() < 10 {
            found = wanted.anywhere(&[std::process::id()]);
        }
        assert_eq!(found, Some(child.id()));
        assert_eq!(wanted.among(&[child.id()]), Some(child.id()));
        assert_eq!(wanted.anywhere(&[child.id()]), None, "excluded");
        child.wait().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
