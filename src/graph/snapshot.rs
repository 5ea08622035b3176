//! The whole graph of one build, kept in the cache directory under a key of everything it was
//! read from, so that a build script that runs again with nothing changed reads one small file
//! instead of Cargo.lock and the packages' manifests.
//!
//! The key is this crate's version, Cargo.lock's path, length and hash, `$CARGO_HOME`, the roots
//! and their features, both platforms' cfg sets and dev-dependencies, all compared as text; then
//! the workspace's manifests and path packages' directories by modification time and size,
//! stat'ed on each read. Each key without Cargo.lock and those files has a file of its own
//! (`graph-<hash>.tsv`), so the same build with other features or another profile keeps its
//! graph too; a changed Cargo.lock or manifest rewrites it.
//!
//! ```text
//! <key lines, the first `lowmem_build whole graph 1 <version>`>
//! file  <mtime ns>  <size>  <path>
//! package  name  version  source  dir  crate_name  root_file  flags  bytes  files  root_bytes  deps  features
//! roots  <indices>
//! ```
//! Fields are tab-separated; `source` is `r`, `g`, `p` or `o` ([`SourceKind`]); `flags` are `p`
//! (proc-macro), `b` (build script), `l` (links), `h` (for the host), `t` (for the target) and
//! `k` (features known), `-` for each one off; the sizes are as in [`super::cache`]; `deps` are
//! indices and `features` names, comma-joined.

use super::lock::SourceKind;
use super::size::SourceSize;
use super::{cache, Inputs, Package, Root};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Where a graph is kept and what it must have been read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    /// The file's name in the cache directory.
    pub(crate) file: String,
    /// The key lines, each ending in a line break.
    text: String,
}

/// A graph as kept: the packages and roots, and what re-measuring sizes needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Saved {
    /// The packages, with `deps` as indices among them.
    pub(crate) packages: Vec<Package>,
    /// The roots, indices into `packages`.
    pub(crate) roots: Vec<usize>,
    /// Per package: its crate's root file relative to its directory.
    pub(crate) root_files: Vec<Option<String>>,
    /// Per package: whether its size was measured (a path package's never counts: its sources
    /// are the ones being edited).
    pub(crate) measured: Vec<bool>,
}

/// The key of the graph `inputs` describe, whose Cargo.lock at `lock_path` reads `lock_text`;
/// `None` when some part of it cannot be written on a line (a path or feature with a line
/// break: such a graph is not kept).
pub(crate) fn key(inputs: &Inputs<'_>, lock_path: &Path, lock_text: &str) -> Option<Key> {
    let mut identity = format!(
        "lowmem_build whole graph 1 {}\nlock {}\nhome {}\n",
        env!("CARGO_PKG_VERSION"),
        lock_path.to_str()?,
        inputs.cargo_home.map_or(Some("-"), Path::to_str)?,
    );
    for root in inputs.roots {
        match root {
            Root::Dir(dir) => writeln!(identity, "root dir {}", dir.to_str()?),
            Root::Name(name) => writeln!(identity, "root name {name}"),
        }
        .ok()?;
    }
    match inputs.root_features {
        // A name with a comma would read as two.
        Some(features) if features.iter().any(|f| f.contains(',')) => return None,
        Some(features) => writeln!(identity, "features {}", features.join(",")),
        None => writeln!(identity, "features default"),
    }
    .ok()?;
    let _ = writeln!(
        identity,
        "target {}\nhost {}\ndev {}",
        inputs.target.render(),
        inputs.host.render(),
        u8::from(inputs.dev_deps)
    );
    // Each part above is one line: a line break inside one would let two keys read alike.
    if identity.lines().count() != 7 + inputs.roots.len() || identity.contains('\t') {
        return None;
    }
    let file = format!("graph-{:016x}.tsv", hash(identity.as_bytes()));
    let text = format!(
        "{identity}locked {} {:016x}\n",
        lock_text.len(),
        hash(lock_text.as_bytes())
    );
    Some(Key { file, text })
}

