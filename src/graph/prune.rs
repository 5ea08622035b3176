//! Cuts a manifest's text down to the entries the graph reads, so that parsing it is cheap.
//!
//! Published manifests carry descriptions, keywords, `[package.metadata]`, lints, dev, bench and
//! example sections that the TOML reader would build into tables only to be dropped. This pass
//! finds statement boundaries (headers, keys, and values skipped by their strings, arrays and
//! inline tables) and keeps the statements of the tables [`super::manifest::read`] looks at
//! (`[features]` and dependencies' feature lists among them). The result is parsed by the crate's TOML
//! reader as usual; a text this pass misreads fails to parse there, and the caller then parses
//! the whole manifest instead, so pruning can cost time but never change an answer.

/// The kind of table the statements under the latest header are in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    /// Before any header.
    Root,
    /// `[package]`.
    Package,
    /// `[lib]`.
    Lib,
    /// `[[bin]]`.
    Bin,
    /// `[dependencies]` and the like: every entry is a dependency.
    Dependencies,
    /// `[dependencies.foo]` and the like: the details of one dependency.
    Dependency,
    /// `[target.<condition>]`: entries are dotted dependency tables.
    Target,
    /// `[features]`: every entry is a feature.
    Features,
    /// Anything else.
    Dropped,
}

pub(super) const DEPENDENCY_TABLES: [&[u8]; 5] = [
    b"dependencies",
    b"build-dependencies",
    b"build_dependencies",
    b"dev-dependencies",
    b"dev_dependencies",
];

/// How many parts of a header's key are looked at; `[target.<condition>.dependencies.<name>]`
/// has four.
pub(super) const PARTS: usize = 4;

/// The statements of `text` that the graph reads, each on its own line; `None` when the text has
/// a shape this pass does not follow (the caller parses the whole text).
///
/// Written as index loops over bytes, without allocating per statement: in the unoptimised
/// build a build script runs in, iterator adapters and per-key strings cost ten times more.
pub(crate) fn prune(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() / 8);
    let mut section = Section::Root;
    let mut at = 0;
    loop {
        at = skip_trivia(bytes, at);
        if at >= bytes.len() {
            return Some(out);
        }
        if bytes[at] == b'[' {
            let array = bytes.get(at + 1) == Some(&b'[');
            let (parts, count, end) = key(bytes, at + 1 + usize::from(array), b']')?;
            let after = end + 1 + usize::from(array);
            if array && bytes.get(end + 1) != Some(&b']') {
                return None;
            }
            section = classify(bytes, &parts[..count.min(PARTS)], count, array);
            if section != Section::Dropped {
                out.push_str(text.get(at..after)?);
                out.push('\n');
            }
            at = rest_of_line(bytes, after)?;
            if section == Section::Dropped {
                at = next_header(bytes, at)?;
            }
            continue;
        }
        let (parts, _, end) = key(bytes, at, b'=')?;
        let value_end = skip_value(bytes, skip_blank(bytes, end + 1))?;
        let (from, to) = parts[0];
        if keeps(section, &bytes[from..to]) {
            out.push_str(text.get(at..value_end)?);
            out.push('\n');
        }
        at = rest_of_line(bytes, value_end)?;
    }
}

/// Which table a header names, from its first parts and how many it has.
pub(super) fn classify(
    bytes: &[u8],
    parts: &[(usize, usize)],
    count: usize,
    array: bool,
) -> Section {
    let part = |index: usize| parts.get(index).map(|&(from, to)| &bytes[from..to]);
    let is_deps = |index: usize| part(index).is_some_and(|p| DEPENDENCY_TABLES.contains(&p));
    let first = part(0).unwrap_or_default();
    if array {
        return if first == b"bin" && count == 1 {
            Section::Bin
        } else {
            Section::Dropped
        };
    }
    match (first, count) {
        (b"package", 1) => Section::Package,
        (b"lib", 1) => Section::Lib,
        (b"features", 1) => Section::Features,
        (b"target", 2) => Section::Target,
        (b"target", 3) if is_deps(2) => Section::Dependencies,
        (b"target", _) if count > 3 && is_deps(2) => Section::Dependency,
        (_, 1) if is_deps(0) => Section::Dependencies,
        _ if count > 1 && is_deps(0) => Section::Dependency,
        _ => Section::Dropped,
    }
}

