//! Target conditions of dependencies (`cfg(...)` expressions and plain triples) evaluated against
//! a platform's cfg set, read from cargo's `CARGO_CFG_*` variables or `rustc --print cfg`.

/// What a platform is: its triple when known, and its cfg options, sorted, each once.
///
/// A sorted list, not a set type: a platform has a few dozen options and lookups are binary
/// searches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CfgSet {
    /// The target triple, e.g. `x86_64-unknown-linux-gnu`, for dependencies keyed by triple.
    pub(crate) triple: Option<String>,
    /// `unix` is `("unix", None)`; `target_os="linux"` is `("target_os", Some("linux"))`.
    options: Vec<(String, Option<String>)>,
}

impl CfgSet {
    /// A set of these options (any order, repeats allowed).
    pub(crate) fn new(triple: Option<&str>, mut options: Vec<(String, Option<String>)>) -> CfgSet {
        options.sort_unstable();
        options.dedup();
        CfgSet {
            triple: triple.map(str::to_string),
            options,
        }
    }

    /// The options of a build script's target from cargo's `CARGO_CFG_<NAME>` variables (all the
    /// process's variables may be passed; others are skipped). An empty value is a bare name
    /// (`CARGO_CFG_UNIX=`); cargo joins the values of a repeated key with commas
    /// (`CARGO_CFG_TARGET_FEATURE=fxsr,sse,sse2`). `CARGO_CFG_FEATURE` and
    /// `CARGO_CFG_PROC_MACRO` describe the package being built, not the platform, and are left
    /// out. The triple is cargo's `TARGET` (or `HOST` for the host).
    pub(crate) fn from_cargo_env(triple: Option<&str>, vars: &[(String, String)]) -> CfgSet {
        let mut options = Vec::new();
        for (key, value) in vars {
            let Some(name) = key.strip_prefix("CARGO_CFG_") else {
                continue;
            };
            if name.is_empty() || name == "FEATURE" || name == "PROC_MACRO" {
                continue;
            }
            let name = name.to_ascii_lowercase();
            if value.is_empty() {
                options.push((name, None));
            } else {
                for part in value.split(',') {
                    options.push((name.clone(), Some(part.to_string())));
                }
            }
        }
        CfgSet::new(triple, options)
    }

    /// The options printed by `rustc --print cfg [--target T]`: one a line, `unix` or
    /// `target_os="linux"`. Lines that are neither are skipped.
    pub(crate) fn from_rustc_print(triple: Option<&str>, text: &str) -> CfgSet {
        let mut options = Vec::new();
        for line in text.lines().map(str::trim) {
            match line.split_once('=') {
                None if is_ident(line) => options.push((line.to_string(), None)),
                Some((key, value)) => {
                    let value = value.trim();
                    let unquoted = value
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .filter(|v| !v.contains('"'));
                    if let (true, Some(value)) = (is_ident(key.trim()), unquoted) {
                        options.push((key.trim().to_string(), Some(value.to_string())));
                    }
                }
                None => {}
            }
        }
        CfgSet::new(triple, options)
    }

    /// The set as one line (`triple: unix target_os="linux" ...`), for the graph cache's key.
    pub(crate) fn render(&self) -> String {
        let mut line = self.triple.clone().unwrap_or_else(|| "-".to_string());
        line.push(':');
        for (key, value) in &self.options {
            line.push(' ');
            line.push_str(key);
            if let Some(value) = value {
                line.push_str("=\"");
                line.push_str(value);
                line.push('"');
            }
        }
        line
    }

    /// Whether the option `key` (with `value`, or bare) is set.
    pub(crate) fn has(&self, key: &str, value: Option<&str>) -> bool {
        self.options
            .binary_search_by(|(k, v)| (k.as_str(), v.as_deref()).cmp(&(key, value)))
            .is_ok()
    }
}

