//! The cache of registry and git packages' facts: one tab-separated line per package in a plain
//! text file, since a published package never changes for its name, version and source.
//!
//! ```text
//! lowmem_build graph cache 2
//! name  version  source  dir  crate_name  root_file  flags  bytes  files  root_bytes  deps... features...
//! ```
//! `dir` is relative to `$CARGO_HOME`; `root_file` is `-` when there is none; `flags` are `p`
//! (proc-macro), `b` (build script) and `l` (links an artifact), `-` in place of each one off;
//! the three sizes are `-` when there is no root file and `?` when they were not measured.
//! Each dependency is its kind letter (`n`, `b`, `d`), `?` when optional or `-`, `+` when it
//! asks for default features or `-`, the package name, then `|as=` the key it is renamed
//! under, `|f=` the features it asks for (comma-joined), `|v=` its version requirement and
//! `|t=` its target condition, each only when there is one. Each feature is `:` its name, `=`
//! and what it enables, comma-joined.

use super::manifest::{Dep, DepKind, Feature, Manifest};
use super::size::SourceSize;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

/// The file's name in the cache directory.
pub(crate) const FILE: &str = "graph-packages.tsv";

/// The first line; a file with another one (an older format) is ignored and rewritten.
const HEADER: &str = "lowmem_build graph cache 2";

/// The most of a cache file that is read: with feature maps a line takes up to a few KiB (polars'
/// crates), so a large graph's file passes the 1 MiB of other reads; a longer one is cut, fails
/// to parse and is rebuilt.
pub(crate) const MAX_BYTES: u64 = 32 << 20;

/// One cached package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Name, version and source, tab-joined: the key, and the order of the file.
    pub(crate) key: String,
    /// The sources' directory relative to `$CARGO_HOME`, `/`-separated.
    pub(crate) dir: String,
    /// The manifest's facts (`name` is not kept).
    pub(crate) manifest: Manifest,
    /// The sources' size, when measured and the root file was there.
    pub(crate) size: Option<SourceSize>,
    /// Whether the size was measured (packages the caller has figures for are not).
    pub(crate) measured: bool,
}

/// Entries in the order of their keys (the file's order).
pub(crate) fn sorted(entries: Vec<Entry>) -> Vec<Entry> {
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let order = crate::order::by_str_keys(&keys);
    crate::order::permute(entries, &order)
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
    Some(sorted(entries))
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
    let (size, measured) = parse_size([next()?, next()?, next()?])?;
    let mut deps = Vec::new();
    let mut features = Vec::new();
    for field in fields {
        match field.strip_prefix(':') {
            Some(feature) => features.push(parse_feature(feature)?),
            None if features.is_empty() => deps.push(parse_dep(field)?),
            None => return None,
        }
    }
    // The resolver looks dependencies and features up by binary search.
    let sorted = deps.windows(2).all(|pair| pair[0] <= pair[1])
        && features.windows(2).all(|pair| pair[0].name < pair[1].name);
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
            features,
        },
        size,
        measured,
    })
}

/// The three size fields: all numbers, all `-` (measured, no root file) or all `?` (not
/// measured).
fn parse_size(fields: [&str; 3]) -> Option<(Option<SourceSize>, bool)> {
    match fields {
        ["-", "-", "-"] => Some((None, true)),
        ["?", "?", "?"] => Some((None, false)),
        [bytes, files, root_bytes] => Some((
            Some(SourceSize {
                bytes: bytes.parse().ok()?,
                files: files.parse().ok()?,
                root_bytes: root_bytes.parse().ok()?,
            }),
            true,
        )),
    }
}

/// A dependency field: `n?+name|as=key|f=a,b|v=^1|t=cfg(unix)`.
fn parse_dep(field: &str) -> Option<Dep> {
    let mut parts = field.split('|');
    let head = parts.next()?;
    let mut chars = head.chars();
    let kind = DepKind::from_letter(chars.next()?)?;
    let flag = |c: Option<char>, on: char| match c {
        Some(c) if c == on => Some(true),
        Some('-') => Some(false),
        _ => None,
    };
    let optional = flag(chars.next(), '?')?;
    let default_features = flag(chars.next(), '+')?;
    let name = chars.as_str();
    if name.is_empty() {
        return None;
    }
    let mut dep = Dep {
        name: name.to_string(),
        kind,
        target: None,
        optional,
        rename: None,
        default_features,
        features: Vec::new(),
        req: None,
    };
    for part in parts {
        let (key, value) = part.split_once('=')?;
        match key {
            "as" => dep.rename = Some(value.to_string()),
            "f" => dep.features = list(value),
            "v" => dep.req = Some(value.to_string()),
            "t" => dep.target = Some(value.to_string()),
            _ => return None,
        }
    }
    Some(dep)
}

/// A feature field without its `:`: `name=a,b`.
fn parse_feature(field: &str) -> Option<Feature> {
    let (name, enables) = field.split_once('=')?;
    (!name.is_empty()).then(|| Feature {
        name: name.to_string(),
        enables: list(enables),
    })
}

