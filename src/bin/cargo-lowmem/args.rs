//! The command line: `cargo lowmem <command> [options] [cargo's arguments]`, parsed by hand (a
//! few flags; the rest goes to cargo unchanged). Pure: arguments in, a command out.

use std::ffi::OsString;

/// What `cargo lowmem` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The report before any build.
    Preflight(Preflight),
    /// `cargo <verb> <args>` under the governor.
    Cargo {
        verb: String,
        args: Vec<OsString>,
        options: Options,
    },
    /// Any command under the governor.
    Exec {
        command: Vec<OsString>,
        options: Options,
    },
    /// `report <file>`: the memory report redrawn from a saved run or a store.
    Report {
        file: OsString,
    },
    Help,
    Version,
}

/// `cargo lowmem`'s own options for a governed run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--memory SIZE`: the budget (as `LOWMEM_BUILD_MEMORY`).
    pub memory: Option<String>,
    /// `--retry`: after an OOM kill, build again as the post-mortem says.
    pub retry: bool,
    /// `--report`: write the memory report (HTML) of the build.
    pub report: bool,
    /// Whether `--retry` applies: cargo's commands, not `exec` (an arbitrary command has no
    /// leaner settings to build again with).
    pub can_retry: bool,
}

/// `cargo lowmem preflight`'s options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preflight {
    pub profile: Option<String>,
    pub memory: Option<String>,
    pub manifest_path: Option<String>,
    pub jobs: Option<String>,
}

/// The cargo commands run under the governor.
pub const VERBS: &[&str] = &[
    "build", "b", "check", "c", "test", "t", "run", "r", "bench", "doc", "d", "clippy", "install",
    "rustc", "rustdoc",
];

/// Parses the arguments after the program name (and after the `lowmem` cargo inserts).
pub fn parse(args: &[OsString]) -> Result<Command, String> {
    let Some((first, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let first = first.to_string_lossy();
    match first.as_ref() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "-V" | "--version" => Ok(Command::Version),
        _ if rest.iter().any(|a| a == "-h" || a == "--help") && first != "exec" && !VERBS.contains(&first.as_ref()) => {
            Ok(Command::Help)
        }
        "preflight" => preflight(rest).map(Command::Preflight),
        "report" => match rest {
            [file] => Ok(Command::Report { file: file.clone() }),
            _ => Err(
                "`report` takes one file: a saved run (<target>/lowmem/report/build-*.run) or a store (<target>/lowmem/peaks.tsv)"
                    .into(),
            ),
        },
        "exec" => {
            let (options, rest) = options(rest)?;
            if options.retry {
                return Err("`--retry` builds again with leaner cargo settings, so it works with cargo's commands (build, test, ...), not `exec`".into());
            }
            let command: Vec<OsString> = match rest.split_first() {
                Some((dash, command)) if dash == "--" => command.to_vec(),
                _ => rest,
            };
            if command.is_empty() {
                return Err("`exec` needs a command: cargo lowmem exec -- maturin develop".into());
            }
            Ok(Command::Exec { command, options })
        }
        verb if VERBS.contains(&verb) => {
            let (mut options, args) = options(rest)?;
            options.can_retry = true;
            Ok(Command::Cargo {
                verb: verb.to_string(),
                args,
                options,
            })
        }
        other => Err(format!(
            "unknown command `{other}`; accepted: preflight, exec, report, {}",
            VERBS.join(", ")
        )),
    }
}

/// Takes `cargo lowmem`'s own options out of `args` (before any `--`, which starts arguments
/// for the program); the rest stays in order.
fn options(args: &[OsString]) -> Result<(Options, Vec<OsString>), String> {
    let mut options = Options::default();
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            rest.push(arg.clone());
            rest.extend(iter.cloned());
            break;
        }
        if text == "--retry" {
            options.retry = true;
        } else if text == "--report" {
            options.report = true;
        } else if text == "--memory" {
            let size = iter.next().ok_or("--memory needs a size, e.g. 2GiB")?;
            options.memory = Some(size.to_string_lossy().into_owned());
        } else if let Some(size) = text.strip_prefix("--memory=") {
            options.memory = Some(size.to_string());
        } else {
            rest.push(arg.clone());
        }
    }
    Ok((options, rest))
}

fn preflight(args: &[OsString]) -> Result<Preflight, String> {
    let mut p = Preflight::default();
    let mut iter = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| iter.next())
                .ok_or(format!("{flag} needs {what}"))
        };
        match flag.as_str() {
            "--release" | "-r" => p.profile = Some("release".into()),
            "--profile" => p.profile = Some(value("a profile name")?),
            "--memory" => p.memory = Some(value("a size, e.g. 2GiB")?),
            "--manifest-path" => p.manifest_path = Some(value("a path to Cargo.toml")?),
            "-j" | "--jobs" => p.jobs = Some(value("a number")?),
            other => {
                if let Some(jobs) = other.strip_prefix("-j").filter(|j| !j.is_empty()) {
                    p.jobs = Some(jobs.to_string());
                } else {
                    return Err(format!(
                        "preflight: unknown argument `{other}`; accepted: --release, --profile NAME, --memory SIZE, --manifest-path PATH, -j N"
                    ));
                }
            }
        }
    }
    Ok(p)
}

