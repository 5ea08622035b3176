//! A small TOML reader: enough of TOML 1.0 to read Cargo manifests and config files without a dependency.
//!
//! The `toml` crate costs more to compile than everything else this crate depends on, and a build
//! script only needs to read a few tables. This reader accepts TOML 1.0 plus the TOML 1.1 additions
//! that Cargo accepts since 1.94 (newlines and a trailing comma in inline tables, the `\e` and `\xHH`
//! escapes, times without seconds), so a file Cargo reads, this reads too. Date-times are kept as
//! their source text, and no formatting is kept.
//!
//! It never panics: the input is read with `get`, nesting is bounded and every failure is an error.

use std::fmt;

/// A TOML table: keys in sorted order.
///
/// A sorted list rather than a map: the tables of manifests and config files are small, and each
/// map type instantiated costs compile time on the machines this crate is for. Lookups are binary
/// searches; inserts shift the entries after the new key.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Table(Vec<(String, Value)>);

impl Table {
    /// An empty table.
    #[cfg(test)]
    pub(crate) fn new() -> Table {
        Table::default()
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        let found = find(&self.0, key).ok()?;
        self.0.get(found).map(|(_, value)| value)
    }

    /// Whether `key` is in the table.
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        find(&self.0, key).is_ok()
    }

    /// The entries, keys in sorted order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, (String, Value)> {
        self.0.iter()
    }

    /// The keys, sorted.
    #[cfg(any(test, feature = "feature-check"))]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(key, _)| key)
    }

    /// The values, in the order of their keys.
    #[cfg(any(test, feature = "feature-check"))]
    pub(crate) fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, value)| value)
    }

    /// How many entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'a> IntoIterator for &'a Table {
    type Item = &'a (String, Value);
    type IntoIter = std::slice::Iter<'a, (String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Where `key` is in entries sorted by key (`Err`: where it would go).
fn find<T>(entries: &[(String, T)], key: &str) -> Result<usize, usize> {
    entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
}

/// One TOML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A string of any of the four kinds, escapes resolved.
    String(String),
    /// An integer; TOML integers are 64-bit.
    Integer(i64),
    /// A float, including `inf` and `nan`.
    Float(f64),
    /// `true` or `false`.
    Boolean(bool),
    /// Offset date-times, local dates and times, kept as their source text.
    Datetime(String),
    /// An array, or an array of tables.
    Array(Vec<Value>),
    /// A table, from a header, dotted keys or an inline table.
    Table(Table),
}

impl Value {
    /// The text, if this is a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// The number, if this is an integer.
    #[cfg(test)]
    pub(crate) fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(number) => Some(*number),
            _ => None,
        }
    }

    /// The flag, if this is a boolean.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub(crate) fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a table.
    pub(crate) fn as_table(&self) -> Option<&Table> {
        match self {
            Value::Table(table) => Some(table),
            _ => None,
        }
    }
}

/// The value at a path of keys, e.g. `["profile", "dev", "debug"]`.
///
/// `None` when a key is missing, when a key before the last names something other than a table, or
/// when the path is empty.
pub(crate) fn get_path<'a>(table: &'a Table, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut table = table;
    for key in parents {
        table = table.get(key)?.as_table()?;
    }
    table.get(last)
}

/// Why a document could not be read: the 1-based line and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// The 1-based line of the problem.
    pub(crate) line: usize,
    /// What was wrong, short and lower-case.
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole TOML document.
pub(crate) fn parse(text: &str) -> Result<Table, ParseError> {
    // A byte order mark may start the file; it is not part of the document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser { src: text, pos: 0 };
    parser.document().map_err(|failure| ParseError {
        line: line_of(text, failure.pos),
        message: failure.message,
    })
}

/// The 1-based line of a byte offset. Lines are counted only for the one error reported, which keeps
/// parsing linear.
fn line_of(text: &str, pos: usize) -> usize {
    let before = text.as_bytes().get(..pos).unwrap_or(text.as_bytes());
    before.iter().filter(|&&byte| byte == b'\n').count() + 1
}

/// How deep tables, arrays and inline tables may nest. Real files nest a few levels; the bound keeps
/// the recursion in parsing, converting and dropping far from the end of the stack on hostile input.
const MAX_DEPTH: usize = 128;

/// An error at a byte offset, turned into a line number when parsing stops.
struct Failure {
    /// Where in the text the problem is.
    pos: usize,
    /// What was wrong.
    message: String,
}

/// How a table came to exist, which decides what later lines may add to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Made only as the parent of a header, like `a` for `[a.b]`; a later `[a]` may still define it.
    Implicit,
    /// Defined by its own header (or the root): no other header may define it and no dotted key may
    /// reach into it from outside.
    Header,
    /// Made by a dotted key such as `a.b = 1`: more dotted keys may add to it, a header may not.
    Dotted,
}

/// A table while the document is read: its entries and how it was made.
struct Draft {
    /// How the table was made.
    kind: Kind,
    /// The entries so far, sorted by key.
    entries: Vec<(String, Node)>,
}

/// An entry of a table while the document is read.
enum Node {
    /// A finished value. Inline tables and arrays are complete when written, so nothing may add to
    /// them later.
    Value(Value),
    /// A table that headers or dotted keys may still add to.
    Table(Draft),
    /// An array of tables made by `[[header]]`s; later headers below it go into its last table.
    Tables(Vec<Draft>),
}

impl Draft {
    /// An empty table made the given way.
    fn new(kind: Kind) -> Self {
        Draft {
            kind,
            entries: Vec::new(),
        }
    }

    /// The finished table, forgetting how its parts were made.
    fn into_table(self) -> Table {
        Table(
            self.entries
                .into_iter()
                .map(|(key, node)| (key, node.into_value()))
                .collect(),
        )
    }

    /// The entry for `key`, made with `make` if there is none.
    fn entry_or(&mut self, key: &str, make: impl FnOnce() -> Node) -> &mut Node {
        let at = match find(&self.entries, key) {
            Ok(at) => at,
            Err(at) => {
                self.entries.insert(at, (key.to_owned(), make()));
                at
            }
        };
        &mut self.entries[at].1
    }

    /// The entry for `key`, if there is one.
    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        let at = find(&self.entries, key).ok()?;
        self.entries.get_mut(at).map(|(_, node)| node)
    }

    /// Adds `node` under `key`, unless `key` is taken: then the node there.
    fn insert_new(&mut self, key: &str, node: Node) -> Result<(), &mut Node> {
        match find(&self.entries, key) {
            Ok(at) => Err(&mut self.entries[at].1),
            Err(at) => {
                self.entries.insert(at, (key.to_owned(), node));
                Ok(())
            }
        }
    }
}

impl Node {
    /// The finished value.
    fn into_value(self) -> Value {
        match self {
            Node::Value(value) => value,
            Node::Table(draft) => Value::Table(draft.into_table()),
            Node::Tables(drafts) => Value::Array(
                drafts
                    .into_iter()
                    .map(|draft| Value::Table(draft.into_table()))
                    .collect(),
            ),
        }
    }
}

/// Walks from the root to the table that holds a header's last key, making missing tables on the
/// way; through an array of tables the walk goes into its last table, as TOML says.
fn header_parent<'t>(root: &'t mut Draft, parents: &[String]) -> Result<&'t mut Draft, String> {
    let mut table = root;
    for (index, key) in parents.iter().enumerate() {
        let node = table.entry_or(key, || Node::Table(Draft::new(Kind::Implicit)));
        table = match node {
            Node::Table(draft) => draft,
            Node::Tables(drafts) => match drafts.last_mut() {
                Some(draft) => draft,
                None => return Err(format!("`{}` is empty", show(parents, index))),
            },
            Node::Value(_) => return Err(format!("`{}` is not a table", show(parents, index))),
        };
    }
    Ok(table)
}