/// Whether a dependency's target condition holds on `platform`: a `cfg(...)` expression or a
/// plain triple (`[target.x86_64-pc-windows-msvc.dependencies]`). `Err` says what in the
/// condition could not be read (the caller keeps the dependency: counting a package too many is
/// safer than missing one) or that the platform's triple is unknown.
pub(crate) fn holds(condition: &str, platform: &CfgSet) -> Result<bool, String> {
    let condition = condition.trim();
    if let Some(inner) = condition.strip_prefix("cfg(") {
        let mut parser = Parser {
            src: inner.as_bytes(),
            pos: 0,
            depth: 0,
        };
        let value = parser.predicate(platform)?;
        parser.skip_space();
        if parser.src.get(parser.pos..) != Some(b")".as_slice()) {
            return Err(format!("`{condition}`: expected `)` at the end"));
        }
        return Ok(value);
    }
    if condition.is_empty() || !condition.bytes().all(is_triple_byte) {
        return Err(format!(
            "`{condition}`: expected `cfg(...)` or a target triple"
        ));
    }
    match &platform.triple {
        Some(triple) => Ok(triple == condition),
        None => Err(format!(
            "`{condition}`: the platform's target triple is not known"
        )),
    }
}

/// How deep `all`/`any`/`not` may nest: real conditions nest two or three levels; the bound keeps
/// hostile text from exhausting the stack.
const MAX_DEPTH: usize = 32;

/// A recursive-descent reader of a cfg predicate that evaluates as it reads.
struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.src.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let found = self.src.get(self.pos) == Some(&byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn error(&self, expected: &str) -> String {
        let rest = String::from_utf8_lossy(self.src.get(self.pos..).unwrap_or_default());
        format!("`cfg({}`: expected {expected} at `{rest}`", self.text())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(self.src).into_owned()
    }

    fn ident(&mut self) -> Option<&str> {
        self.skip_space();
        let start = self.pos;
        while self
            .src
            .get(self.pos)
            .is_some_and(|&b| b == b'_' || b.is_ascii_alphanumeric())
        {
            self.pos += 1;
        }
        let word = std::str::from_utf8(self.src.get(start..self.pos)?).ok()?;
        word.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
            .then_some(word)
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.pos;
        while let Some(&byte) = self.src.get(self.pos) {
            match byte {
                b'"' => {
                    let text = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                    self.pos += 1;
                    return Some(text);
                }
                // Escapes never occur in real target conditions.
                b'\\' => return None,
                _ => self.pos += 1,
            }
        }
        None
    }

    /// One predicate: `name`, `name = "value"`, `all(..)`, `any(..)`, `not(..)`, `true`, `false`.
    fn predicate(&mut self, platform: &CfgSet) -> Result<bool, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("`cfg({}`: nested too deeply", self.text()));
        }
        let Some(name) = self.ident().map(str::to_string) else {
            return Err(self.error("a cfg name"));
        };
        let value = if self.eat(b'(') {
            let value = match name.as_str() {
                "all" => self.list(platform, true)?,
                "any" => self.list(platform, false)?,
                "not" => {
                    let inner = self.predicate(platform)?;
                    if !self.eat(b')') {
                        return Err(self.error("`)` after the one predicate of `not`"));
                    }
                    !inner
                }
                _ => return Err(self.error("`all`, `any` or `not` before `(`")),
            };
            value
        } else if self.eat(b'=') {
            let value = self.string().ok_or_else(|| self.error("a quoted value"))?;
            platform.has(&name, Some(&value))
        } else {
            match name.as_str() {
                "true" => true,
                "false" => false,
                _ => platform.has(&name, None),
            }
        };
        self.depth -= 1;
        Ok(value)
    }

    /// The comma-separated predicates of `all(` or `any(` up to the `)`; a trailing comma is
    /// allowed. `all()` is true and `any()` false, as in rustc.
    fn list(&mut self, platform: &CfgSet, all: bool) -> Result<bool, String> {
        let mut result = all;
        loop {
            if self.eat(b')') {
                return Ok(result);
            }
            let value = self.predicate(platform)?;
            result = if all {
                result && value
            } else {
                result || value
            };
            if !self.eat(b',') {
                return if self.eat(b')') {
                    Ok(result)
                } else {
                    Err(self.error("`,` or `)`"))
                };
            }
        }
    }
}