/// The value of a cargo option in `args` (`--flag value` or `--flag=value`), before any `--`.
pub fn cargo_option(args: &[OsString], names: &[&str]) -> Option<String> {
    let mut iter = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            return None;
        }
        for name in names {
            if arg == *name {
                return iter.next().map(|v| v.into_owned());
            }
            if let Some(value) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                return Some(value.to_string());
            }
            // `-j4`
            if name.len() == 2 && !name.starts_with("--") {
                if let Some(value) = arg.strip_prefix(name).filter(|v| !v.is_empty()) {
                    return Some(value.to_string());
                }
            }
        }
    }
    None
}

/// Whether a bare flag is in `args`, before any `--`.
pub fn has_flag(args: &[OsString], names: &[&str]) -> bool {
    args.iter()
        .map(|a| a.to_string_lossy())
        .take_while(|a| a != "--")
        .any(|a| names.contains(&a.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn cargo_commands_keep_their_arguments_and_lose_ours() {
        let parsed = parse(&os(&[
            "build",
            "--release",
            "--memory",
            "2GiB",
            "-p",
            "app",
            "--retry",
            "--report",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Command::Cargo {
                verb: "build".into(),
                args: os(&["--release", "-p", "app"]),
                options: Options {
                    memory: Some("2GiB".into()),
                    retry: true,
                    report: true,
                    can_retry: true,
                }
            }
        );
        // After `--` everything is the program's.
        let parsed = parse(&os(&["run", "--", "--memory", "x"])).unwrap();
        assert!(
            matches!(parsed, Command::Cargo { ref args, ref options, .. } if args == &os(&["--", "--memory", "x"]) && options.memory.is_none())
        );
    }

    #[test]
    fn exec_takes_the_command_after_the_dashes() {
        let parsed = parse(&os(&["exec", "--memory=3G", "--", "maturin", "develop"])).unwrap();
        assert_eq!(
            parsed,
            Command::Exec {
                command: os(&["maturin", "develop"]),
                options: Options {
                    memory: Some("3G".into()),
                    retry: false,
                    report: false,
                    can_retry: false,
                }
            }
        );
        assert!(parse(&os(&["exec"])).is_err());
        let err = parse(&os(&["exec", "--retry", "--", "maturin"])).unwrap_err();
        assert!(err.contains("not `exec`"), "{err}");
    }

    #[test]
    fn preflight_options_and_mistakes() {
        let parsed = parse(&os(&[
            "preflight",
            "--profile",
            "lowmem",
            "-j4",
            "--memory=2GiB",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Command::Preflight(Preflight {
                profile: Some("lowmem".into()),
                memory: Some("2GiB".into()),
                manifest_path: None,
                jobs: Some("4".into())
            })
        );
        let err = parse(&os(&["preflight", "--bogus"])).unwrap_err();
        assert!(err.contains("--bogus") && err.contains("accepted"), "{err}");
        assert!(parse(&os(&["frobnicate"]))
            .unwrap_err()
            .contains("unknown command"));
        assert_eq!(parse(&[]).unwrap(), Command::Help);
        assert_eq!(
            parse(&os(&["report", "run.run"])).unwrap(),
            Command::Report {
                file: "run.run".into()
            }
        );
        assert!(parse(&os(&["report"])).unwrap_err().contains("one file"));
        // Our subcommands' help is the usage; cargo's commands get cargo's own.
        assert_eq!(parse(&os(&["preflight", "--help"])).unwrap(), Command::Help);
        assert_eq!(parse(&os(&["report", "-h"])).unwrap(), Command::Help);
        assert!(matches!(
            parse(&os(&["build", "--help"])).unwrap(),
            Command::Cargo { ref args, .. } if args == &os(&["--help"])
        ));
    }

    #[test]
    fn cargo_options_are_found_in_all_their_forms() {
        let args = os(&[
            "-j4",
            "--profile=ci",
            "--manifest-path",
            "x/Cargo.toml",
            "--",
            "-j9",
        ]);
        assert_eq!(cargo_option(&args, &["-j", "--jobs"]).as_deref(), Some("4"));
        assert_eq!(cargo_option(&args, &["--profile"]).as_deref(), Some("ci"));
        assert_eq!(
            cargo_option(&args, &["--manifest-path"]).as_deref(),
            Some("x/Cargo.toml")
        );
        assert!(!has_flag(&args, &["--release"]));
        assert!(has_flag(&os(&["-r"]), &["--release", "-r"]));
    }
}
