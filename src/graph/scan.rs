//! Reads a published manifest's entries straight from its text, without building TOML tables.
//!
//! Cargo publishes manifests in one normalized shape: a header per table (`[dependencies.x]`),
//! plain strings, booleans and arrays of strings. In the unoptimised build a build script runs in,
//! the TOML reader and the table lookups after it cost about five times what this pass does on
//! that shape. It walks statements with [`super::prune`]'s tokenizer and decodes only the values
//! [`super::manifest::entries`] would read; anything else it meets there (a multi-line string, a
//! `\u` escape, a dotted key, another type, `workspace = true`) makes it give up with `None`, and
//! the caller reads the manifest the slow way. Its answer is checked against the
//! slow way's on every manifest in the machine's registry (`graph::tests`) and on generated ones
//! (`fuzz::properties::graph`).

use super::manifest::{Dep, DepKind, Entries, Feature, Lib};
use super::prune::{
    classify, key, next_header, rest_of_line, skip_blank, skip_trivia, skip_value, Parts, Section,
    DEPENDENCY_TABLES,
};
use std::borrow::Cow;

/// The entries of a manifest in the published shape; `None` when it is not in that shape or
/// has no `package.name` (the caller then reads it with the TOML reader).
pub(crate) fn entries(text: &str) -> Option<Entries> {
    let bytes = text.as_bytes();
    let mut scan = Scan {
        text,
        name: None,
        entries: Entries::default(),
        section: Section::Root,
        table: DepKind::Normal,
        condition: None,
        pending: None,
        crate_types: false,
    };
    let mut at = 0;
    loop {
        at = skip_trivia(bytes, at);
        if at >= bytes.len() {
            break;
        }
        if bytes[at] == b'[' {
            scan.finish_dep();
            let array = bytes.get(at + 1) == Some(&b'[');
            let (parts, count, end) = key(bytes, at + 1 + usize::from(array), b']')?;
            if array && bytes.get(end + 1) != Some(&b']') {
                return None;
            }
            let after = end + 1 + usize::from(array);
            scan.header(&parts, count, array)?;
            at = rest_of_line(bytes, after)?;
            if scan.section == Section::Dropped {
                at = next_header(bytes, at)?;
            }
            continue;
        }
        let (parts, count, end) = key(bytes, at, b'=')?;
        let value = skip_blank(bytes, end + 1);
        let first = part(text, parts[0])?;
        let value_end = if count == 1 {
            scan.statement(&first, value)?
        } else if scan.reads(&first) {
            return None; // a dotted key into something read
        } else {
            skip_value(bytes, value)?
        };
        at = rest_of_line(bytes, value_end)?;
    }
    scan.finish_dep();
    let mut entries = scan.entries;
    entries.name = scan.name?;
    Some(entries)
}

/// The state of the pass: what has been read, and where in the manifest it is.
struct Scan<'t> {
    /// The manifest.
    text: &'t str,
    /// `package.name`, once read.
    name: Option<String>,
    /// What has been read.
    entries: Entries,
    /// The kind of table the statements are in.
    section: Section,
    /// The kind of the dependency table the section is in.
    table: DepKind,
    /// The `[target.<condition>]` the section is under.
    condition: Option<String>,
    /// The dependency of a `[dependencies.<key>]` section, while its statements come.
    pending: Option<Spec>,
    /// A `crate-type` (or `crate_type`) was read: the slow way reads only one of the two.
    crate_types: bool,
}

/// A dependency's details as they are read.
#[derive(Default)]
struct Spec {
    /// The key it is declared under.
    key: String,
    /// `version`, or the whole value when it is a string.
    version: Option<String>,
    /// `package`: the real name of a renamed dependency.
    package: Option<String>,
    /// `optional`.
    optional: Option<bool>,
    /// `features`.
    features: Option<Vec<String>>,
    /// `default-features`.
    default_dash: Option<bool>,
    /// `default_features` (the old spelling; the new one wins when both are given).
    default_underscore: Option<bool>,
}