fn is_ident(text: &str) -> bool {
    text.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
        && text.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

fn is_triple_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rustc --print cfg` on x86_64 Linux (abridged).
    const LINUX: &str = "debug_assertions\npanic=\"unwind\"\ntarget_arch=\"x86_64\"\ntarget_endian=\"little\"\ntarget_env=\"gnu\"\ntarget_family=\"unix\"\ntarget_feature=\"fxsr\"\ntarget_feature=\"sse\"\ntarget_feature=\"sse2\"\ntarget_has_atomic=\"64\"\ntarget_os=\"linux\"\ntarget_pointer_width=\"64\"\ntarget_vendor=\"unknown\"\nunix\n";

    fn linux() -> CfgSet {
        CfgSet::from_rustc_print(Some("x86_64-unknown-linux-gnu"), LINUX)
    }

    #[test]
    fn reads_rustc_print_cfg() {
        let set = linux();
        assert!(set.has("unix", None));
        assert!(set.has("target_os", Some("linux")));
        assert!(set.has("target_feature", Some("sse2")));
        assert!(!set.has("windows", None));
        assert!(!set.has("target_os", None));
        let odd = CfgSet::from_rustc_print(None, "unix\n\nbad line\nkey=unquoted\nk=\"v\"\n");
        assert_eq!(
            odd,
            CfgSet::new(
                None,
                vec![("unix".into(), None), ("k".into(), Some("v".into()))]
            )
        );
    }

    #[test]
    fn reads_cargo_cfg_variables_like_rustc_print() {
        let vars: Vec<(String, String)> = [
            ("CARGO_CFG_DEBUG_ASSERTIONS", ""),
            ("CARGO_CFG_PANIC", "unwind"),
            ("CARGO_CFG_TARGET_ARCH", "x86_64"),
            ("CARGO_CFG_TARGET_ENDIAN", "little"),
            ("CARGO_CFG_TARGET_ENV", "gnu"),
            ("CARGO_CFG_TARGET_FAMILY", "unix"),
            ("CARGO_CFG_TARGET_FEATURE", "fxsr,sse,sse2"),
            ("CARGO_CFG_TARGET_HAS_ATOMIC", "64"),
            ("CARGO_CFG_TARGET_OS", "linux"),
            ("CARGO_CFG_TARGET_POINTER_WIDTH", "64"),
            ("CARGO_CFG_TARGET_VENDOR", "unknown"),
            ("CARGO_CFG_UNIX", ""),
            ("CARGO_CFG_FEATURE", "default,std"),
            ("CARGO_CFG_PROC_MACRO", ""),
            ("CARGO_PKG_NAME", "app"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let set = CfgSet::from_cargo_env(Some("x86_64-unknown-linux-gnu"), &vars);
        assert_eq!(set, linux());
    }

    #[test]
    fn evaluates_expressions_and_triples() {
        let set = linux();
        let yes = [
            "cfg(unix)",
            "cfg(target_os = \"linux\")",
            "cfg( all ( unix , target_pointer_width=\"64\" , ) )",
            "cfg(any(windows, unix))",
            "cfg(not(windows))",
            "cfg(all())",
            "cfg(debug_assertions)",
            "cfg(true)",
            "x86_64-unknown-linux-gnu",
        ];
        for condition in yes {
            assert_eq!(holds(condition, &set), Ok(true), "{condition}");
        }
        let no = [
            "cfg(windows)",
            "cfg(test)",
            "cfg(any())",
            "cfg(all(unix, target_arch = \"wasm32\"))",
            "cfg(not(any(unix, windows)))",
            "cfg(false)",
            "x86_64-pc-windows-msvc",
        ];
        for condition in no {
            assert_eq!(holds(condition, &set), Ok(false), "{condition}");
        }
    }

    #[test]
    fn unreadable_conditions_are_errors_that_say_what_was_expected() {
        let set = linux();
        for (condition, expected) in [
            ("cfg(unix", "expected `)`"),
            ("cfg(foo(bar))", "`all`, `any` or `not`"),
            ("cfg(target_os = linux)", "a quoted value"),
            ("cfg(all(unix windows))", "`,` or `)`"),
            ("cfg(not(unix, windows))", "one predicate of `not`"),
            ("cfg()", "a cfg name"),
            ("cfg(unix) trailing", "expected `)` at the end"),
            ("what is this", "expected `cfg(...)` or a target triple"),
            ("", "expected `cfg(...)` or a target triple"),
        ] {
            let err = holds(condition, &set).unwrap_err();
            assert!(err.contains(expected), "{condition}: {err}");
        }
        let deep = format!("cfg({}unix{})", "not(".repeat(100), ")".repeat(100));
        assert!(holds(&deep, &set)
            .unwrap_err()
            .contains("nested too deeply"));
        let no_triple = CfgSet::from_rustc_print(None, LINUX);
        assert!(holds("x86_64-unknown-linux-gnu", &no_triple)
            .unwrap_err()
            .contains("triple is not known"));
    }
}