/// Applies a `[table]` header: defines the table, which must not have been defined before.
fn define_table(root: &mut Draft, path: &[String]) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or_else(|| "empty key".to_owned())?;
    let parent = header_parent(root, parents)?;
    let whole = show(path, parents.len());
    match parent.insert_new(last, Node::Table(Draft::new(Kind::Header))) {
        Ok(()) => Ok(()),
        Err(taken) => match taken {
            Node::Table(draft) if draft.kind == Kind::Implicit => {
                draft.kind = Kind::Header;
                Ok(())
            }
            Node::Table(_) => Err(format!("table `{whole}` is defined twice")),
            Node::Tables(_) => Err(format!("`{whole}` is an array of tables")),
            Node::Value(_) => Err(format!("duplicate key `{whole}`")),
        },
    }
}

/// Applies an `[[array]]` header: adds a new table to the array of tables, making the array if needed.
fn append_table(root: &mut Draft, path: &[String]) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or_else(|| "empty key".to_owned())?;
    let parent = header_parent(root, parents)?;
    let node = parent.entry_or(last, || Node::Tables(Vec::new()));
    match node {
        Node::Tables(drafts) => {
            drafts.push(Draft::new(Kind::Header));
            Ok(())
        }
        _ => Err(format!(
            "`{}` is not an array of tables",
            show(path, parents.len())
        )),
    }
}

/// The table the latest header named, which key/value lines go into.
fn section<'t>(root: &'t mut Draft, path: &[String]) -> Option<&'t mut Draft> {
    let mut table = root;
    for key in path {
        table = match table.get_mut(key)? {
            Node::Table(draft) => draft,
            Node::Tables(drafts) => drafts.last_mut()?,
            Node::Value(_) => return None,
        };
    }
    Some(table)
}

/// Adds `key = value` to a table, making the tables a dotted key names on the way.
fn insert(table: &mut Draft, key: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = key.split_last().ok_or_else(|| "empty key".to_owned())?;
    let mut table = table;
    for (index, part) in parents.iter().enumerate() {
        let node = table.entry_or(part, || Node::Table(Draft::new(Kind::Dotted)));
        table = match node {
            // A table made by a header's path but not yet defined becomes defined by dotted keys,
            // so that a header cannot define it again later.
            Node::Table(draft) if draft.kind != Kind::Header => {
                draft.kind = Kind::Dotted;
                draft
            }
            // TOML forbids dotted keys to reach into an array of tables, but Cargo's parser lets
            // them pass through its last table to a table below (`[[a.b]]`, `[a]`, `b.c.d = 1`),
            // though not set a key right in it. Cargo reads every file before a build script
            // does, so matching it can only avoid failing a build that Cargo accepted.
            Node::Tables(drafts) if index + 1 < parents.len() => match drafts.last_mut() {
                Some(draft) => draft,
                None => return Err(format!("`{}` is empty", show(key, index))),
            },
            Node::Table(_) | Node::Tables(_) => {
                return Err(format!(
                    "cannot add to table `{}` with a dotted key",
                    show(key, index)
                ))
            }
            Node::Value(Value::Table(_)) => {
                return Err(format!("cannot add to inline table `{}`", show(key, index)))
            }
            Node::Value(_) => return Err(format!("`{}` is not a table", show(key, index))),
        };
    }
    match table.insert_new(last, Node::Value(value)) {
        Ok(()) => Ok(()),
        Err(_) => Err(format!("duplicate key `{}`", show(key, parents.len()))),
    }
}

/// Writes the parts of a key up to and including `last` as TOML would, quoting those that are not
/// bare keys, for error messages.
fn show(path: &[String], last: usize) -> String {
    let shown: Vec<String> = path
        .iter()
        .take(last.saturating_add(1))
        .map(|part| {
            if !part.is_empty() && part.bytes().all(is_bare) {
                part.clone()
            } else {
                format!("{part:?}")
            }
        })
        .collect();
    shown.join(".")
}

/// Whether a byte may appear in a bare key.
fn is_bare(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// Whether a byte may appear in a number, boolean or date-time.
fn is_scalar_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'+' | b'-' | b'.' | b':')
}

/// Whether a byte is a control character that TOML forbids in strings and comments (all but tab).
fn is_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// The reader: the text and a byte offset into it that only ever stops on character boundaries.
struct Parser<'a> {
    /// The document, without a byte order mark.
    src: &'a str,
    /// The byte offset of the next unread byte.
    pos: usize,
}

