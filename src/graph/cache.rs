//! The cache of registry and git packages' facts: one tab-separated line per package in a plain
//! text file, since a published package never changes for its name, version and source.
//!
//! ```text
//! lowmem_build graph cache 1
//! name  version  source  dir  crate_name  root_file  flags  bytes  files  root_bytes  deps...
//! ```
//! `dir` is relative to `$CARGO_HOME`; `root_file` is `-` when there is none; `flags` are `p`
//! (proc-macro), `b` (build script) and `l` (links an artifact), `-` in place of each one off;
//! the three sizes are `-` when unknown; each dependency is its kind letter (`n`, `b`, `d`), `?`
//! when optional or `-`, the package name, and after a space its target condition if any.

use super::manifest::{Dep, DepKind, Manifest};
use super::size::SourceSize;
use crate::probe::fs::read_small;
use std::fmt::Write as _;
use std::path::Path;

/// The file's name in the cache directory.
pub(crate) const FILE: &str = "graph-packages.tsv";

/// The first line; a file with another one (an older format) is ignored and rewritten.
const HEADER: &str = "lowmem_build graph cache 1";

/// One cached package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Name, version and source, tab-joined: the key, and the order of the file.
    pub(crate) key: String,
    /// The sources' directory relative to `$CARGO_HOME`, `/`-separated.
    pub(crate) dir: String,
    /// The manifest's facts (`name` and `path_deps` are not kept).
    pub(crate) manifest: Manifest,
    /// The sources' size, when the root file was there.
    pub(crate) size: Option<SourceSize>,
}

/// The key of a package.
pub(crate) fn key(name: &str, version: &str, source: &str) -> String {
    format!("{name}\t{version}\t{source}")
}

/// The entries of a cache file, sorted by key; `None` when the file is not a cache of this
/// format or any line is broken (then it is rebuilt whole rather than trusted in part).
pub(crate) fn parse(text: &str) -> Option<Vec<Entry>> {
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let mut entries = Vec::new();
    for line in lines {
        entries.push(parse_line(line)?);
    }
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    Some(entries)
}

fn parse_line(line: &str) -> Option<Entry> {
    let mut fields = line.split('\t');
    let mut next = || fields.next();
    let (name, version, source) = (next()?, next()?, next()?);
    let dir = next()?.to_string();
    let crate_name = next()?.to_string();
    let root_file = match next()? {
        "-" => None,
        path => Some(path.to_string()),
    };
    let flags = next()?.as_bytes();
    let [p, b, l] = *flags else {
        return None;
    };
    let flag = |byte: u8, letter: u8| match byte {
        _ if byte == letter => Some(true),
        b'-' => Some(false),
        _ => None,
    };
    let (bytes, files, root_bytes) = (next()?, next()?, next()?);
    let size = if [bytes, files, root_bytes] == ["-"; 3] {
        None
    } else {
        Some(SourceSize {
            bytes: bytes.parse().ok()?,
            files: files.parse().ok()?,
            root_bytes: root_bytes.parse().ok()?,
        })
    };
    let mut deps = Vec::new();
    for field in fields {
        let mut chars = field.chars();
        let kind = DepKind::from_letter(chars.next()?)?;
        let optional = match chars.next()? {
            '?' => true,
            '-' => false,
            _ => return None,
        };
        let rest = chars.as_str();
        let (name, target) = match rest.split_once(' ') {
            Some((name, target)) => (name, Some(target.to_string())),
            None => (rest, None),
        };
        if name.is_empty() {
            return None;
        }
        deps.push(Dep {
            name: name.to_string(),
            kind,
            target,
            optional,
        });
    }
    // The walk looks dependencies up by binary search.
    let sorted = deps.windows(2).all(|pair| pair[0] <= pair[1]);
    if name.is_empty() || dir.is_empty() || crate_name.is_empty() || !sorted {
        return None;
    }
    Some(Entry {
        key: key(name, version, source),
        dir,
        manifest: Manifest {
            name: name.to_string(),
            crate_name,
            root_file,
            proc_macro: flag(p, b'p')?,
            build_script: flag(b, b'b')?,
            links: flag(l, b'l')?,
            deps,
            path_deps: Vec::new(),
        },
        size,
    })
}

/// The line of an entry; `None` when a field holds a tab or a line break (such a package is not
/// cached: it is read again each time).
pub(crate) fn render_line(entry: &Entry) -> Option<String> {
    let m = &entry.manifest;
    let flag = |on: bool, letter: char| if on { letter } else { '-' };
    let mut line = format!(
        "{}\t{}\t{}\t{}\t{}{}{}",
        entry.key,
        entry.dir,
        m.crate_name,
        m.root_file.as_deref().unwrap_or("-"),
        flag(m.proc_macro, 'p'),
        flag(m.build_script, 'b'),
        flag(m.links, 'l'),
    );
    match entry.size {
        Some(s) => {
            let _ = write!(line, "\t{}\t{}\t{}", s.bytes, s.files, s.root_bytes);
        }
        None => line.push_str("\t-\t-\t-"),
    }
    for dep in &m.deps {
        let optional = if dep.optional { '?' } else { '-' };
        let _ = write!(line, "\t{}{optional}{}", dep.kind.letter(), dep.name);
        if let Some(target) = &dep.target {
            let _ = write!(line, " {target}");
        }
    }
    let fields_ok = entry.key.split('\t').count() == 3
        && !line.contains(['\n', '\r'])
        && parse_line(&line).as_ref() == Some(entry);
    fields_ok.then_some(line)
}