/// Whether a `key = value` statement (by its first key) in `section` is kept.
fn keeps(section: Section, key: &[u8]) -> bool {
    match section {
        Section::Root => {
            matches!(key, b"package" | b"lib" | b"target" | b"features")
                || DEPENDENCY_TABLES.contains(&key)
        }
        Section::Package => matches!(
            key,
            b"name" | b"version" | b"build" | b"autolib" | b"autobins"
        ),
        Section::Lib => matches!(
            key,
            b"name" | b"path" | b"proc-macro" | b"proc_macro" | b"crate-type" | b"crate_type"
        ),
        Section::Bin => matches!(key, b"name" | b"path"),
        Section::Dependencies | Section::Features => true,
        Section::Dependency => matches!(
            key,
            b"package"
                | b"optional"
                | b"path"
                | b"workspace"
                | b"features"
                | b"default-features"
                | b"default_features"
                | b"version"
        ),
        Section::Target => DEPENDENCY_TABLES.contains(&key),
        Section::Dropped => false,
    }
}

/// The byte ranges of a key's first parts.
pub(super) type Parts = [(usize, usize); PARTS];

/// A dotted key starting at `at` (blanks around parts allowed) up to `stop` (`]` of a header,
/// `=` of an entry): the byte ranges of its first [`PARTS`] parts (quoted ones without their
/// quotes, escapes as written, which only matters for names that never have them), how many
/// parts it has, and where `stop` is.
pub(super) fn key(bytes: &[u8], at: usize, stop: u8) -> Option<(Parts, usize, usize)> {
    let mut parts: Parts = [(0, 0); PARTS];
    let mut count = 0;
    let mut at = skip_blank(bytes, at);
    loop {
        let (from, to, end) = match *bytes.get(at)? {
            quote @ (b'"' | b'\'') => {
                let end = string_end(bytes, at, quote)?;
                (at + 1, end - 1, end)
            }
            _ => {
                let mut end = at;
                // A pattern, not `is_ascii_alphanumeric`: unoptimised, that is a call per byte.
                while end < bytes.len()
                    && matches!(bytes[end], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-')
                {
                    end += 1;
                }
                if end == at {
                    return None;
                }
                (at, end, end)
            }
        };
        if count < PARTS {
            parts[count] = (from, to);
        }
        count += 1;
        at = skip_blank(bytes, end);
        match bytes.get(at) {
            Some(b'.') => at = skip_blank(bytes, at + 1),
            Some(&b) if b == stop => return Some((parts, count, at)),
            _ => return None,
        }
    }
}

/// After a quoted string that starts at `at` with `quote` (one or three of them): the index
/// just past its closing quote(s).
pub(super) fn string_end(bytes: &[u8], at: usize, quote: u8) -> Option<usize> {
    let triple = at + 2 < bytes.len() && bytes[at + 1] == quote && bytes[at + 2] == quote;
    let mut i = at + if triple { 3 } else { 1 };
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' && quote == b'"' {
            i += 2;
        } else if b == quote {
            if !triple {
                return Some(i + 1);
            }
            if i + 2 < bytes.len() && bytes[i + 1] == quote && bytes[i + 2] == quote {
                // Up to two more quotes may end the content (`"""a"""""`).
                let mut end = i + 3;
                while end < i + 5 && end < bytes.len() && bytes[end] == quote {
                    end += 1;
                }
                return Some(end);
            }
            i += 1;
        } else if b == b'\n' && !triple {
            return None;
        } else {
            i += 1;
        }
    }
    None
}

/// The end of the value starting at `at`: a string, an array or inline table (nested, with
/// strings and comments inside), or a bare scalar up to the line's end or a comment.
pub(super) fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        quote @ (b'"' | b'\'') => string_end(bytes, at, quote),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    quote @ (b'"' | b'\'') => {
                        i = string_end(bytes, i, quote)?;
                        continue;
                    }
                    b'#' => i = line_end(bytes, i),
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let mut end = line_end(bytes, at);
            let mut i = at;
            while i < end {
                if bytes[i] == b'#' {
                    end = i;
                }
                i += 1;
            }
            while end > at && bytes[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            Some(end)
        }
    }
}