impl<'a> Parser<'a> {
    /// Reads every line into the root table.
    fn document(&mut self) -> Result<Table, Failure> {
        let mut root = Draft::new(Kind::Header);
        let mut current: Vec<String> = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                None => break,
                Some(b'[') => current = self.header(&mut root)?,
                Some(b'#' | b'\n' | b'\r') => {}
                Some(_) => self.key_value(&mut root, &current)?,
            }
            self.end_of_line()?;
        }
        Ok(root.into_table())
    }

    /// Reads a `[table]` or `[[array]]` header, applies it and returns its path.
    fn header(&mut self, root: &mut Draft) -> Result<Vec<String>, Failure> {
        let start = self.pos;
        self.pos += 1;
        let array = self.eat(b'[');
        self.skip_blanks();
        let path = self.key()?;
        let closing = if array { "]]" } else { "]" };
        if !(self.eat(b']') && (!array || self.eat(b']'))) {
            let found = self.found();
            return Err(self.fail(format!(
                "expected `{closing}` after table name, found {found}"
            )));
        }
        let applied = if array {
            append_table(root, &path)
        } else {
            define_table(root, &path)
        };
        applied.map_err(|message| self.fail_at(start, message))?;
        Ok(path)
    }

    /// Reads a `key = value` line into the current table.
    fn key_value(&mut self, root: &mut Draft, current: &[String]) -> Result<(), Failure> {
        let start = self.pos;
        let (key, value) = self.pair(current.len(), false)?;
        let table = section(root, current).ok_or_else(|| self.fail_at(start, "lost table"))?;
        insert(table, &key, value).map_err(|message| self.fail_at(start, message))
    }

    /// Reads `key = value` where the key sits at `depth` levels of nesting. Inside an inline table,
    /// Cargo's parser also allows line breaks and comments around the `=`, so `inline` does too.
    fn pair(&mut self, depth: usize, inline: bool) -> Result<(Vec<String>, Value), Failure> {
        let key = self.key()?;
        if inline {
            self.skip_trivia()?;
        }
        if !self.eat(b'=') {
            let found = self.found();
            return Err(self.fail(format!("expected `=` after key, found {found}")));
        }
        if inline {
            self.skip_trivia()?;
        } else {
            self.skip_blanks();
        }
        let value = self.value(depth + key.len())?;
        Ok((key, value))
    }

    /// Accepts blanks and a comment, then requires a line ending or the end of the text.
    fn end_of_line(&mut self) -> Result<(), Failure> {
        self.skip_blanks();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        match self.newline_len() {
            0 if self.peek().is_some() => {
                let found = self.found();
                Err(self.fail(format!("expected end of line, found {found}")))
            }
            len => {
                self.pos += len;
                Ok(())
            }
        }
    }

    /// Skips a comment up to (not including) its line ending.
    fn comment(&mut self) -> Result<(), Failure> {
        while let Some(byte) = self.peek() {
            if self.newline_len() > 0 {
                break;
            }
            if is_control(byte) {
                return Err(self.fail("control character in comment"));
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// Skips spaces and tabs.
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips blanks, comments and line endings, which arrays and inline tables allow between items.
    fn skip_trivia(&mut self) -> Result<(), Failure> {
        loop {
            self.skip_blanks();
            if self.peek() == Some(b'#') {
                self.comment()?;
            }
            match self.newline_len() {
                0 => return Ok(()),
                len => self.pos += len,
            }
        }
    }

    /// Reads a key of one or more dotted parts, and the blanks after it.
    fn key(&mut self) -> Result<Vec<String>, Failure> {
        let mut parts = vec![self.simple_key()?];
        loop {
            self.skip_blanks();
            if !self.eat(b'.') {
                return Ok(parts);
            }
            if parts.len() >= MAX_DEPTH {
                return Err(self.fail(format!("key has more than {MAX_DEPTH} parts")));
            }
            self.skip_blanks();
            parts.push(self.simple_key()?);
        }
    }

    /// Reads one part of a key: bare, `"basic"` or `'literal'`.
    fn simple_key(&mut self) -> Result<String, Failure> {
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => {
                if self.starts_with(&[quote; 3]) {
                    return Err(self.fail("a key cannot be a multi-line string"));
                }
                self.line_string(quote)
            }
            Some(byte) if is_bare(byte) => {
                let start = self.pos;
                while self.peek().is_some_and(is_bare) {
                    self.pos += 1;
                }
                Ok(self.slice(start)?.to_owned())
            }
            _ => {
                let found = self.found();
                Err(self.fail(format!("expected a key, found {found}")))
            }
        }
    }

    /// Reads a value that sits at `depth` levels of nesting.
    fn value(&mut self, depth: usize) -> Result<Value, Failure> {
        if depth > MAX_DEPTH {
            return Err(self.fail(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => {
                if self.starts_with(&[quote; 3]) {
                    self.multiline_string(quote).map(Value::String)
                } else {
                    self.line_string(quote).map(Value::String)
                }
            }
            Some(b'[') => self.array(depth),
            Some(b'{') => self.inline_table(depth),
            Some(byte) if is_scalar_byte(byte) => self.scalar(),
            _ => {
                let found = self.found();
                Err(self.fail(format!("expected a value, found {found}")))
            }
        }
    }

    /// Reads `[a, b, ...]`, which may span lines and hold comments and a trailing comma.
    fn array(&mut self, depth: usize) -> Result<Value, Failure> {
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if self.peek().is_none() {
                return Err(self.fail_at(open, "unterminated array"));
            }
            let item = self.value(depth + 1);
            items.push(item.map_err(|failure| self.unclosed(failure, open, "array"))?);
            self.skip_trivia()?;
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.missing_separator(open, "array", ']'));
            }
        }
    }

    /// Reads `{ k = v, ... }`. TOML 1.1 (and Cargo since 1.94) allows newlines, comments and a
    /// trailing comma inside, so they are accepted here too.
    fn inline_table(&mut self, depth: usize) -> Result<Value, Failure> {
        let open = self.pos;
        self.pos += 1;
        let mut table = Draft::new(Kind::Header);
        loop {
            self.skip_trivia()?;
            if self.eat(b'}') {
                return Ok(Value::Table(table.into_table()));
            }
            if self.peek().is_none() {
                return Err(self.fail_at(open, "unterminated inline table"));
            }
            let start = self.pos;
            let pair = self.pair(depth, true);
            let (key, value) =
                pair.map_err(|failure| self.unclosed(failure, open, "inline table"))?;
            insert(&mut table, &key, value).map_err(|message| self.fail_at(start, message))?;
            self.skip_trivia()?;
            if self.eat(b'}') {
                return Ok(Value::Table(table.into_table()));
            }
            if !self.eat(b',') {
                return Err(self.missing_separator(open, "inline table", '}'));
            }
        }
    }

    /// Reports a failure at the end of the text inside an array or inline table as the bracket left
    /// open, which points at the line to fix rather than at the end of the file.
    fn unclosed(&self, failure: Failure, open: usize, what: &str) -> Failure {
        if failure.pos >= self.src.len() {
            self.fail_at(open, format!("unterminated {what}"))
        } else {
            failure
        }
    }

    /// The error for an array or inline table item followed by neither `,` nor the closing bracket.
    fn missing_separator(&self, open: usize, what: &str, close: char) -> Failure {
        if self.peek().is_none() {
            return self.fail_at(open, format!("unterminated {what}"));
        }
        let found = self.found();
        self.fail(format!(
            "expected `,` or `{close}` in {what}, found {found}"
        ))
    }

    /// Reads a one-line string: basic (`"`) strings resolve escapes, literal (`'`) ones do not.
    fn line_string(&mut self, quote: u8) -> Result<String, Failure> {
        let open = self.pos;
        self.pos += 1;
        let mut text = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None | Some(b'\n' | b'\r') => return Err(self.fail_at(open, "unterminated string")),
                Some(byte) if byte == quote => {
                    text.push_str(self.slice(run)?);
                    self.pos += 1;
                    return Ok(text);
                }
                Some(b'\\') if quote == b'"' => {
                    text.push_str(self.slice(run)?);
                    self.escape(&mut text)?;
                    run = self.pos;
                }
                Some(byte) if is_control(byte) => {
                    return Err(self.fail("control character in string"))
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Reads a `"""` or `'''` string, which may span lines.
    fn multiline_string(&mut self, quote: u8) -> Result<String, Failure> {
        let open = self.pos;
        self.pos += 3;
        // A line ending right after the opening delimiter is not part of the string.
        self.pos += self.newline_len();
        let mut text = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.fail_at(open, "unterminated string")),
                Some(byte) if byte == quote && self.starts_with(&[quote; 3]) => {
                    text.push_str(self.slice(run)?);
                    self.close_multiline(&mut text, quote);
                    return Ok(text);
                }
                Some(b'\\') if quote == b'"' => {
                    text.push_str(self.slice(run)?);
                    if !self.skip_escaped_newline() {
                        self.escape(&mut text)?;
                    }
                    run = self.pos;
                }
                // Line endings are kept as written, as Cargo's parser keeps them; a lone `\r` is a
                // control character.
                Some(b'\n' | b'\r') if self.newline_len() > 0 => self.pos += self.newline_len(),
                Some(byte) if is_control(byte) => {
                    return Err(self.fail("control character in string"))
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Reads the closing delimiter of a multi-line string. Up to two quotes right before it belong to
    /// the string, so a run of four or five ends it too.
    fn close_multiline(&mut self, text: &mut String, quote: u8) {
        let rest = self.bytes().get(self.pos..).unwrap_or_default();
        let quotes = rest
            .iter()
            .take(5)
            .take_while(|&&byte| byte == quote)
            .count();
        for _ in 3..quotes {
            text.push(char::from(quote));
        }
        self.pos += quotes;
    }

    /// At a backslash in a multi-line basic string: when only blanks follow it on its line, skips them,
    /// the line ending and all whitespace after it, and returns true.
    fn skip_escaped_newline(&mut self) -> bool {
        let start = self.pos;
        self.pos += 1;
        self.skip_blanks();
        if self.newline_len() == 0 {
            self.pos = start;
            return false;
        }
        loop {
            self.skip_blanks();
            match self.newline_len() {
                0 => return true,
                len => self.pos += len,
            }
        }
    }

    /// Resolves the escape sequence at the backslash under the cursor and appends it to `text`.
    fn escape(&mut self, text: &mut String) -> Result<(), Failure> {
        let start = self.pos;
        let Some(code) = self.peek_at(1) else {
            return Err(self.fail_at(start, "unterminated string"));
        };
        self.pos += 2;
        let resolved = match code {
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'e' => '\u{1b}',
            b'"' => '"',
            b'\\' => '\\',
            b'x' => self.hex_escape(start, 2)?,
            b'u' => self.hex_escape(start, 4)?,
            b'U' => self.hex_escape(start, 8)?,
            _ => return Err(self.fail_at(start, "invalid escape")),
        };
        text.push(resolved);
        Ok(())
    }

    /// Reads the `digits` hex digits of a `\x`, `\u` or `\U` escape that starts at `start`.
    fn hex_escape(&mut self, start: usize, digits: usize) -> Result<char, Failure> {
        let hex = self
            .bytes()
            .get(self.pos..self.pos + digits)
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        let code = hex.map(|hex| {
            hex.iter().fold(0, |code, &digit| {
                code * 16 + char::from(digit).to_digit(16).unwrap_or(0)
            })
        });
        match code.and_then(char::from_u32) {
            Some(resolved) => {
                self.pos += digits;
                Ok(resolved)
            }
            None => Err(self.fail_at(start, "invalid unicode escape")),
        }
    }

    /// Reads an unquoted value: a number, a boolean, `inf`/`nan` or a date-time.
    fn scalar(&mut self) -> Result<Value, Failure> {
        let start = self.pos;
        self.skip_scalar_bytes();
        // A space may separate the date and time of a date-time; anywhere else it ends the value.
        if self.peek() == Some(b' ') && self.peek_at(1).is_some_and(|byte| byte.is_ascii_digit()) {
            let end = self.pos;
            self.pos += 1;
            self.skip_scalar_bytes();
            if !is_datetime(self.slice(start)?) {
                self.pos = end;
            }
        }
        let token = self.slice(start)?;
        classify(token).map_err(|message| self.fail_at(start, message))
    }

    /// Skips the bytes a number, boolean or date-time may be made of.
    fn skip_scalar_bytes(&mut self) {
        while self.peek().is_some_and(is_scalar_byte) {
            self.pos += 1;
        }
    }

    /// The whole text as bytes.
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    /// The byte under the cursor.
    fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    /// The byte `ahead` bytes after the cursor.
    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes().get(self.pos.saturating_add(ahead)).copied()
    }

    /// Whether the text at the cursor starts with `prefix`.
    fn starts_with(&self, prefix: &[u8]) -> bool {
        self.bytes()
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(prefix))
    }

    /// Steps over `byte` if it is under the cursor.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// The length of the line ending under the cursor: 1 for `\n`, 2 for `\r\n`, else 0.
    fn newline_len(&self) -> usize {
        match (self.peek(), self.peek_at(1)) {
            (Some(b'\n'), _) => 1,
            (Some(b'\r'), Some(b'\n')) => 2,
            _ => 0,
        }
    }

    /// The text from `start` to the cursor.
    fn slice(&self, start: usize) -> Result<&'a str, Failure> {
        self.src
            .get(start..self.pos)
            .ok_or_else(|| self.fail_at(start, "split character"))
    }

    /// What is under the cursor, for error messages.
    fn found(&self) -> String {
        if self.newline_len() > 0 {
            return "end of line".to_owned();
        }
        match self
            .src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            None => "end of input".to_owned(),
            Some(found) => format!("{found:?}"),
        }
    }

    /// An error at the cursor.
    fn fail(&self, message: impl Into<String>) -> Failure {
        self.fail_at(self.pos, message)
    }

    /// An error at `pos`.
    fn fail_at(&self, pos: usize, message: impl Into<String>) -> Failure {
        Failure {
            pos,
            message: message.into(),
        }
    }
}