impl<'t> Scan<'t> {
    /// Enters the table a header names.
    fn header(&mut self, parts: &Parts, count: usize, array: bool) -> Option<()> {
        let bytes = self.text.as_bytes();
        self.section = classify(bytes, &parts[..count.min(parts.len())], count, array);
        let text = |index: usize| part(self.text, parts[index]);
        match self.section {
            Section::Bin => self.entries.bins += 1,
            Section::Lib => {
                self.entries.lib.get_or_insert_with(Lib::default);
            }
            Section::Dependencies | Section::Dependency => {
                // `[<kind>]`, `[<kind>.<key>]`, `[target.<c>.<kind>]`, `[target.<c>.<kind>.<key>]`
                let targeted = text(0)? == "target";
                let at = if targeted { 2 } else { 0 };
                let expected = at + 1 + usize::from(self.section == Section::Dependency);
                if count != expected {
                    return None;
                }
                self.table = kind(&text(at)?)?;
                self.condition = if targeted {
                    Some(text(1)?.into_owned())
                } else {
                    None
                };
                if self.section == Section::Dependency {
                    self.pending = Some(Spec {
                        key: text(at + 1)?.to_string(),
                        ..Spec::default()
                    });
                }
            }
            _ => {}
        }
        Some(())
    }

    /// Whether a key in the current section is one [`Scan::statement`] reads.
    fn reads(&self, key: &str) -> bool {
        match self.section {
            Section::Root => {
                matches!(key, "package" | "lib" | "bin" | "target" | "features")
                    || DEPENDENCY_TABLES.contains(&key.as_bytes())
            }
            Section::Package => matches!(key, "name" | "build" | "autolib" | "autobins"),
            Section::Lib => matches!(
                key,
                "name" | "path" | "proc-macro" | "proc_macro" | "crate-type" | "crate_type"
            ),
            Section::Bin => matches!(key, "name" | "path"),
            Section::Dependency => is_dep_field(key),
            Section::Dependencies | Section::Features | Section::Target => true,
            Section::Dropped => false,
        }
    }

    /// Reads `key = <value at at>` in the current section: the index past the value.
    fn statement(&mut self, key: &str, at: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        if !self.reads(key) {
            return skip_value(bytes, at);
        }
        let text = self.text;
        match self.section {
            Section::Root | Section::Target | Section::Dropped => None,
            Section::Package => match key {
                "name" => {
                    let (name, end) = string(text, at)?;
                    self.name = Some(name);
                    Some(end)
                }
                "build" => match string(text, at) {
                    Some((_, end)) => {
                        self.entries.build = Some(true);
                        Some(end)
                    }
                    None => {
                        let (on, end) = boolean(bytes, at)?;
                        self.entries.build = Some(on);
                        Some(end)
                    }
                },
                _ => {
                    let (on, end) = boolean(bytes, at)?;
                    if key == "autolib" {
                        self.entries.autolib = Some(on);
                    } else {
                        self.entries.autobins = Some(on);
                    }
                    Some(end)
                }
            },
            Section::Lib => {
                let lib = self.entries.lib.get_or_insert_with(Lib::default);
                match key {
                    "name" | "path" => {
                        let (value, end) = string(text, at)?;
                        if key == "name" {
                            lib.name = Some(value);
                        } else {
                            lib.path = Some(value);
                        }
                        Some(end)
                    }
                    "proc-macro" | "proc_macro" => {
                        let (on, end) = boolean(bytes, at)?;
                        lib.proc_macro |= on;
                        Some(end)
                    }
                    _ => {
                        if std::mem::replace(&mut self.crate_types, true) {
                            return None;
                        }
                        let (types, end) = strings(text, at)?;
                        let has = |wanted: &[&str]| types.iter().any(|t| wanted.contains(&&**t));
                        lib.proc_macro |= has(&["proc-macro"]);
                        lib.artifact |= has(&["cdylib", "dylib", "staticlib"]);
                        Some(end)
                    }
                }
            }
            Section::Bin => {
                let (value, end) = string(text, at)?;
                if self.entries.bins == 1 {
                    let first = &mut self.entries.first_bin;
                    if key == "name" {
                        first.0 = Some(value);
                    } else {
                        first.1 = Some(value);
                    }
                }
                Some(end)
            }
            Section::Features => {
                let (enables, end) = strings(text, at)?;
                self.entries.features.push(Feature {
                    name: key.to_string(),
                    enables,
                });
                Some(end)
            }
            Section::Dependencies => {
                let mut spec = Spec {
                    key: key.to_string(),
                    ..Spec::default()
                };
                let end = match string(text, at) {
                    Some((version, end)) => {
                        spec.version = Some(version);
                        end
                    }
                    None => inline_table(text, at, &mut spec)?,
                };
                self.push_dep(spec);
                Some(end)
            }
            Section::Dependency => {
                let mut spec = self.pending.take()?;
                let end = dep_field(text, key, at, &mut spec);
                self.pending = Some(spec);
                end
            }
        }
    }