/// The graph kept under `key` in `dir`, if there is one and every file it lists is unchanged;
/// `None` for a missing, stale or broken one.
pub(crate) fn load(dir: &Path, key: &Key) -> Option<Saved> {
    let text = cache::read_text(&dir.join(&key.file)).ok()?;
    let rest = text.strip_prefix(&key.text)?;
    let mut saved = Saved {
        packages: Vec::new(),
        roots: Vec::new(),
        root_files: Vec::new(),
        measured: Vec::new(),
    };
    let mut has_roots = false;
    for line in rest.lines() {
        let mut fields = line.split('\t');
        match fields.next()? {
            "file" => {
                let (mtime, size) = (fields.next()?, fields.next()?);
                let path = fields.next()?;
                let kept = match (mtime, size) {
                    ("-", "-") => None,
                    _ => Some((mtime.parse().ok()?, size.parse().ok()?)),
                };
                if stamp(Path::new(path)) != kept {
                    return None;
                }
            }
            "package" => {
                let (package, root_file, measured) = parse_package(&mut fields)?;
                saved.packages.push(package);
                saved.root_files.push(root_file);
                saved.measured.push(measured);
            }
            "roots" => {
                saved.roots = indices(fields.next()?)?;
                has_roots = true;
            }
            _ => return None,
        }
    }
    let count = saved.packages.len();
    let in_range = |list: &[usize]| list.iter().all(|&i| i < count);
    let consistent =
        has_roots && in_range(&saved.roots) && saved.packages.iter().all(|p| in_range(&p.deps));
    consistent.then_some(saved)
}

/// Keeps a graph under `key` in `dir`, with the modification times and sizes of `files` as they
/// are now. Nothing is kept when a field cannot be written on a line.
pub(crate) fn store(dir: &Path, key: &Key, saved: &Saved, files: &[PathBuf]) {
    let mut text = key.text.clone();
    for path in files {
        // Each file is part of the key (a missing one as `-`, so that making it counts): one
        // that cannot be listed leaves the graph unkept.
        let Some(shown) = path.to_str().filter(|s| !s.contains(['\t', '\n', '\r'])) else {
            return;
        };
        let _ = match stamp(path) {
            Some((mtime, size)) => writeln!(text, "file\t{mtime}\t{size}\t{shown}"),
            None => writeln!(text, "file\t-\t-\t{shown}"),
        };
    }
    for (index, package) in saved.packages.iter().enumerate() {
        let measured = saved.measured.get(index).copied().unwrap_or(false);
        let root_file = saved.root_files.get(index).cloned().flatten();
        let Some(line) = render_package(package, root_file.as_deref(), measured) else {
            return;
        };
        text.push_str(&line);
    }
    let roots: Vec<String> = saved.roots.iter().map(usize::to_string).collect();
    let _ = writeln!(text, "roots\t{}", roots.join(","));
    cache::write_file(dir, &key.file, &text);
}

/// A file's modification time (ns since the epoch) and size; `None` when it cannot be stat'ed
/// (it does not exist).
fn stamp(path: &Path) -> Option<(u128, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    let mtime = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((mtime.as_nanos(), metadata.len()))
}

/// A package's line; `None` when a field would not read back the same.
fn render_package(p: &Package, root_file: Option<&str>, measured: bool) -> Option<String> {
    let source = match p.source {
        SourceKind::Registry => 'r',
        SourceKind::Git => 'g',
        SourceKind::Path => 'p',
        SourceKind::Other => 'o',
    };
    let dir = match &p.dir {
        Some(dir) => dir.to_str()?,
        None => "-",
    };
    let flag = |on: bool, letter: char| if on { letter } else { '-' };
    let flags: String = [
        flag(p.proc_macro, 'p'),
        flag(p.has_build_script, 'b'),
        flag(p.links, 'l'),
        flag(p.for_host, 'h'),
        flag(p.for_target, 't'),
        flag(p.features_known, 'k'),
    ]
    .iter()
    .collect();
    let size = match (p.size, measured && p.source != SourceKind::Path) {
        (Some(s), true) => format!("{}\t{}\t{}", s.bytes, s.files, s.root_bytes),
        (None, true) => "-\t-\t-".to_string(),
        (_, false) => "?\t?\t?".to_string(),
    };
    let deps: Vec<String> = p.deps.iter().map(usize::to_string).collect();
    let line = format!(
        "package\t{}\t{}\t{source}\t{dir}\t{}\t{}\t{flags}\t{size}\t{}\t{}\n",
        p.name,
        p.version,
        p.crate_name,
        root_file.unwrap_or("-"),
        deps.join(","),
        p.features.join(","),
    );
    // A field with a tab, a line break or a comma where lists are joined would read back
    // otherwise: such a graph is not kept.
    let fields_ok = line.matches('\t').count() == 12
        && line.matches('\n').count() == 1
        && !p.features.iter().any(|f| f.is_empty() || f.contains(','))
        && [&p.name, &p.version, &p.crate_name]
            .iter()
            .all(|f| !f.is_empty() && *f != "-");
    fields_ok.then_some(line)
}