/// A comma-joined list; empty text is an empty list.
fn list(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(',').map(str::to_string).collect()
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
    match (entry.size, entry.measured) {
        (Some(s), _) => {
            let _ = write!(line, "\t{}\t{}\t{}", s.bytes, s.files, s.root_bytes);
        }
        (None, true) => line.push_str("\t-\t-\t-"),
        (None, false) => line.push_str("\t?\t?\t?"),
    }
    for dep in &m.deps {
        let optional = flag(dep.optional, '?');
        let default = flag(dep.default_features, '+');
        let _ = write!(
            line,
            "\t{}{optional}{default}{}",
            dep.kind.letter(),
            dep.name
        );
        if let Some(rename) = &dep.rename {
            let _ = write!(line, "|as={rename}");
        }
        if !dep.features.is_empty() {
            let _ = write!(line, "|f={}", dep.features.join(","));
        }
        if let Some(req) = &dep.req {
            let _ = write!(line, "|v={req}");
        }
        if let Some(target) = &dep.target {
            let _ = write!(line, "|t={target}");
        }
    }
    for feature in &m.features {
        let _ = write!(line, "\t:{}={}", feature.name, feature.enables.join(","));
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
/// corrupt (it is then rewritten).
pub(crate) fn load(dir: &Path) -> Option<Vec<Entry>> {
    match read_text(&dir.join(FILE)) {
        Ok(text) => parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Vec::new()),
        Err(_) => None,
    }
}

/// A cache file's text, up to [`MAX_BYTES`]; invalid UTF-8 is an error (no cache has it).
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES)
        .read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Writes the cache into `dir`.
pub(crate) fn store(dir: &Path, entries: &[Entry]) {
    write_file(dir, FILE, &render(entries));
}

/// Writes `text` as file `name` in `dir`: to a temporary file there, then renamed over the old
/// one, so that a reader never sees half a file. `dir` itself is made if missing, but not its
/// parent (nothing is written outside it). Failure is not an error: the next run reads the
/// sources again.
pub(crate) fn write_file(dir: &Path, name: &str, text: &str) {
    let made = match std::fs::create_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    };
    let _ = made.and_then(|()| crate::files::write_whole(&dir.join(name), text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::scratch_dir;

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
                        rename: Some("buf".into()),
                        default_features: false,
                        features: vec!["std".into(), "serde".into()],
                        req: None,
                    },
                    Dep {
                        name: "cc".into(),
                        kind: DepKind::Build,
                        target: Some("cfg(all(unix, target_os = \"linux\"))".into()),
                        optional: false,
                        rename: None,
                        default_features: true,
                        features: Vec::new(),
                        req: Some(">=1.0, <1.3".into()),
                    },
                ],
                features: vec![
                    Feature {
                        name: "buf".into(),
                        enables: vec!["dep:buf".into()],
                    },
                    Feature {
                        name: "default".into(),
                        enables: vec!["std".into()],
                    },
                    Feature {
                        name: "std".into(),
                        enables: vec!["buf?/std".into(), "cc/parallel".into()],
                    },
                    Feature {
                        name: "tiny".into(),
                        enables: Vec::new(),
                    },
                ],
            },
            size: Some(SourceSize {
                bytes: 1234,
                files: 5,
                root_bytes: 100,
            }),
            measured: true,
        }
    }

    #[test]
    fn round_trips() {
        let mut sizeless = entry();
        sizeless.key = key("a", "0.1.0", "sparse+https://index.crates.io/");
        sizeless.size = None;
        sizeless.manifest.root_file = None;
        sizeless.manifest.deps.clear();
        sizeless.manifest.features.clear();
        sizeless.manifest.name = "a".into();
        let mut unmeasured = sizeless.clone();
        unmeasured.key = key("b", "0.1.0", "sparse+https://index.crates.io/");
        unmeasured.manifest.name = "b".into();
        unmeasured.measured = false;
        let entries = vec![sizeless, unmeasured, entry()];
        let text = render(&entries);
        assert!(
            text.starts_with("lowmem_build graph cache 2\na\t0.1.0\t"),
            "{text}"
        );
        assert!(text.contains("\t-\t-\t-\n"), "{text}");
        assert!(text.contains("\t?\t?\t?\n"), "{text}");
        assert!(
            text.contains("\tn?-bytes|as=buf|f=std,serde\tb-+cc|v=>=1.0, <1.3|t=cfg(all(unix, target_os = \"linux\"))\t:buf=dep:buf\t:default=std\t:std=buf?/std,cc/parallel\t:tiny=\n"),
            "{text}"
        );
        assert_eq!(parse(&text), Some(entries));
    }

    #[test]
    fn a_field_that_would_read_back_otherwise_is_not_cached() {
        let mut odd = entry();
        odd.manifest.deps[1].target = Some("cfg(a\tb)".into());
        assert_eq!(render_line(&odd), None);
        assert_eq!(render(&[odd]), "lowmem_build graph cache 2\n");
        let mut comma = entry();
        comma.manifest.deps[0].features[0] = "a,b".into();
        assert_eq!(render_line(&comma), None);
        let mut bar = entry();
        bar.manifest.deps[1].target = Some("cfg(a|t=b)".into());
        assert_eq!(render_line(&bar), None);
        let mut empty = entry();
        empty.manifest.features[3].enables.push(String::new());
        assert_eq!(render_line(&empty), None);
    }

    #[test]
    fn old_or_broken_files_are_not_trusted() {
        let good = render(&[entry()]);
        assert!(parse(&good).is_some());
        for broken in [
            String::new(),
            "lowmem_build graph cache 1\n".to_string(),
            good.replace("\tb-+cc", "\tx-+cc"),
            good.replace("\tb-+cc", "\tb-*cc"),
            good.replace("\t1234\t", "\tmany\t"),
            good.replace("\t1234\t", "\t?\t"),
            good.replace("-b-", "-B-"),
            good.replace("\tn?-bytes|as=buf", "\tn?-"),
            good.replace("|as=buf", "|to=buf"),
            good.replace("|as=buf", "|as"),
            good.replace("\t:buf=dep:buf", "\t:=dep:buf"),
            good.replace("\t:buf=dep:buf", "\t:buf"),
            good.replace("\t:default=std", "\t:zzz=std"),
            good.replace(":tiny=", ":tiny=\tn--late"),
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