    /// Adds the dependency whose `[dependencies.<key>]` section has ended.
    fn finish_dep(&mut self) {
        if let Some(spec) = self.pending.take() {
            self.push_dep(spec);
        }
    }

    /// Adds a dependency as [`super::manifest::entries`] does.
    fn push_dep(&mut self, spec: Spec) {
        let name = spec.package.unwrap_or_else(|| spec.key.clone());
        self.entries.deps.push(Dep {
            rename: (name != spec.key).then_some(spec.key),
            name,
            kind: self.table,
            target: self.condition.clone(),
            optional: spec.optional == Some(true),
            default_features: spec
                .default_dash
                .or(spec.default_underscore)
                .unwrap_or(true),
            features: spec.features.unwrap_or_default(),
            req: spec.version,
        });
    }
}

/// Whether a dependency's detail is one that is read.
fn is_dep_field(key: &str) -> bool {
    matches!(
        key,
        "version"
            | "package"
            | "optional"
            | "features"
            | "default-features"
            | "default_features"
            | "workspace"
    )
}

/// Reads one detail of a dependency into `spec`: the index past its value. `None` for a type
/// the slow way would read otherwise, and for `workspace = true` (inheritance needs the
/// workspace's table, which published manifests never use).
fn dep_field(text: &str, key: &str, at: usize, spec: &mut Spec) -> Option<usize> {
    let bytes = text.as_bytes();
    match key {
        "version" | "package" => {
            let (value, end) = string(text, at)?;
            if key == "version" {
                spec.version = Some(value);
            } else {
                spec.package = Some(value);
            }
            Some(end)
        }
        "features" => {
            let (features, end) = strings(text, at)?;
            spec.features = Some(features);
            Some(end)
        }
        "workspace" => None,
        "optional" | "default-features" | "default_features" => {
            let (on, end) = boolean(bytes, at)?;
            match key {
                "optional" => spec.optional = Some(on),
                "default-features" => spec.default_dash = Some(on),
                _ => spec.default_underscore = Some(on),
            }
            Some(end)
        }
        _ => skip_value(bytes, at),
    }
}

/// `{ key = value, ... }` of a dependency, into `spec`: the index past the `}`.
fn inline_table(text: &str, at: usize, spec: &mut Spec) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut at = skip_trivia(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return Some(at + 1);
    }
    loop {
        let (parts, count, end) = key(bytes, at, b'=')?;
        if count != 1 {
            return None;
        }
        let field = part(text, parts[0])?;
        let value = skip_blank(bytes, end + 1);
        let after = if is_dep_field(&field) {
            dep_field(text, &field, value, spec)?
        } else {
            skip_value(bytes, value)?
        };
        at = skip_trivia(bytes, after);
        match bytes.get(at)? {
            b',' => {
                at = skip_trivia(bytes, at + 1);
                if bytes.get(at) == Some(&b'}') {
                    return Some(at + 1);
                }
            }
            b'}' => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The text of a key part (the tokenizer gives a quoted one as written, without its quotes):
/// escapes of a `"`-quoted one resolved.
fn part(text: &str, (from, to): (usize, usize)) -> Option<Cow<'_, str>> {
    let raw = text.get(from..to)?;
    let basic = from > 0 && text.as_bytes()[from - 1] == b'"';
    if !basic || !raw.contains('\\') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { escape(chars.next()?)? } else { c });
    }
    Some(Cow::Owned(out))
}

