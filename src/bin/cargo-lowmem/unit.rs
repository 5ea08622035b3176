//! What one rustc invocation compiles, read from its arguments: the crate, its kind, settings
//! and outputs. Pure: arguments in, a description out.

use std::path::{Path, PathBuf};

/// One rustc invocation as cargo makes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unit {
    /// `--crate-name`.
    pub krate: String,
    /// The crate types joined by `,`, `test` for `--test`, `build-script` for a build script.
    pub kind: String,
    /// `--target`, or `host`.
    pub target: String,
    /// The profile directory the output goes to.
    pub profile: String,
    /// `-C opt-level` (`0` when absent).
    pub opt: String,
    /// `-C debuginfo` (`0` when absent).
    pub debuginfo: String,
    /// `-C codegen-units`, empty when absent.
    pub cgu: String,
    /// `link` or `metadata`.
    pub emit: String,
    /// `-C metadata`.
    pub hash: String,
    /// `-C extra-filename`.
    pub extra_filename: String,
    /// `--cfg feature="..."` names.
    pub features: Vec<String>,
    /// The `-C metadata` hashes of the `--extern` crates (from their file names).
    pub deps: Vec<String>,
    /// `--out-dir`.
    pub out_dir: Option<PathBuf>,
}

impl Unit {
    /// The unit compiled by `args` (rustc's arguments, without the rustc path), or `None` for a
    /// probe such as `rustc -vV` or `--print`, which is not a compilation to measure (nor are
    /// the runs sccache's server makes before a compile: `--emit dep-info -o <file>`).
    pub fn from_args(args: &[String]) -> Option<Unit> {
        let mut unit = Unit {
            opt: "0".into(),
            debuginfo: "0".into(),
            target: "host".into(),
            emit: "link".into(),
            ..Unit::default()
        };
        let mut types: Vec<String> = Vec::new();
        let mut test = false;
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            // `--flag value` or `--flag=value`
            let mut value = |name: &str| -> Option<String> {
                if arg == name {
                    i += 1;
                    args.get(i).cloned()
                } else {
                    arg.strip_prefix(name)
                        .and_then(|rest| rest.strip_prefix('='))
                        .map(str::to_string)
                }
            };
            if let Some(v) = value("--crate-name") {
                unit.krate = v;
            } else if let Some(v) = value("--crate-type") {
                types.extend(v.split(',').map(str::to_string));
            } else if let Some(v) = value("--target") {
                unit.target = v;
            } else if let Some(v) = value("--out-dir") {
                unit.out_dir = Some(PathBuf::from(v));
            } else if let Some(v) = value("--emit") {
                // Neither metadata nor an artifact (sccache hashing sources with
                // `--emit dep-info`): not a compilation.
                if !v
                    .split(',')
                    .any(|e| e.starts_with("link") || e.starts_with("metadata"))
                {
                    return None;
                }
                if !v.split(',').any(|e| e.starts_with("link")) {
                    unit.emit = "metadata".into();
                }
            } else if let Some(v) = value("--cfg") {
                if let Some(name) = v
                    .strip_prefix("feature=\"")
                    .and_then(|r| r.strip_suffix('"'))
                {
                    unit.features.push(name.to_string());
                }
            } else if let Some(v) = value("--extern") {
                if let Some(hash) = v.split_once('=').and_then(|(_, path)| hash_of(path)) {
                    unit.deps.push(hash);
                }
            } else if let Some(v) = value("-C").or_else(|| value("--codegen")) {
                codegen(&mut unit, &v);
            } else if let Some(v) = arg.strip_prefix("-C").filter(|v| !v.is_empty()) {
                codegen(&mut unit, v);
            } else if arg == "--test" {
                test = true;
            } else if arg == "--print" || arg.starts_with("--print=") || arg == "-vV" || arg == "-o"
            {
                // A probe, or output to one named file (never cargo's units).
                return None;
            }
            i += 1;
        }
        if unit.krate.is_empty() || unit.krate == "___" {
            return None;
        }
        unit.kind = if test {
            "test".into()
        } else if unit.krate == "build_script_build" || unit.krate.starts_with("build_script_") {
            "build-script".into()
        } else if types.is_empty() {
            "bin".into()
        } else {
            types.join(",")
        };
        unit.profile = unit
            .out_dir
            .as_deref()
            .and_then(profile_dir)
            .unwrap_or_default();
        unit.features.sort();
        Some(unit)
    }

    /// Which part of its package this invocation compiles, for its expected peak.
    pub fn part(&self) -> crate::governor::Part {
        use crate::governor::Part;
        if self.kind == "build-script" {
            Part::BuildScript
        } else if self.links() {
            Part::Link
        } else {
            Part::Compile
        }
    }

    /// Whether this invocation links (a binary, a test, a dylib, cdylib or proc-macro), so that
    /// a linker runs under it.
    pub fn links(&self) -> bool {
        self.emit == "link"
            && self.kind.split(',').any(|k| {
                matches!(
                    k,
                    "bin"
                        | "test"
                        | "build-script"
                        | "dylib"
                        | "cdylib"
                        | "proc-macro"
                        | "staticlib"
                )
            })
    }

    /// The files this invocation may write as its artifact, most telling first.
    pub fn outputs(&self) -> Vec<PathBuf> {
        let Some(dir) = &self.out_dir else {
            return Vec::new();
        };
        let stem = format!("{}{}", self.krate, self.extra_filename);
        let lib = format!("lib{stem}");
        vec![
            dir.join(format!("{lib}.rlib")),
            dir.join(format!("{lib}.so")),
            dir.join(format!("{lib}.dylib")),
            dir.join(format!("{stem}.dll")),
            dir.join(format!("{lib}.a")),
            dir.join(&stem),
            dir.join(format!("{stem}.exe")),
            dir.join(format!("{lib}.rmeta")),
        ]
    }
}

