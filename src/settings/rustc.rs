//! The compiler's version, from one `rustc -vV` with a deadline (honouring `RUSTC` and
//! `RUSTC_WRAPPER`), memoised for the process and, in a build script, kept in the target
//! directory (`<target>/<profile>/build/lowmem-rustc-vv`) for the next build scripts: keyed by
//! the wrapper and the compiler's path, size and modification time, so a new toolchain is asked
//! again.

use crate::env::Env;
use crate::process;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// `rustc -vV` normally answers in tens of milliseconds; a wrapper that hangs must not hang us.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The compiler's version and host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RustcVersion {
    /// Major version (1).
    pub major: u32,
    /// Minor version (e.g. 95).
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
    /// Whether this is a nightly or dev build.
    pub nightly: bool,
    /// The host triple rustc reports.
    pub host: String,
}

impl RustcVersion {
    /// Whether this is at least `1.minor`.
    pub fn at_least(&self, minor: u32) -> bool {
        self.major > 1 || (self.major == 1 && self.minor >= minor)
    }
}

impl fmt::Display for RustcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if self.nightly {
            f.write_str("-nightly")?;
        }
        Ok(())
    }
}

/// Parses `rustc -vV` output.
pub(crate) fn parse(verbose: &str) -> Result<RustcVersion, String> {
    let meta = rustc_version::version_meta_for(verbose)
        .map_err(|e| format!("could not read rustc's version ({e})"))?;
    Ok(RustcVersion {
        major: u32::try_from(meta.semver.major).unwrap_or(u32::MAX),
        minor: u32::try_from(meta.semver.minor).unwrap_or(u32::MAX),
        patch: u32::try_from(meta.semver.patch).unwrap_or(u32::MAX),
        nightly: matches!(
            meta.channel,
            rustc_version::Channel::Nightly | rustc_version::Channel::Dev
        ),
        host: meta.host,
    })
}

/// `rustc -vV` answers by command line (one or two command lines per process: a list will do).
type Answers = Vec<(Vec<String>, Result<RustcVersion, String>)>;

/// The version of the compiler cargo uses (`RUSTC`, through `RUSTC_WRAPPER` when set), run once
/// per process and per command.
pub(crate) fn version(env: &Env) -> Result<RustcVersion, String> {
    static SEEN: Mutex<Answers> = Mutex::new(Vec::new());
    let rustc = env.text("RUSTC").unwrap_or("rustc").to_string();
    let wrapper = env.text("RUSTC_WRAPPER").map(str::to_string);
    let mut argv: Vec<String> = wrapper.into_iter().collect();
    argv.push(rustc);
    let known = SEEN.lock().ok().and_then(|seen| {
        let (_, answer) = seen.iter().find(|(line, _)| *line == argv)?;
        Some(answer.clone())
    });
    if let Some(answer) = known {
        return answer;
    }
    let kept = kept_file(env);
    let key = kept.as_ref().and_then(|_| key(&argv));
    if let (Some(file), Some(key)) = (&kept, &key) {
        if let Some(answer) = read_kept(file, key) {
            return Ok(answer);
        }
    }
    let result = run(env, &argv).map(|(version, text)| {
        if let (Some(file), Some(key)) = (&kept, &key) {
            keep(file, key, &text);
        }
        version
    });
    if let Ok(mut seen) = SEEN.lock() {
        seen.push((argv, result.clone()));
    }
    result
}

/// `<target>/<profile>/build/lowmem-rustc-vv`, two levels above `OUT_DIR`.
fn kept_file(env: &Env) -> Option<std::path::PathBuf> {
    let out = std::path::Path::new(env.text("OUT_DIR")?);
    let build = out.parent()?.parent()?;
    (build.file_name()? == "build").then(|| build.join("lowmem-rustc-vv"))
}