/// The character of a simple escape (`\"` and the like); `None` for `\u` and the rest.
fn escape(after: char) -> Option<char> {
    Some(match after {
        '"' => '"',
        '\\' => '\\',
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'b' => '\u{8}',
        'f' => '\u{c}',
        _ => return None,
    })
}

/// The dependency kind of a table name.
fn kind(table: &str) -> Option<DepKind> {
    match table {
        "dependencies" => Some(DepKind::Normal),
        "build-dependencies" | "build_dependencies" => Some(DepKind::Build),
        "dev-dependencies" | "dev_dependencies" => Some(DepKind::Dev),
        _ => None,
    }
}

/// A one-line string at `at`, simple escapes resolved: its text and the index past it.
fn string(text: &str, at: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(at)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let triple = bytes.get(at + 1) == Some(&quote) && bytes.get(at + 2) == Some(&quote);
    if triple {
        return None;
    }
    let mut out = String::new();
    let (mut start, mut i) = (at + 1, at + 1);
    while i < bytes.len() {
        match bytes[i] {
            b if b == quote => {
                out.push_str(text.get(start..i)?);
                return Some((out, i + 1));
            }
            b'\\' if quote == b'"' => {
                out.push_str(text.get(start..i)?);
                out.push(escape(char::from(*bytes.get(i + 1)?))?);
                i += 2;
                start = i;
            }
            b'\n' | b'\r' => return None,
            _ => i += 1,
        }
    }
    None
}

/// `true` or `false` at `at`: the value and the index past it.
fn boolean(bytes: &[u8], at: usize) -> Option<(bool, usize)> {
    let rest = bytes.get(at..)?;
    let (on, len) = if rest.starts_with(b"true") {
        (true, 4)
    } else if rest.starts_with(b"false") {
        (false, 5)
    } else {
        return None;
    };
    let next = rest.get(len).copied().unwrap_or(b'\n');
    (!next.is_ascii_alphanumeric() && next != b'_' && next != b'-').then_some((on, at + len))
}