fn codegen(unit: &mut Unit, setting: &str) {
    let (key, value) = setting.split_once('=').unwrap_or((setting, ""));
    let value = value.to_string();
    match key {
        "opt-level" => unit.opt = value,
        "debuginfo" => unit.debuginfo = value,
        "codegen-units" => unit.cgu = value,
        "metadata" => unit.hash = value,
        "extra-filename" => unit.extra_filename = value,
        _ => {}
    }
}

/// `abc123` from `.../libserde-abc123.rlib`.
fn hash_of(path: &str) -> Option<String> {
    let file = Path::new(path).file_stem()?.to_str()?;
    let (_, hash) = file.rsplit_once('-')?;
    Some(hash.to_string())
}

/// `debug` from `<target>/debug/deps` or `<target>/debug/build/<pkg>-<hash>`.
fn profile_dir(out_dir: &Path) -> Option<String> {
    let parts: Vec<&str> = out_dir.iter().filter_map(|p| p.to_str()).collect();
    let at = parts.iter().rposition(|p| *p == "deps" || *p == "build")?;
    parts.get(at.checked_sub(1)?).map(|p| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn a_dev_library_with_features_and_externs() {
        let unit = Unit::from_args(&args(
            "--crate-name polars_core --edition=2021 src/lib.rs --error-format=json \
             --crate-type lib --emit=dep-info,metadata,link -C embed-bitcode=no -C debuginfo=2 \
             --cfg feature=\"lazy\" --cfg feature=\"dtype-date\" -C metadata=0f1e2d3c \
             -C extra-filename=-0f1e2d3c --out-dir /t/target/debug/deps \
             -L dependency=/t/target/debug/deps \
             --extern ahash=/t/target/debug/deps/libahash-aaaa1111.rmeta \
             --extern proc_macro --cap-lints allow",
        ))
        .unwrap();
        assert_eq!(unit.krate, "polars_core");
        assert_eq!(unit.kind, "lib");
        assert_eq!(unit.profile, "debug");
        assert_eq!((unit.opt.as_str(), unit.debuginfo.as_str()), ("0", "2"));
        assert_eq!(unit.features, ["dtype-date", "lazy"]);
        assert_eq!(unit.deps, ["aaaa1111"]);
        assert_eq!(unit.hash, "0f1e2d3c");
        assert!(!unit.links());
        assert_eq!(
            unit.outputs()[0],
            Path::new("/t/target/debug/deps/libpolars_core-0f1e2d3c.rlib")
        );
    }

    #[test]
    fn binaries_build_scripts_tests_and_checks() {
        let bin = Unit::from_args(&args(
            "--crate-name app --crate-type bin --emit=dep-info,link -C opt-level=3 \
             --target x86_64-unknown-linux-gnu --out-dir /t/x86_64-unknown-linux-gnu/release/deps",
        ))
        .unwrap();
        assert_eq!(
            (bin.kind.as_str(), bin.profile.as_str()),
            ("bin", "release")
        );
        assert_eq!(bin.target, "x86_64-unknown-linux-gnu");
        assert!(bin.links());
        let script = Unit::from_args(&args(
            "--crate-name build_script_build build.rs --crate-type bin \
             --out-dir /t/debug/build/app-123",
        ))
        .unwrap();
        assert_eq!(script.kind, "build-script");
        assert_eq!(script.profile, "debug");
        let test =
            Unit::from_args(&args("--crate-name app --test --out-dir /t/debug/deps")).unwrap();
        assert_eq!(test.kind, "test");
        let check = Unit::from_args(&args(
            "--crate-name app --crate-type lib --emit=dep-info,metadata",
        ))
        .unwrap();
        assert_eq!(check.emit, "metadata");
        assert!(!check.links());
        let joined =
            Unit::from_args(&args("--crate-name=x -Copt-level=s --crate-type=cdylib")).unwrap();
        assert_eq!((joined.opt.as_str(), joined.kind.as_str()), ("s", "cdylib"));
    }

    #[test]
    fn probes_are_not_units() {
        assert_eq!(Unit::from_args(&args("-vV")), None);
        assert_eq!(
            Unit::from_args(&args(
                "- --crate-name ___ --print=file-names --crate-type bin"
            )),
            None
        );
        assert_eq!(Unit::from_args(&args("--print sysroot")), None);
        // sccache's server, before the compile: hashing the sources, asking for the outputs.
        assert_eq!(
            Unit::from_args(&args(
                "--crate-name p --emit dep-info -C metadata=1 --out-dir /t -o /tmp/s/deps.d"
            )),
            None
        );
        assert_eq!(
            Unit::from_args(&args(
                "--crate-name p --emit dep-info -C metadata=1 --out-dir /t"
            )),
            None
        );
        assert_eq!(
            Unit::from_args(&args(
                "--crate-name p --emit dep-info,metadata,link --print file-names -C metadata=1"
            )),
            None
        );
        assert_eq!(Unit::from_args(&[]), None);
    }
}