/// Turns an unquoted value's text into its value.
fn classify(token: &str) -> Result<Value, String> {
    let value = match token {
        "true" => Value::Boolean(true),
        "false" => Value::Boolean(false),
        "inf" | "+inf" => Value::Float(f64::INFINITY),
        "-inf" => Value::Float(f64::NEG_INFINITY),
        "nan" | "+nan" => Value::Float(f64::NAN),
        "-nan" => Value::Float(-f64::NAN),
        _ if looks_like_datetime(token) => {
            if !is_datetime(token) {
                return Err(format!("invalid date-time `{}`", snippet(token)));
            }
            Value::Datetime(token.to_owned())
        }
        _ => number(token)?,
    };
    Ok(value)
}

/// Whether a value starts like a date (`1979-`) or a time (`07:`), for a better error message.
fn looks_like_datetime(token: &str) -> bool {
    let bytes = token.as_bytes();
    let digits = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    matches!(
        (digits, bytes.get(digits)),
        (4, Some(b'-')) | (2, Some(b':'))
    )
}

/// Reads an integer or a float.
fn number(token: &str) -> Result<Value, String> {
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = token.strip_prefix(prefix) {
            return radix_integer(digits, radix).map(Value::Integer);
        }
    }
    if is_decimal(token) {
        // Validated above, so parsing fails only when the number does not fit.
        return token
            .replace('_', "")
            .parse()
            .map(Value::Integer)
            .map_err(|_| "integer out of range".to_owned());
    }
    float(token)
        .map(Value::Float)
        .ok_or_else(|| format!("invalid value `{}`", snippet(token)))
}

/// Reads the digits of a `0x`, `0o` or `0b` integer, which has no sign.
fn radix_integer(digits: &str, radix: u32) -> Result<i64, String> {
    if !valid_digits(digits, radix) {
        return Err(format!("invalid integer `{}`", snippet(digits)));
    }
    digits
        .chars()
        .filter_map(|digit| digit.to_digit(radix))
        .try_fold(0_i64, |number, digit| {
            number
                .checked_mul(i64::from(radix))?
                .checked_add(i64::from(digit))
        })
        .ok_or_else(|| "integer out of range".to_owned())
}

/// Whether a token is a decimal integer: a sign, then digits without a leading zero.
fn is_decimal(token: &str) -> bool {
    let digits = strip_sign(token);
    valid_digits(digits, 10) && !has_leading_zero(digits)
}

/// Reads a float: a decimal integer part, then a fraction, an exponent or both.
fn float(token: &str) -> Option<f64> {
    let unsigned = strip_sign(token);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let valid = valid_digits(whole, 10)
        && !has_leading_zero(whole)
        && (fraction.is_some() || exponent.is_some())
        && fraction.map_or(true, |fraction| valid_digits(fraction, 10))
        // Exponents may have leading zeros.
        && exponent.map_or(true, |exponent| valid_digits(strip_sign(exponent), 10));
    if !valid {
        return None;
    }
    token.replace('_', "").parse().ok()
}

/// The text without one leading `+` or `-`.
fn strip_sign(text: &str) -> &str {
    text.strip_prefix(['+', '-']).unwrap_or(text)
}

/// Whether a run of digits starts with a zero that is not the only digit.
fn has_leading_zero(digits: &str) -> bool {
    digits.len() > 1 && digits.starts_with('0')
}

/// Whether text is digits in `radix`, with single underscores only between digits.
fn valid_digits(text: &str, radix: u32) -> bool {
    let digit = move |c: char| c.is_digit(radix);
    text.starts_with(digit)
        && text.ends_with(digit)
        && !text.contains("__")
        && text.chars().all(|c| c == '_' || digit(c))
}

/// The start of a token, short enough for an error message.
fn snippet(token: &str) -> String {
    const LIMIT: usize = 32;
    let mut shown: String = token.chars().take(LIMIT).collect();
    if token.chars().nth(LIMIT).is_some() {
        shown.push_str("...");
    }
    shown
}

/// Whether a token is an offset date-time, local date-time, local date or local time.
fn is_datetime(token: &str) -> bool {
    let bytes = token.as_bytes();
    match date(bytes) {
        Some([]) => true,
        Some([b'T' | b't' | b' ', rest @ ..]) => time(rest).is_some_and(offset),
        Some(_) => false,
        None => time(bytes).is_some_and(<[u8]>::is_empty),
    }
}

/// Reads a `YYYY-MM-DD` date that exists, returning what follows it.
fn date(bytes: &[u8]) -> Option<&[u8]> {
    let (year, rest) = fixed_digits(bytes, 4)?;
    let (month, rest) = fixed_digits(expect(rest, b'-')?, 2)?;
    let (day, rest) = fixed_digits(expect(rest, b'-')?, 2)?;
    let valid = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    valid.then_some(rest)
}

/// The number of days in a month of a year of the Gregorian calendar.
fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads an `HH:MM[:SS[.fraction]]` time, returning what follows it. Seconds are optional as in
/// TOML 1.1.
fn time(bytes: &[u8]) -> Option<&[u8]> {
    let (hour, rest) = fixed_digits(bytes, 2)?;
    let (minute, mut rest) = fixed_digits(expect(rest, b':')?, 2)?;
    let mut second = 0;
    if let Some(after_colon) = expect(rest, b':') {
        (second, rest) = fixed_digits(after_colon, 2)?;
        if let Some(fraction) = expect(rest, b'.') {
            let digits = fraction
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            if digits == 0 {
                return None;
            }
            rest = fraction.get(digits..)?;
        }
    }
    // 60 seconds is a leap second.
    let valid = hour < 24 && minute < 60 && second <= 60;
    valid.then_some(rest)
}