/// An array of one-line strings at `at`, over lines, with comments and a trailing comma: the
/// strings and the index past the `]`.
fn strings(text: &str, at: usize) -> Option<(Vec<String>, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    let mut list = Vec::new();
    let mut at = skip_trivia(bytes, at + 1);
    loop {
        if bytes.get(at) == Some(&b']') {
            return Some((list, at + 1));
        }
        let (item, end) = string(text, at)?;
        list.push(item);
        at = skip_trivia(bytes, end);
        match bytes.get(at)? {
            b',' => at = skip_trivia(bytes, at + 1),
            b']' => return Some((list, at + 1)),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::toml::parse;

    /// The slow way's entries.
    fn slow(text: &str) -> Option<Entries> {
        super::super::manifest::entries(&parse(text).ok()?, None).ok()
    }

    #[test]
    fn reads_the_published_shape_as_the_toml_reader_does() {
        let text = r#"# generated
[package]
edition = "2021"
name = "demo"
version = "1.0.0"
build = "build.rs"
autolib = false
description = """
A description with [brackets]
[dependencies.fake]
"""
keywords = ["a", "b"]

[package.metadata.docs.rs]
features = ["all"]

[features]
default = ["std"]
"quoted-name" = []
std = [
    "dep:serde",  # comment ]
    'serde?/std',
]

[lib]
name = "demo_lib"
path = 'src/lib.rs'
crate-type = ["rlib", "cdylib"]

[[bin]]
name = "tool"
path = "src/main.rs"

[[bin]]
name = "second"

[[bench]]
name = "b"

[dependencies.serde]
version = "1"
features = ["derive", 'rc']
optional = true
default-features = false
registry = "elsewhere"

[dependencies]
inline = { version = "1", features = ["a", "b"], package = "real-inline", default_features = false, }
plain = "0.3"
empty = {}

[build-dependencies.cc]
version = "1.0"

[target."cfg(windows)".dependencies.winapi]
version = "0.3"
features = ["winbase"]

[target."cfg(any(target_arch = \"x86\", target_arch = \"x86_64\"))".dependencies.md5-asm]
version = "0.5"
features = ["a\\b", 'c\d']

[target.'cfg(all(unix, target_os = "linux"))'.build-dependencies]
libc = { version = "0.2", optional = true }

[target.x86_64-pc-windows-msvc.dev-dependencies.winres]
version = "0.1"

[lints.rust]
unsafe_code = "forbid"
"#;
        let fast = entries(text).expect("the published shape");
        assert_eq!(Some(fast.clone().sorted()), slow(text).map(Entries::sorted));
        assert_eq!(fast.bins, 2);
        assert_eq!(
            fast.first_bin,
            (Some("tool".into()), Some("src/main.rs".into()))
        );
        assert!(fast
            .lib
            .as_ref()
            .is_some_and(|l| l.artifact && !l.proc_macro));
        assert_eq!(fast.deps.len(), 9);
        let asm = fast.deps.iter().find(|d| d.name == "md5-asm").unwrap();
        assert_eq!(
            asm.target.as_deref(),
            Some("cfg(any(target_arch = \"x86\", target_arch = \"x86_64\"))")
        );
        assert_eq!(asm.features, ["a\\b", "c\\d"]);
        assert_eq!(fast.features.len(), 3);
    }

    #[test]
    fn other_shapes_are_left_to_the_toml_reader() {
        for text in [
            // `\u` escapes, multi-line strings, dotted keys into what is read, other types.
            "[package]\nname = \"a\\u0041\"\n",
            "[package]\nname = \"\"\"a\"\"\"\n",
            "[package]\nname = \"a\"\n[dependencies]\nfoo.version = \"1\"\n",
            "[package]\nname = \"a\"\n[dependencies.foo]\noptional = \"yes\"\n",
            "[package]\nname = \"a\"\n[dependencies]\nfoo = 1\n",
            "[package]\nname = \"a\"\n[features]\nx = [1]\n",
            "[package]\nname = \"a\"\n[features]\nx = \"y\"\n",
            "[package]\nname = \"a\"\n[dependencies]\nfoo = { workspace = true }\n",
            "[package]\nname = \"a\"\n[target.'cfg(unix)']\ndependencies.foo = \"1\"\n",
            "[package]\nname = \"a\"\n[dependencies.foo.bar]\nx = 1\n",
            "package = { name = \"a\" }\n",
            "[package]\nname = \"a\"\n[lib]\nproc-macro = 1\n",
            "[package]\nname = \"a\"\nbuild = 1\n",
            // No name: the slow way says what was expected.
            "[package]\nversion = \"1\"\n",
            "",
        ] {
            assert_eq!(entries(text), None, "{text}");
        }
        // Dotted keys into what is not read are skipped.
        let text = "[package]\nname = \"a\"\nmetadata.x = 1\n[dependencies]\nb = { version = \"1\", git.x = 1 }\n";
        assert_eq!(entries(text), None, "a dotted key inside an inline table");
        let text = "[package]\nname = \"a\"\nmetadata.x = 1\n";
        assert_eq!(entries(text), slow(text));
        let both =
            "[package]\nname = \"a\"\n[lib]\ncrate-type = [\"rlib\"]\ncrate_type = [\"cdylib\"]\n";
        assert_eq!(entries(both), None);
    }
}