/// A package line's fields after `package`: the package, its root file and whether its size
/// was measured; `None` for a broken line.
fn parse_package<'t>(
    fields: &mut impl Iterator<Item = &'t str>,
) -> Option<(Package, Option<String>, bool)> {
    let mut next = || fields.next();
    let (name, version, source) = (next()?, next()?, next()?);
    let source = match source {
        "r" => SourceKind::Registry,
        "g" => SourceKind::Git,
        "p" => SourceKind::Path,
        "o" => SourceKind::Other,
        _ => return None,
    };
    let dir = match next()? {
        "-" => None,
        dir => Some(PathBuf::from(dir)),
    };
    let crate_name = next()?.to_string();
    let root_file = match next()? {
        "-" => None,
        file => Some(file.to_string()),
    };
    let flags = next()?.as_bytes();
    let [p, b, l, h, t, k] = *flags else {
        return None;
    };
    let flag = |byte: u8, letter: u8| match byte {
        _ if byte == letter => Some(true),
        b'-' => Some(false),
        _ => None,
    };
    let (size, measured) = match [next()?, next()?, next()?] {
        ["-", "-", "-"] => (None, true),
        ["?", "?", "?"] => (None, false),
        [bytes, files, root_bytes] => (
            Some(SourceSize {
                bytes: bytes.parse().ok()?,
                files: files.parse().ok()?,
                root_bytes: root_bytes.parse().ok()?,
            }),
            true,
        ),
    };
    let deps = indices(next()?)?;
    let features = match next()? {
        "" => Vec::new(),
        list => list.split(',').map(str::to_string).collect(),
    };
    if next().is_some() || name.is_empty() || crate_name.is_empty() {
        return None;
    }
    let package = Package {
        name: name.to_string(),
        version: version.to_string(),
        source,
        dir,
        crate_name,
        proc_macro: flag(p, b'p')?,
        has_build_script: flag(b, b'b')?,
        links: flag(l, b'l')?,
        for_host: flag(h, b'h')?,
        for_target: flag(t, b't')?,
        features,
        features_known: flag(k, b'k')?,
        deps,
        size,
    };
    Some((package, root_file, measured))
}

/// Comma-joined indices; empty text is none.
fn indices(text: &str) -> Option<Vec<usize>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|i| i.parse().ok()).collect()
}

/// A 64-bit hash of `bytes`, eight at a time: FNV-1a's constants on words, each product folded
/// so that every input bit reaches every output bit. Written as an index loop: unoptimised, as
/// in a build script, it hashes a 100 KB Cargo.lock in about 0.3 ms, seven times faster than
/// with `chunks_exact` and `copy_from_slice`.
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let b = &bytes[i..i + 8];
        let word = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        h = (h ^ word).wrapping_mul(PRIME);
        h ^= h >> 29;
        i += 8;
    }
    while i < bytes.len() {
        h = (h ^ u64::from(bytes[i])).wrapping_mul(PRIME);
        h ^= h >> 29;
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::hash;

    #[test]
    fn the_hash_sees_every_byte_and_the_length() {
        let text = b"[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n".to_vec();
        let base = hash(&text);
        for at in 0..text.len() {
            for bit in 0..8 {
                let mut changed = text.clone();
                changed[at] ^= 1 << bit;
                assert_ne!(hash(&changed), base, "byte {at} bit {bit}");
            }
        }
        assert_ne!(hash(&text[..text.len() - 1]), base);
        assert_ne!(hash(b""), hash(b"\0"));
    }
}