/// Whether the rest of a date-time is a valid offset: none, `Z` or `+HH:MM`/`-HH:MM`.
fn offset(bytes: &[u8]) -> bool {
    match bytes {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', rest @ ..] => {
            let parsed = fixed_digits(rest, 2).and_then(|(hour, rest)| {
                let (minute, rest) = fixed_digits(expect(rest, b':')?, 2)?;
                Some((hour, minute, rest))
            });
            matches!(parsed, Some((hour, minute, [])) if hour < 24 && minute < 60)
        }
        _ => false,
    }
}

/// Reads exactly `count` ASCII digits as a number, returning it and what follows.
fn fixed_digits(bytes: &[u8], count: usize) -> Option<(u32, &[u8])> {
    let digits = bytes.get(..count)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = digits
        .iter()
        .fold(0, |number, &digit| number * 10 + u32::from(digit - b'0'));
    Some((number, bytes.get(count..)?))
}

/// What follows `byte` if the bytes start with it.
fn expect(bytes: &[u8], byte: u8) -> Option<&[u8]> {
    match bytes.split_first() {
        Some((&first, rest)) if first == byte => Some(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a document that must be valid.
    fn ok(text: &str) -> Table {
        match parse(text) {
            Ok(table) => table,
            Err(error) => panic!("{error} in:\n{text}"),
        }
    }

    /// The value at a dotted path of bare keys.
    fn at<'a>(table: &'a Table, path: &str) -> &'a Value {
        let parts: Vec<&str> = path.split('.').collect();
        get_path(table, &parts).unwrap_or_else(|| panic!("no value at {path}"))
    }

    /// A string value.
    fn string(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    /// Parses `key = <value>` and returns the value.
    fn value_of(value: &str) -> Value {
        let table = ok(&format!("key = {value}"));
        table.get("key").cloned().expect("key is set")
    }

    const MANIFEST: &str = r#"# A real manifest.
[package]
name = "demo"
version = "0.1.0"
edition = "2021"
authors = ["A. Person <a@example.com>"]
description = """
A demo crate \
   with a long description."""

[dependencies]
serde = { version = "1.0", features = ["derive"], default-features = false }
log = "0.4"
local = { path = "../local" }

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[build-dependencies]
lowmem_build = { version = "0.1", path = "../lowmem_build" }

[profile.dev]
debug = "line-tables-only"  # keep backtraces, drop the rest

[profile.dev.package."*"]
opt-level = 2

[profile.release]
lto = "fat"
codegen-units = 1
strip = true

[profile.lowmem]
inherits = "release"
lto = false

[workspace]
members = [
    "crates/a",
    "crates/b", # the second one
]

[[bin]]
name = "first"
path = "src/bin/first.rs"

[[bin]]
name = "second"
path = "src/bin/second.rs"
"#;

    const CONFIG: &str = r#"
[build]
jobs = 1
rustflags = ["-C", "debuginfo=0"]
target-dir = "target"

[target.x86_64-unknown-linux-gnu]
linker = "clang"
rustflags = ["-C", "link-arg=-fuse-ld=lld"]

[profile.dev]
debug = 0

[env]
RUST_LOG = "info"
CARGO_BUILD_JOBS = { value = "1", force = true }
CONFIG_DIR = { value = "config", relative = true }

[net]
retry = 3
"#;

    #[test]
    fn reads_a_cargo_manifest() {
        let table = ok(MANIFEST);
        assert_eq!(at(&table, "package.name"), &string("demo"));
        assert_eq!(
            at(&table, "package.description"),
            &string("A demo crate with a long description.")
        );
        assert_eq!(
            at(&table, "dependencies.serde.features"),
            &Value::Array(vec![string("derive")])
        );
        assert_eq!(
            at(&table, "dependencies.serde.default-features"),
            &Value::Boolean(false)
        );
        assert_eq!(at(&table, "dependencies.log"), &string("0.4"));
        assert_eq!(
            get_path(&table, &["target", "cfg(unix)", "dependencies", "libc"]),
            Some(&string("0.2"))
        );
        let dev = at(&table, "profile.dev");
        assert_eq!(
            dev.as_table().and_then(|dev| dev.get("debug")),
            Some(&string("line-tables-only"))
        );
        assert_eq!(
            get_path(&table, &["profile", "dev", "package", "*", "opt-level"])
                .and_then(Value::as_integer),
            Some(2)
        );
        assert_eq!(at(&table, "profile.release.lto").as_str(), Some("fat"));
        assert_eq!(at(&table, "profile.release.strip").as_bool(), Some(true));
        assert_eq!(
            at(&table, "profile.lowmem.inherits").as_str(),
            Some("release")
        );
        assert_eq!(at(&table, "profile.lowmem.lto").as_bool(), Some(false));
        assert_eq!(
            at(&table, "workspace.members"),
            &Value::Array(vec![string("crates/a"), string("crates/b")])
        );
        let bins = at(&table, "bin").as_array().expect("bin is an array");
        let names: Vec<_> = bins
            .iter()
            .filter_map(|bin| bin.as_table()?.get("name")?.as_str())
            .collect();
        assert_eq!(names, ["first", "second"]);
    }

    #[test]
    fn reads_a_cargo_config() {
        let table = ok(CONFIG);
        assert_eq!(at(&table, "build.jobs").as_integer(), Some(1));
        assert_eq!(
            at(&table, "build.rustflags"),
            &Value::Array(vec![string("-C"), string("debuginfo=0")])
        );
        assert_eq!(
            get_path(&table, &["target", "x86_64-unknown-linux-gnu", "linker"]),
            Some(&string("clang"))
        );
        assert_eq!(at(&table, "profile.dev.debug").as_integer(), Some(0));
        assert_eq!(at(&table, "env.RUST_LOG").as_str(), Some("info"));
        assert_eq!(
            at(&table, "env.CARGO_BUILD_JOBS.force").as_bool(),
            Some(true)
        );
        assert_eq!(at(&table, "env.CONFIG_DIR.value").as_str(), Some("config"));
        assert_eq!(at(&table, "net.retry").as_integer(), Some(3));
    }

    #[test]
    fn get_path_stops_at_missing_keys_and_non_tables() {
        let table = ok("a = 1\n[b]\nc = 2");
        assert_eq!(get_path(&table, &[]), None);
        assert_eq!(get_path(&table, &["x"]), None);
        assert_eq!(get_path(&table, &["a", "c"]), None);
        assert_eq!(get_path(&table, &["b", "c"]), Some(&Value::Integer(2)));
        assert_eq!(at(&table, "a").as_str(), None);
        assert_eq!(at(&table, "a").as_bool(), None);
        assert_eq!(at(&table, "a").as_table(), None);
        assert_eq!(at(&table, "a").as_array(), None);
        assert_eq!(at(&table, "b").as_integer(), None);
    }

    #[test]
    fn basic_string_escapes() {
        assert_eq!(
            value_of(r#""tab\there \"q\" back\\slash""#),
            string("tab\there \"q\" back\\slash")
        );
        assert_eq!(
            value_of(r#""\b\f\n\r\e\x41\u00e9\U0001F600""#),
            string("\u{8}\u{c}\n\r\u{1b}A\u{e9}\u{1f600}")
        );
        assert_eq!(value_of(r#""""#), string(""));
        assert_eq!(
            value_of(r##""# not a comment""##),
            string("# not a comment")
        );
        assert_eq!(
            value_of("\"caf\u{e9} \u{1f980}\""),
            string("caf\u{e9} \u{1f980}")
        );
        assert_eq!(value_of("\"a\tb\""), string("a\tb"));
    }

    #[test]
    fn literal_strings() {
        assert_eq!(value_of(r"'C:\Users\nodejs'"), string(r"C:\Users\nodejs"));
        assert_eq!(value_of(r#"'<\i\c*\s*> "x"'"#), string(r#"<\i\c*\s*> "x""#));
        assert_eq!(value_of("''"), string(""));
    }

    #[test]
    fn multiline_basic_strings() {
        assert_eq!(
            value_of("\"\"\"\nRoses\nViolets\"\"\""),
            string("Roses\nViolets")
        );
        assert_eq!(
            value_of("\"\"\"\r\nRoses\r\nViolets\"\"\""),
            string("Roses\r\nViolets")
        );
        assert_eq!(
            value_of("\"\"\"\nThe quick \\\n\n\n  brown \\   \n  fox.\\\n  \"\"\""),
            string("The quick brown fox.")
        );
        assert_eq!(value_of("\"\"\"a \\t \\u0041\"\"\""), string("a \t A"));
        assert_eq!(
            value_of(r#""""Here are two quotation marks: "". Simple.""""#),
            string(r#"Here are two quotation marks: "". Simple."#)
        );
        assert_eq!(value_of(r#""""Three: ""\".""""#), string(r#"Three: """."#));
        assert_eq!(
            value_of(r#"""""This," she said, "is pointless.""""""#),
            string(r#""This," she said, "is pointless."""#)
        );
        assert_eq!(value_of(r#""""""""#), string(""));
    }

    #[test]
    fn multiline_literal_strings() {
        assert_eq!(
            value_of("'''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''"),
            string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n")
        );
        assert_eq!(
            value_of(r"'''I [dw]on't need \d{2} apples'''"),
            string(r"I [dw]on't need \d{2} apples")
        );
        assert_eq!(
            value_of(r#"'''Fifteen quotation marks: """""""""""""""'''"#),
            string(&format!("Fifteen quotation marks: {}", "\"".repeat(15)))
        );
        assert_eq!(
            value_of("''''That,' she said, 'is still pointless.''''"),
            string("'That,' she said, 'is still pointless.'")
        );
        assert_eq!(value_of("'''a\\\nb'''"), string("a\\\nb"));
    }

    #[test]
    fn integers() {
        let cases = [
            ("+99", 99),
            ("42", 42),
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("-17", -17),
            ("1_000", 1000),
            ("5_349_221", 5_349_221),
            ("1_2_3_4_5", 12345),
            ("0xDEADBEEF", 0xdead_beef),
            ("0xdead_beef", 0xdead_beef),
            ("0x00ff", 255),
            ("0o01234567", 0o1234567),
            ("0o755", 0o755),
            ("0b11010110", 0b1101_0110),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
            ("0x7fffffffffffffff", i64::MAX),
        ];
        for (text, expected) in cases {
            assert_eq!(value_of(text), Value::Integer(expected), "{text}");
        }
    }

    #[test]
    fn floats() {
        let cases = [
            ("+1.0", 1.0),
            ("2.5", 2.5),
            ("-0.01", -0.01),
            ("5e+22", 5e22),
            ("1e06", 1e6),
            ("-2E-2", -2e-2),
            ("6.626e-34", 6.626e-34),
            ("224_617.445_991_228", 224_617.445_991_228),
            ("1e1_0", 1e10),
            ("0.0", 0.0),
            ("0e0", 0.0),
            ("inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
        ];
        for (text, expected) in cases {
            assert_eq!(value_of(text), Value::Float(expected), "{text}");
        }
        for text in ["nan", "+nan", "-nan"] {
            assert!(
                matches!(value_of(text), Value::Float(x) if x.is_nan()),
                "{text}"
            );
        }
        assert!(matches!(value_of("-0.0"), Value::Float(x) if x == 0.0 && x.is_sign_negative()));
    }

    #[test]
    fn booleans() {
        assert_eq!(value_of("true"), Value::Boolean(true));
        assert_eq!(value_of("false"), Value::Boolean(false));
    }

    #[test]
    fn datetimes() {
        for text in [
            "1979-05-27T07:32:00Z",
            "1979-05-27T00:32:00-07:00",
            "1979-05-27T00:32:00.999999+07:00",
            "1979-05-27 07:32:00Z",
            "1979-05-27t07:32:00z",
            "1979-05-27T07:32:00",
            "1979-05-27 00:32:00.999999",
            "1979-05-27",
            "07:32:00",
            "00:32:00.999999",
            "2000-02-29",
            "1990-12-31T23:59:60Z",
            // TOML 1.1 makes seconds optional.
            "07:32",
            "1979-05-27T07:32Z",
        ] {
            assert_eq!(value_of(text), Value::Datetime(text.to_owned()), "{text}");
        }
        let table = ok("a = [1979-05-27 07:32:00, 1979-05-27 ]\nb = 1979-05-27 # c");
        assert_eq!(
            at(&table, "a"),
            &Value::Array(vec![
                Value::Datetime("1979-05-27 07:32:00".to_owned()),
                Value::Datetime("1979-05-27".to_owned()),
            ])
        );
        assert_eq!(at(&table, "b"), &Value::Datetime("1979-05-27".to_owned()));
    }

    #[test]
    fn arrays() {
        assert_eq!(value_of("[]"), Value::Array(vec![]));
        assert_eq!(
            value_of("[ [ 1, 2 ], [3, 4, 5], [] ]"),
            Value::Array(vec![
                Value::Array(vec![Value::Integer(1), Value::Integer(2)]),
                Value::Array(vec![
                    Value::Integer(3),
                    Value::Integer(4),
                    Value::Integer(5)
                ]),
                Value::Array(vec![]),
            ])
        );
        assert_eq!(
            value_of("[ 0.1, \"x\", 'y', { z = 1 }, true, 1979-05-27, ]"),
            Value::Array(vec![
                Value::Float(0.1),
                string("x"),
                string("y"),
                Value::Table(ok("z = 1")),
                Value::Boolean(true),
                Value::Datetime("1979-05-27".to_owned()),
            ])
        );
        assert_eq!(
            value_of("[\n  1, # one\n\n  # nothing\n  2 # two\n  ,\r\n  3,\n]"),
            Value::Array(vec![
                Value::Integer(1),
                Value::Integer(2),
                Value::Integer(3)
            ])
        );
    }

    #[test]
    fn inline_tables() {
        let table = ok(r#"point = { x = 1, y = 2 }
empty = {}
nested = { a = { b = { c = "deep" } }, list = [{ d = 1 }] }
dotted = { type.name = "pug", type.kind = 'dog', "quoted.key" = 1 }
multi = {
    version = "1.0", # TOML 1.1, which Cargo accepts
    features = [
        "derive",
    ],
}
"#);
        assert_eq!(at(&table, "point.y").as_integer(), Some(2));
        assert_eq!(at(&table, "empty"), &Value::Table(Table::new()));
        assert_eq!(at(&table, "nested.a.b.c").as_str(), Some("deep"));
        assert_eq!(
            at(&table, "nested.list"),
            &Value::Array(vec![Value::Table(ok("d = 1"))])
        );
        assert_eq!(at(&table, "dotted.type.name").as_str(), Some("pug"));
        assert_eq!(at(&table, "dotted.type.kind").as_str(), Some("dog"));
        assert_eq!(
            get_path(&table, &["dotted", "quoted.key"]),
            Some(&Value::Integer(1))
        );
        assert_eq!(at(&table, "multi.version").as_str(), Some("1.0"));
    }

    #[test]
    fn keys() {
        let table = ok(r#"
bare_key-1 = 1
"quoted \"key\"" = 2
'literal key' = 3
1234 = 4
"" = 5
a . "b.c" . d = 6
site."google.com" = true
3.14159 = "pi"
"ʎǝʞ" = 7
physical.color = "orange"
physical.shape = "round"
"#);
        assert_eq!(at(&table, "bare_key-1").as_integer(), Some(1));
        assert_eq!(
            get_path(&table, &["quoted \"key\""]),
            Some(&Value::Integer(2))
        );
        assert_eq!(get_path(&table, &["literal key"]), Some(&Value::Integer(3)));
        assert_eq!(at(&table, "1234").as_integer(), Some(4));
        assert_eq!(get_path(&table, &[""]), Some(&Value::Integer(5)));
        assert_eq!(
            get_path(&table, &["a", "b.c", "d"]),
            Some(&Value::Integer(6))
        );
        assert_eq!(
            get_path(&table, &["site", "google.com"]),
            Some(&Value::Boolean(true))
        );
        assert_eq!(at(&table, "3.14159").as_str(), Some("pi"));
        assert_eq!(get_path(&table, &["ʎǝʞ"]), Some(&Value::Integer(7)));
        assert_eq!(at(&table, "physical.shape").as_str(), Some("round"));
    }

    #[test]
    fn table_headers() {
        let table = ok(r#"
[ j . "ʞ" . 'l' ]
x = 1
[a."b".c]
y = 2
[a]
z = 3
[a.b.d]
w = 4
[fruit]
apple.color = "red"
apple.taste.sweet = true
[fruit.apple.texture]
smooth = true
[empty]
"#);
        assert_eq!(
            get_path(&table, &["j", "ʞ", "l", "x"]),
            Some(&Value::Integer(1))
        );
        assert_eq!(at(&table, "a.b.c.y").as_integer(), Some(2));
        assert_eq!(at(&table, "a.z").as_integer(), Some(3));
        assert_eq!(at(&table, "a.b.d.w").as_integer(), Some(4));
        assert_eq!(at(&table, "fruit.apple.taste.sweet").as_bool(), Some(true));
        assert_eq!(
            at(&table, "fruit.apple.texture.smooth").as_bool(),
            Some(true)
        );
        assert_eq!(at(&table, "empty"), &Value::Table(Table::new()));
    }

    #[test]
    fn arrays_of_tables() {
        let table = ok(r#"
[[fruits]]
name = "apple"

[fruits.physical]  # a sub-table of the last apple
color = "red"

[[fruits.varieties]]  # an array of tables in the last fruit
name = "red delicious"

[[fruits.varieties]]
name = "granny smith"

[[fruits]]
name = "banana"

[[fruits.varieties]]
name = "plantain"

[fruits.physical]
color = "yellow"
"#);
        let fruits = at(&table, "fruits").as_array().expect("an array");
        assert_eq!(fruits.len(), 2);
        let apple = fruits[0].as_table().expect("a table");
        assert_eq!(
            get_path(apple, &["physical", "color"]),
            Some(&string("red"))
        );
        let varieties = get_path(apple, &["varieties"]).and_then(Value::as_array);
        assert_eq!(varieties.map(<[Value]>::len), Some(2));
        let banana = fruits[1].as_table().expect("a table");
        assert_eq!(get_path(banana, &["name"]), Some(&string("banana")));
        assert_eq!(
            get_path(banana, &["physical", "color"]),
            Some(&string("yellow"))
        );
        let varieties = get_path(banana, &["varieties"]).and_then(Value::as_array);
        assert_eq!(varieties.map(<[Value]>::len), Some(1));
    }

    #[test]
    fn implicit_tables_may_be_defined_or_extended_once() {
        let table = ok("[a.b.c]\nx = 1\n[a]\nb.d = 2\n");
        assert_eq!(at(&table, "a.b.d").as_integer(), Some(2));
        let error = parse("[a.b.c]\n[a]\nb.d = 2\n[a.b]").expect_err("a.b defined by dotted keys");
        assert_eq!(error.line, 4);
    }

    #[test]
    fn follows_cargo_where_it_is_more_lenient_than_toml() {
        // Line breaks and comments around `=` inside an inline table.
        let table = ok("dep = { version\n  = # the version\n  \"1.0\" }");
        assert_eq!(at(&table, "dep.version").as_str(), Some("1.0"));
        // A dotted key through an array of tables into a table below its last element...
        let table = ok("[[a.b]]\nx = 1\n[[a.b]]\n[a]\nb.c.d = 2");
        let last = at(&table, "a.b").as_array().and_then(|b| b.last());
        let last = last.and_then(Value::as_table).expect("a table");
        assert_eq!(get_path(last, &["c", "d"]), Some(&Value::Integer(2)));
        // ...but not a key right in it.
        let error = parse("[[a.b]]\n[a]\nb.c = 1").expect_err("key in an array of tables");
        assert_eq!(error.line, 3);
    }

    #[test]
    fn crlf_line_endings_read_like_lf() {
        let crlf = MANIFEST.replace('\n', "\r\n");
        assert_eq!(ok(&crlf), ok(MANIFEST));
        assert_eq!(ok(&CONFIG.replace('\n', "\r\n")), ok(CONFIG));
        // Line endings inside multi-line strings are kept as written, as Cargo keeps them.
        assert_eq!(
            at(&ok("a = '''\r\nx\r\ny'''\r\n"), "a").as_str(),
            Some("x\r\ny")
        );
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let table = ok("\u{feff}a = 1\n");
        assert_eq!(at(&table, "a").as_integer(), Some(1));
        assert!(parse("a = 1\n\u{feff}").is_err());
    }

    #[test]
    fn comments_everywhere() {
        let table = ok("# leading\n\
             [a] # after a header\n\
             b = 1 # after a value\n\
             c = [ # after a bracket\n\
               1, # after an item\n\
               # on its own line\n\
               2\n\
             ] # after an array\n\
             \t# indented\n\
             [[d]] # after an array header\n\
             e = { f = 1 } # after an inline table\n\
             g = \"# not a comment\" # but this is\n\
             #no newline at the end");
        assert_eq!(at(&table, "a.b").as_integer(), Some(1));
        assert_eq!(
            at(&table, "a.c"),
            &Value::Array(vec![Value::Integer(1), Value::Integer(2)])
        );
        let d = at(&table, "d").as_array().expect("an array");
        assert_eq!(
            get_path(d[0].as_table().expect("a table"), &["g"]),
            Some(&string("# not a comment"))
        );
        assert_eq!(ok(""), Table::new());
        assert_eq!(ok("# only a comment"), Table::new());
        assert_eq!(ok("\n\n  \t\n"), Table::new());
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("a = 1\na = 2", 2, "duplicate key `a`"),
            ("a.b = 1\na.b = 2", 2, "duplicate key `a.b`"),
            ("a = { b = 1, b = 2 }", 1, "duplicate key `b`"),
            ("[a]\nb = 1\n\n[a]", 4, "table `a` is defined twice"),
            ("[a.b]\n[a.b]", 2, "table `a.b` is defined twice"),
            ("[x]\na.b = 1\n[x.a]", 3, "table `x.a` is defined twice"),
            ("a.b = 1\n[a]", 2, "table `a` is defined twice"),
            (
                "[a.b.c]\n[a]\nb.c.d = 1",
                3,
                "cannot add to table `b.c` with a dotted key",
            ),
            ("[a]\nb = 1\n[a.b]", 3, "duplicate key `a.b`"),
            ("a = 1\n[a.b]", 2, "`a` is not a table"),
            ("a = 1\na.b = 2", 2, "`a` is not a table"),
            (
                "a = { b = 1 }\na.c = 2",
                2,
                "cannot add to inline table `a`",
            ),
            ("a = { b = 1 }\n[a.c]", 2, "`a` is not a table"),
            (
                "[a.b]\nx = 1\n[a]\nb.y = 2",
                4,
                "cannot add to table `b` with a dotted key",
            ),
            ("[[a]]\n[a]", 2, "`a` is an array of tables"),
            ("a = [1]\n[[a]]", 2, "`a` is not an array of tables"),
            ("[a]\n[[a]]", 2, "`a` is not an array of tables"),
            ("a = \"abc", 1, "unterminated string"),
            ("a = \"abc\nb = 1", 1, "unterminated string"),
            ("a = 'abc\nb = 1", 1, "unterminated string"),
            ("\n\na = \"\"\"abc\n\n", 3, "unterminated string"),
            ("a = '''x\n", 1, "unterminated string"),
            ("x = 1\na = [1, 2\n\n", 2, "unterminated array"),
            ("a = [", 1, "unterminated array"),
            ("a = {b = 1", 1, "unterminated inline table"),
            ("a = {\nb = 1,\n", 1, "unterminated inline table"),
            ("a = {\nb = 1,\nc", 1, "unterminated inline table"),
            ("a = [\n[1, 2],\n[3", 3, "unterminated array"),
            ("a = 1 2", 1, "expected end of line, found '2'"),
            ("a = \"x\" y", 1, "expected end of line, found 'y'"),
            ("\n[a] b = 1", 2, "expected end of line"),
            ("a = 1,", 1, "expected end of line, found ','"),
            ("a = \"\"\"x\"\"\"\"\"\"", 1, "expected end of line"),
            ("a = 1\r", 1, "expected end of line, found '\\r'"),
            ("a = \"\\q\"", 1, "invalid escape"),
            ("a = \"\\ \"", 1, "invalid escape"),
            ("a = \"\"\"\\ x\"\"\"", 1, "invalid escape"),
            ("a = \"\\uD800\"", 1, "invalid unicode escape"),
            ("a = \"\\U00110000\"", 1, "invalid unicode escape"),
            ("a = \"\\u12\"", 1, "invalid unicode escape"),
            ("a = 9223372036854775808", 1, "integer out of range"),
            ("a = -9223372036854775809", 1, "integer out of range"),
            ("a = 0x8000000000000000", 1, "integer out of range"),
            ("a = \"a\u{1}b\"", 1, "control character in string"),
            ("a = 'a\u{7f}b'", 1, "control character in string"),
            ("a = '''a\rb'''", 1, "control character in string"),
            ("# bad \u{0} comment", 1, "control character in comment"),
            ("a = 01", 1, "invalid value `01`"),
            ("a = 1__0", 1, "invalid value"),
            ("a = _1", 1, "invalid value"),
            ("a = 1.", 1, "invalid value"),
            ("a = .5", 1, "invalid value"),
            ("a = 1e", 1, "invalid value"),
            ("a = +0x1", 1, "invalid value"),
            ("a = 0xG", 1, "invalid integer"),
            ("a = 0x", 1, "invalid integer"),
            ("a = yes", 1, "invalid value `yes`"),
            ("a = True", 1, "invalid value"),
            ("a = 1979-13-01", 1, "invalid date-time"),
            ("a = 1979-02-29", 1, "invalid date-time"),
            ("a = 24:00:00", 1, "invalid date-time"),
            ("a = 1979-05-27T07:32:00+7:00", 1, "invalid date-time"),
            ("a = ", 1, "expected a value, found end of input"),
            ("a =\nb = 1", 1, "expected a value, found end of line"),
            ("= 1", 1, "expected a key"),
            ("a. = 1", 1, "expected a key"),
            ("a b = 1", 1, "expected `=` after key, found 'b'"),
            ("a", 1, "expected `=`"),
            ("[a", 1, "expected `]` after table name"),
            ("[[a]", 1, "expected `]]` after table name"),
            ("[]", 1, "expected a key"),
            ("a = [1,,2]", 1, "expected a value, found ','"),
            ("a = [1 2]", 1, "expected `,` or `]` in array, found '2'"),
            (
                "a = { b = 1 c = 2 }",
                1,
                "expected `,` or `}` in inline table",
            ),
            ("a = {,}", 1, "expected a key"),
            (
                "\"\"\"a\"\"\" = 1",
                1,
                "a key cannot be a multi-line string",
            ),
            ("a = \"\\", 1, "unterminated string"),
        ];
        for &(text, line, message) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(error.line, line, "{text:?}: {error}");
            assert!(
                error.message.contains(message),
                "{text:?}: {error}, expected {message:?}"
            );
        }
    }

    #[test]
    fn error_displays_line_and_message() {
        let error = parse("a = 1\na = 2").expect_err("duplicate");
        assert_eq!(error.to_string(), "line 2: duplicate key `a`");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let arrays = format!("a = {}", "[".repeat(10_000));
        assert!(parse(&arrays)
            .expect_err("too deep")
            .message
            .contains("nested"));
        let tables = format!("a = {}", "{ b = ".repeat(10_000));
        assert!(parse(&tables)
            .expect_err("too deep")
            .message
            .contains("nested"));
        let key = format!("a{} = 1", ".a".repeat(10_000));
        assert!(parse(&key).expect_err("too long").message.contains("parts"));
        let header = format!("[a{}]", ".a".repeat(10_000));
        assert!(parse(&header).is_err());
        let mixed = format!("a = {}", "[{ b = ".repeat(5_000));
        assert!(parse(&mixed).is_err());
        let dotted_inline = format!("a = {}", "{ b.c.d.e.f.g.h.i = ".repeat(1_000));
        assert!(parse(&dotted_inline).is_err());
        // Reasonable nesting still works.
        let fine = format!("a = {}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn long_inputs_stay_fast() {
        let long_string = format!(
            "a = \"{}\"\nb = '{}'",
            "x\\n".repeat(200_000),
            "y".repeat(200_000)
        );
        assert_eq!(ok(&long_string).len(), 2);
        let long_array = format!("a = [{}]", "1, ".repeat(100_000));
        assert_eq!(
            at(&ok(&long_array), "a").as_array().map(<[Value]>::len),
            Some(100_000)
        );
        let many_tables = "[[bin]]\nname = 'x'\n".repeat(20_000);
        assert_eq!(
            at(&ok(&many_tables), "bin").as_array().map(<[Value]>::len),
            Some(20_000)
        );
        let many_keys: String = (0..20_000).map(|i| format!("k{i} = {i}\n")).collect();
        assert_eq!(ok(&many_keys).len(), 20_000);
        let bad_end = format!("{}a = [", "# comment\n".repeat(100_000));
        assert_eq!(parse(&bad_end).expect_err("unterminated").line, 100_001);
    }

    /// A small deterministic pseudo-random generator for the robustness test.
    struct XorShift(u64);

    impl XorShift {
        /// The next pseudo-random number.
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// A pseudo-random number below `bound`, which must not be 0.
        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }
    }

    /// Pieces of TOML syntax, so that random documents get past the first byte.
    const PIECES: &[&str] = &[
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        "\"",
        "'",
        "\"\"\"",
        "'''",
        "=",
        ".",
        ",",
        "\n",
        "\r\n",
        "\r",
        "#",
        " ",
        "\t",
        "a",
        "b.c",
        "\"k\"",
        "1",
        "-",
        "+",
        "_",
        "0x",
        "e",
        "1979-05-27",
        "T07:32:00",
        "Z",
        "inf",
        "nan",
        "true",
        "\\",
        "\\u",
        "\\U0001F600",
        "\u{e9}",
        "\u{0}",
        "\u{7f}",
        "\u{feff}",
        "a = ",
        "[a]\n",
        "[[a]]\n",
        "x = [",
        "y = {",
        "1.5e3",
    ];

    #[test]
    fn never_panics_on_random_or_mangled_input() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..3_000 {
            let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
        for _ in 0..3_000 {
            let text: String = (0..rng.below(60))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect();
            let _ = parse(&text);
        }
        for document in [MANIFEST, CONFIG] {
            for (end, _) in document.char_indices() {
                let _ = parse(&document[..end]);
                let _ = parse(&document[end..]);
            }
            for _ in 0..2_000 {
                let mut text = document.to_owned();
                let at = rng.below(text.len());
                if text.is_char_boundary(at) {
                    let end = (at + rng.below(8)).min(text.len());
                    if text.is_char_boundary(end) {
                        text.replace_range(at..end, PIECES[rng.below(PIECES.len())]);
                    }
                }
                let _ = parse(&text);
            }
        }
    }
}