/// The whole file for these entries.
pub(crate) fn render(entries: &[Entry]) -> String {
    let mut text = format!("{HEADER}\n");
    for line in entries.iter().filter_map(render_line) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// Reads the cache in `dir`: empty when there is none yet, `None` when it is unreadable or
/// corrupt (it is then rewritten). A line is about 200 bytes, so the 1 MiB that [`read_small`]
/// reads holds about 5,000 packages; a longer file is cut, fails to parse and is rebuilt.
pub(crate) fn load(dir: &Path) -> Option<Vec<Entry>> {
    match read_small(&dir.join(FILE)) {
        Ok(text) => parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Vec::new()),
        Err(_) => None,
    }
}

/// Writes the cache into `dir`: to a temporary file there, then renamed over the old one, so
/// that a reader never sees half a file. `dir` itself is made if missing, but not its parent
/// (nothing is written outside it). Failure is not an error: the next run reads the sources
/// again.
pub(crate) fn store(dir: &Path, entries: &[Entry]) {
    let text = render(entries);
    let temporary = dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    let made = match std::fs::create_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    };
    let written = made
        .and_then(|()| std::fs::write(&temporary, text))
        .and_then(|()| std::fs::rename(&temporary, dir.join(FILE)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::scratch_dir;

    fn entry() -> Entry {
        Entry {
            key: key(
                "net-kit",
                "1.2.3",
                "registry+https://github.com/rust-lang/crates.io-index",
            ),
            dir: "registry/src/index.crates.io-0000000000000000/net-kit-1.2.3".into(),
            manifest: Manifest {
                name: "net-kit".into(),
                crate_name: "netkit".into(),
                root_file: Some("src/lib.rs".into()),
                proc_macro: false,
                build_script: true,
                links: false,
                deps: vec![
                    Dep {
                        name: "bytes".into(),
                        kind: DepKind::Normal,
                        target: None,
                        optional: true,
                    },
                    Dep {
                        name: "cc".into(),
                        kind: DepKind::Build,
                        target: Some("cfg(all(unix, target_os = \"linux\"))".into()),
                        optional: false,
                    },
                ],
                path_deps: Vec::new(),
            },
            size: Some(SourceSize {
                bytes: 1234,
                files: 5,
                root_bytes: 100,
            }),
        }
    }

    #[test]
    fn round_trips() {
        let mut sizeless = entry();
        sizeless.key = key("a", "0.1.0", "sparse+https://index.crates.io/");
        sizeless.size = None;
        sizeless.manifest.root_file = None;
        sizeless.manifest.deps.clear();
        sizeless.manifest.name = "a".into();
        let entries = vec![sizeless, entry()];
        let text = render(&entries);
        assert!(
            text.starts_with("lowmem_build graph cache 1\na\t0.1.0\t"),
            "{text}"
        );
        assert_eq!(parse(&text), Some(entries));
    }

    #[test]
    fn a_field_with_a_tab_is_not_cached() {
        let mut odd = entry();
        odd.manifest.deps[1].target = Some("cfg(a\tb)".into());
        assert_eq!(render_line(&odd), None);
        assert_eq!(render(&[odd]), "lowmem_build graph cache 1\n");
    }

    #[test]
    fn old_or_broken_files_are_not_trusted() {
        let good = render(&[entry()]);
        assert!(parse(&good).is_some());
        for broken in [
            String::new(),
            "lowmem_build graph cache 0\n".to_string(),
            good.replace("\tb-cc", "\tx-cc"),
            good.replace("\t1234\t", "\tmany\t"),
            good.replace("-b-", "-B-"),
            good.replace("\tn?bytes", "\tn?"),
            format!("{good}half a line\n"),
        ] {
            assert_eq!(parse(&broken), None, "{broken}");
        }
    }

    #[test]
    fn stores_by_renaming_and_loads_back() {
        let dir = scratch_dir("cache").join("lowmem");
        assert_eq!(load(&dir), Some(Vec::new()), "no file yet");
        store(&dir.join("missing/parent"), &[entry()]);
        assert!(!dir.exists(), "only the cache directory itself is made");
        store(&dir, &[entry()]);
        assert_eq!(load(&dir), Some(vec![entry()]));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [FILE], "no temporary file left");
        std::fs::write(dir.join(FILE), "garbage").unwrap();
        assert_eq!(load(&dir), None);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }
}