/// What identifies the compiler: the command line and the compiler's size and modification
/// time (the real binary: cargo gives build scripts its path). `None` for a bare name, which a
/// toolchain manager could point elsewhere.
fn key(argv: &[String]) -> Option<String> {
    let rustc = std::path::Path::new(argv.last()?);
    if !rustc.is_absolute() {
        return None;
    }
    let meta = std::fs::metadata(rustc).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{}\t{}\t{modified}", argv.join(" "), meta.len()))
}

fn read_kept(file: &std::path::Path, key: &str) -> Option<RustcVersion> {
    let text = crate::probe::fs::read_small(file).ok()?;
    let (first, output) = text.split_once('\n')?;
    (first == key).then(|| parse(output).ok()).flatten()
}

/// Keeps the output for the next build script (written aside, then renamed); a failure to
/// write only costs the next one a `rustc -vV`.
fn keep(file: &std::path::Path, key: &str, output: &str) {
    let _ = crate::files::write_whole(file, &format!("{key}\n{output}"));
}

fn run(env: &Env, argv: &[String]) -> Result<(RustcVersion, String), String> {
    let (program, rest) = argv.split_first().ok_or("no rustc to run")?;
    let mut command = env.command(program);
    command.args(rest).arg("-vV");
    let done = process::run(command, TIMEOUT)?;
    if !done.success {
        let why = done.stderr.lines().next().unwrap_or("").trim().to_string();
        return Err(format!("`{} -vV` failed: {why}", argv.join(" ")));
    }
    Ok((parse(&done.stdout)?, done.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stable_and_nightly() {
        let stable = parse(
            "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e\n\
             commit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 20.1.8\n",
        )
        .unwrap();
        assert_eq!((stable.major, stable.minor, stable.patch), (1, 95, 0));
        assert!(!stable.nightly);
        assert_eq!(stable.host, "x86_64-unknown-linux-gnu");
        assert!(stable.at_least(90) && !stable.at_least(96));
        let nightly = parse(
            "rustc 1.97.0-nightly (3f1a2b4c5 2026-06-01)\nbinary: rustc\ncommit-hash: 3f1a2b4c5\n\
             commit-date: 2026-06-01\nhost: aarch64-apple-darwin\nrelease: 1.97.0-nightly\nLLVM version: 21.1.0\n",
        )
        .unwrap();
        assert!(nightly.nightly);
        assert_eq!(nightly.to_string(), "1.97.0-nightly");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("").is_err());
        assert!(parse("hello\nworld").is_err());
    }

    #[test]
    fn a_missing_rustc_is_an_error_not_a_panic() {
        let env = Env::from_pairs(&[("RUSTC", "/nonexistent/rustc")]);
        let err = version(&env).unwrap_err();
        assert!(err.contains("/nonexistent/rustc"), "{err}");
    }

    /// The answer kept for the next build script is read back for the same compiler only.
    #[test]
    fn a_kept_answer_is_for_the_same_compiler_only() {
        let dir = std::env::temp_dir().join(format!("lowmem-rustc-vv-{}", std::process::id()));
        let out = dir.join("target/debug/build/app-1/out");
        std::fs::create_dir_all(&out).unwrap();
        let env = Env::from_pairs(&[("OUT_DIR", out.to_str().unwrap())]);
        let file = kept_file(&env).unwrap();
        assert_eq!(file, dir.join("target/debug/build/lowmem-rustc-vv"));
        // Any absolute file stands in for the compiler binary.
        let compiler = dir.join("rustc");
        std::fs::write(&compiler, "a compiler").unwrap();
        let argv = vec![compiler.display().to_string()];
        let key = key(&argv).unwrap();
        let output = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 20.1.8\n";
        keep(&file, &key, output);
        assert_eq!(read_kept(&file, &key).map(|v| v.minor), Some(95));
        // Another compiler (a different size) is asked again.
        std::fs::write(&compiler, "another compiler").unwrap();
        let other = super::key(&argv).unwrap();
        assert_ne!(other, key);
        assert_eq!(read_kept(&file, &other), None);
        assert_eq!(
            super::key(&["rustc".to_string()]),
            None,
            "a bare name is not kept"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