/// Skips the statements of a dropped table: the index of the next header (a `[` first on its
/// line, outside any value), or the end. Only strings, brackets and comments are followed.
pub(super) fn next_header(bytes: &[u8], mut at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut line_start = true;
    while at < bytes.len() {
        match bytes[at] {
            b'\n' => line_start = true,
            b' ' | b'\t' | b'\r' => {}
            b'#' => at = line_end(bytes, at) - 1,
            b'[' if line_start && depth == 0 => return Some(at),
            quote @ (b'"' | b'\'') => {
                at = string_end(bytes, at, quote)?;
                line_start = false;
                continue;
            }
            byte => {
                if matches!(byte, b'[' | b'{') {
                    depth += 1;
                } else if matches!(byte, b']' | b'}') {
                    depth = depth.checked_sub(1)?;
                }
                line_start = false;
            }
        }
        at += 1;
    }
    Some(at)
}

/// After a statement: blanks and a comment may follow before the line ends; anything else is a
/// shape this pass does not follow.
pub(super) fn rest_of_line(bytes: &[u8], at: usize) -> Option<usize> {
    let at = skip_blank(bytes, at);
    match bytes.get(at) {
        None | Some(b'\n') => Some(at),
        Some(b'\r') if bytes.get(at + 1) == Some(&b'\n') => Some(at),
        Some(b'#') => Some(line_end(bytes, at)),
        _ => None,
    }
}

/// Skips blanks, line endings and comments.
pub(super) fn skip_trivia(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            b'#' => at = line_end(bytes, at),
            _ => break,
        }
    }
    at
}

pub(super) fn skip_blank(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t') {
        at += 1;
    }
    at
}

/// The index of the line ending at or after `at` (or the end).
pub(super) fn line_end(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && bytes[at] != b'\n' {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_what_the_graph_reads() {
        let text = r#"# generated
cargo-features = ["x"]

[package]
name = "demo"   # a comment
version = "1.0.0"
description = """
A description with [brackets]
[dependencies.fake]
and "quotes" \""" inside"""
build = "build.rs"
keywords = [
    "a", # comment ]
    "b",
]

[package.metadata.docs.rs]
features = ["all"]

[features]
default = ["std"]
std = [
    "dep/std",
]

[lib]
name = "demo"
doctest = false
path = 'src/lib.rs'

[[bin]]
name = "tool"
required-features = ["cli"]

[[bench]]
name = "b"

[dependencies.serde]
version = "1"
features = ["derive", 'rc']
optional = true
registry = "elsewhere"

[dependencies]
inline = { version = "1", features = ["a", "b"], package = "real-inline" }

[target."cfg(windows)".dependencies.winapi]
version = "0.3"
features = [ "a", { nested = [1, 2] } ]

[target.'cfg(unix)'.build-dependencies]
cc = "1"

[target.x86_64-pc-windows-msvc]
dependencies.winres = { version = "0.1" }
"#;
        let pruned = prune(text).unwrap();
        assert_eq!(
            pruned,
            r#"[package]
name = "demo"
version = "1.0.0"
build = "build.rs"
[features]
default = ["std"]
std = [
    "dep/std",
]
[lib]
name = "demo"
path = 'src/lib.rs'
[[bin]]
name = "tool"
[dependencies.serde]
version = "1"
features = ["derive", 'rc']
optional = true
[dependencies]
inline = { version = "1", features = ["a", "b"], package = "real-inline" }
[target."cfg(windows)".dependencies.winapi]
version = "0.3"
features = [ "a", { nested = [1, 2] } ]
[target.'cfg(unix)'.build-dependencies]
cc = "1"
[target.x86_64-pc-windows-msvc]
dependencies.winres = { version = "0.1" }
"#
        );
        crate::settings::toml::parse(&pruned).unwrap();
    }

    #[test]
    fn shapes_it_does_not_follow_are_none() {
        for text in [
            "[package\nname = \"x\"\n",
            "name \"x\"\n",
            "a = \"unterminated\n",
            "a = [1, 2\n",
            "[a] trailing\n",
            "= 1\n",
        ] {
            assert_eq!(prune(text), None, "{text}");
        }
        assert_eq!(prune("").as_deref(), Some(""));
    }
}
