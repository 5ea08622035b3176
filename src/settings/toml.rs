//! A small TOML reader: the TOML that Cargo reads, without a dependency.
//!
//! The `toml` crate costs more to compile than everything else this crate depends on, and a build
//! script only needs to read a few tables. It reads TOML 1.0 plus the TOML 1.1 additions that Cargo
//! accepts since 1.94 (newlines and a trailing comma in inline tables, the `\e` and `\xHH` escapes),
//! so a file Cargo reads, this reads too; `differential.rs` checks that against the `toml` crate on
//! real files.
//!
//! Every file read here is one Cargo has already read and validated (manifests, Cargo.lock, config
//! files), or one Cargo skips, which cannot fail the build. So the reader checks only what it needs
//! to read a valid document right: where each key, value and line ends, and that a path leads
//! through tables. An error names the line it could not read. It does not repeat Cargo's
//! validation: floats and date-times, which nothing here reads, become [`Value::Other`] unchecked;
//! a table defined twice is merged; leading zeros, control characters and an inline table extended
//! later go unnoticed.
//!
//! It never panics: the input is read with `get`, nesting is bounded and every failure is an error.

use std::fmt;

#[cfg(test)]
pub(crate) mod differential;

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

    /// The value of `key`, set to `new` first if the key is not in the table.
    fn entry_or(&mut self, key: &str, new: Value) -> &mut Value {
        let at = find(&self.0, key).unwrap_or_else(|at| {
            self.0.insert(at, (key.to_owned(), new));
            at
        });
        &mut self.0[at].1
    }

    /// Adds `key = value`; false, and nothing added, if `key` is taken.
    fn insert_new(&mut self, key: &str, value: Value) -> bool {
        let Err(at) = find(&self.0, key) else {
            return false;
        };
        self.0.insert(at, (key.to_owned(), value));
        true
    }

    /// The table under `key`, made empty if the key is new; under an array of tables its last table,
    /// which is where TOML puts the keys of a header below one. `None` if `key` holds anything else.
    fn descend(&mut self, key: &str) -> Option<&mut Table> {
        match self.entry_or(key, Value::Table(Table::default())) {
            Value::Table(table) => Some(table),
            Value::Array(items) => match items.last_mut()? {
                Value::Table(table) => Some(table),
                _ => None,
            },
            _ => None,
        }
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
    /// `true` or `false`.
    Boolean(bool),
    /// An array, or an array of tables.
    Array(Vec<Value>),
    /// A table, from a header, dotted keys or an inline table.
    Table(Table),
    /// A float or a date-time: nothing reads them, so they are skipped, neither read nor checked.
    Other,
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
/// the recursion in parsing, comparing and dropping far from the end of the stack on hostile input.
const MAX_DEPTH: usize = 128;

/// An error at a byte offset, turned into a line number when parsing stops.
struct Failure {
    /// Where in the text the problem is.
    pos: usize,
    /// What was wrong.
    message: String,
}

/// The table at `path` below `table`, made on the way where missing.
///
/// Through an array of tables the walk goes into its last table. TOML says so for headers, and
/// Cargo's parser lets dotted keys through too (`[[a.b]]`, `[a]`, `b.c.d = 1`), though TOML does
/// not; one walk for both reads every file Cargo reads.
fn walk<'t>(table: &'t mut Table, path: &[String]) -> Result<&'t mut Table, String> {
    let mut table = table;
    for (index, key) in path.iter().enumerate() {
        table = table
            .descend(key)
            .ok_or_else(|| format!("`{}` is not a table", show(path, index + 1)))?;
    }
    Ok(table)
}

/// Applies an `[[array]]` header: adds a new table to the array of tables, making the array if needed.
fn append_table(root: &mut Table, path: &[String]) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    match walk(root, parents)?.entry_or(last, Value::Array(Vec::new())) {
        Value::Array(tables) => {
            tables.push(Value::Table(Table::default()));
            Ok(())
        }
        _ => Err(format!(
            "`{}` is not an array of tables",
            show(path, path.len())
        )),
    }
}

/// Adds `key = value` to a table, making the tables a dotted key names on the way.
fn insert(table: &mut Table, key: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = key.split_last().ok_or("empty key")?;
    if walk(table, parents)?.insert_new(last, value) {
        Ok(())
    } else {
        Err(format!("duplicate key `{}`", show(key, key.len())))
    }
}

/// The first `parts` parts of a key, dotted, for error messages.
fn show(path: &[String], parts: usize) -> String {
    path.get(..parts).unwrap_or(path).join(".")
}

/// Whether a byte may appear in a bare key.
fn is_bare(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// Whether a byte may appear in a number, boolean or date-time.
fn is_scalar_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'+' | b'-' | b'.' | b':')
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
        let mut root = Table::default();
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
        Ok(root)
    }

    /// Reads a `[table]` or `[[array]]` header, applies it and returns its path.
    fn header(&mut self, root: &mut Table) -> Result<Vec<String>, Failure> {
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
            walk(root, &path).map(drop)
        };
        applied.map_err(|message| self.fail_at(start, message))?;
        Ok(path)
    }

    /// Reads a `key = value` line into the current table.
    fn key_value(&mut self, root: &mut Table, current: &[String]) -> Result<(), Failure> {
        let start = self.pos;
        let (key, value) = self.pair(current.len(), false)?;
        let table = walk(root, current).map_err(|message| self.fail_at(start, message))?;
        insert(table, &key, value).map_err(|message| self.fail_at(start, message))
    }

    /// Reads `key = value` where the key sits at `depth` levels of nesting. Inside an inline table,
    /// Cargo's parser also allows line breaks and comments around the `=`, so `inline` does too.
    fn pair(&mut self, depth: usize, inline: bool) -> Result<(Vec<String>, Value), Failure> {
        let key = self.key()?;
        if inline {
            self.skip_trivia();
        }
        if !self.eat(b'=') {
            let found = self.found();
            return Err(self.fail(format!("expected `=` after key, found {found}")));
        }
        if inline {
            self.skip_trivia();
        } else {
            self.skip_blanks();
        }
        let value = self.value(depth + key.len())?;
        Ok((key, value))
    }

    /// Accepts blanks and a comment, then requires a line ending or the end of the text.
    fn end_of_line(&mut self) -> Result<(), Failure> {
        self.skip_blanks();
        self.skip_comment();
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

    /// Skips a comment, if one starts here, up to (not including) its line ending.
    fn skip_comment(&mut self) {
        if self.peek() == Some(b'#') {
            while self.peek().is_some() && self.newline_len() == 0 {
                self.pos += 1;
            }
        }
    }

    /// Skips spaces and tabs.
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips blanks, comments and line endings, which arrays and inline tables allow between items.
    fn skip_trivia(&mut self) {
        loop {
            self.skip_blanks();
            self.skip_comment();
            match self.newline_len() {
                0 => return,
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
            self.skip_trivia();
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if self.peek().is_none() {
                return Err(self.fail_at(open, "unterminated array"));
            }
            let item = self.value(depth + 1);
            items.push(item.map_err(|failure| self.unclosed(failure, open, "array"))?);
            self.skip_trivia();
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
        let mut table = Table::default();
        loop {
            self.skip_trivia();
            if self.eat(b'}') {
                return Ok(Value::Table(table));
            }
            if self.peek().is_none() {
                return Err(self.fail_at(open, "unterminated inline table"));
            }
            let start = self.pos;
            let pair = self.pair(depth, true);
            let (key, value) =
                pair.map_err(|failure| self.unclosed(failure, open, "inline table"))?;
            insert(&mut table, &key, value).map_err(|message| self.fail_at(start, message))?;
            self.skip_trivia();
            if self.eat(b'}') {
                return Ok(Value::Table(table));
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
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Reads a `"""` or `'''` string, which may span lines. Line endings are kept as written, as
    /// Cargo's parser keeps them.
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
            // Not a guess: reading `\q` as anything would misread the file.
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

    /// Reads an unquoted value: a boolean, an integer, or a float or date-time.
    fn scalar(&mut self) -> Result<Value, Failure> {
        let start = self.pos;
        self.skip_scalar_bytes();
        // A space may separate the date and time of a date-time; in a valid document nothing else
        // puts a digit after a space that ends a value.
        let token = self.slice(start)?;
        let date = token.len() == 10 && token.as_bytes().get(4) == Some(&b'-');
        if date && self.peek() == Some(b' ') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit())
        {
            self.pos += 1;
            self.skip_scalar_bytes();
        }
        let token = self.slice(start)?;
        classify(token).ok_or_else(|| {
            let shown = token.get(..32).unwrap_or(token);
            self.fail_at(start, format!("invalid value `{shown}`"))
        })
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

/// Turns an unquoted value's text into its value: a boolean, an integer, or [`Value::Other`].
fn classify(token: &str) -> Option<Value> {
    match token {
        "true" => return Some(Value::Boolean(true)),
        "false" => return Some(Value::Boolean(false)),
        _ => {}
    }
    if let Some(number) = integer(token) {
        return Some(Value::Integer(number));
    }
    // Floats and date-times start with a digit after an optional sign, or are `inf` or `nan`. That
    // much is checked so that a misspelt word (`yes`, `True`) in a file Cargo skipped is an error
    // rather than a value of the wrong type.
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    let other =
        unsigned.starts_with(|c: char| c.is_ascii_digit()) || matches!(unsigned, "inf" | "nan");
    other.then_some(Value::Other)
}

/// Reads an integer: decimal with an optional sign, or `0x`, `0o` or `0b` and digits; `_` may
/// separate digits. Anything else, and a number that does not fit, is `None`.
fn integer(token: &str) -> Option<i64> {
    let digits: String = token.chars().filter(|&c| c != '_').collect();
    let (radix, digits) = [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find_map(|(prefix, radix)| Some((radix, digits.strip_prefix(prefix)?)))
        .unwrap_or((10, &digits));
    i64::from_str_radix(digits, radix).ok()
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
    fn floats_are_skipped_unread() {
        for text in [
            "+1.0",
            "2.5",
            "-0.01",
            "5e+22",
            "1e06",
            "-2E-2",
            "6.626e-34",
            "224_617.445_991_228",
            "1e1_0",
            "0.0",
            "-0.0",
            "0e0",
            "inf",
            "+inf",
            "-inf",
            "nan",
            "+nan",
            "-nan",
        ] {
            assert_eq!(value_of(text), Value::Other, "{text}");
        }
    }

    #[test]
    fn booleans() {
        assert_eq!(value_of("true"), Value::Boolean(true));
        assert_eq!(value_of("false"), Value::Boolean(false));
    }

    #[test]
    fn datetimes_are_skipped_unread() {
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
            assert_eq!(value_of(text), Value::Other, "{text}");
        }
        // The space between a date and its time is part of the value, and what follows is not.
        let table = ok("a = [1979-05-27 07:32:00, 1979-05-27 ]\nb = 1979-05-27 # c\nc = 1");
        assert_eq!(
            at(&table, "a"),
            &Value::Array(vec![Value::Other, Value::Other])
        );
        assert_eq!(at(&table, "b"), &Value::Other);
        assert_eq!(at(&table, "c").as_integer(), Some(1));
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
                Value::Other,
                string("x"),
                string("y"),
                Value::Table(ok("z = 1")),
                Value::Boolean(true),
                Value::Other,
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
    fn implicit_tables_may_be_defined_later() {
        let table = ok("[a.b.c]\nx = 1\n[a]\nb.d = 2\n");
        assert_eq!(at(&table, "a.b.c.x").as_integer(), Some(1));
        assert_eq!(at(&table, "a.b.d").as_integer(), Some(2));
    }

    #[test]
    fn follows_cargo_where_it_is_more_lenient_than_toml() {
        // Line breaks and comments around `=` inside an inline table.
        let table = ok("dep = { version\n  = # the version\n  \"1.0\" }");
        assert_eq!(at(&table, "dep.version").as_str(), Some("1.0"));
        // A dotted key through an array of tables into a table below its last element.
        let table = ok("[[a.b]]\nx = 1\n[[a.b]]\n[a]\nb.c.d = 2");
        let last = at(&table, "a.b").as_array().and_then(|b| b.last());
        let last = last.and_then(Value::as_table).expect("a table");
        assert_eq!(get_path(last, &["c", "d"]), Some(&Value::Integer(2)));
    }

    /// What Cargo rejects and this reader need not: it is read without a panic and without an
    /// error, each in the one way that keeps every key that was written.
    #[test]
    fn invalid_documents_cargo_rejects_are_read_leniently() {
        let merged = ok("[a]\nb = 1\n[a]\nc = 2");
        assert_eq!(at(&merged, "a.c").as_integer(), Some(2));
        assert_eq!(at(&merged, "a.b").as_integer(), Some(1));
        let extended = ok("a = { b = 1 }\na.c = 2\n[a.d]");
        assert_eq!(at(&extended, "a.c").as_integer(), Some(2));
        assert_eq!(at(&extended, "a.d"), &Value::Table(Table::new()));
        for text in ["a = 01", "a = _1", "a = 1__"] {
            assert_eq!(at(&ok(text), "a").as_integer(), Some(1), "{text}");
        }
        for text in [
            "a = 9223372036854775808",
            "a = 1979-13-01",
            "a = 1.",
            "a = 0x",
        ] {
            assert_eq!(at(&ok(text), "a"), &Value::Other, "{text}");
        }
        assert_eq!(at(&ok("a = \"x\u{1}y\""), "a").as_str(), Some("x\u{1}y"));
        assert_eq!(ok("# bell \u{7}\na = 1").len(), 1);
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
            ("[a]\nb = 1\n[a.b]", 3, "`a.b` is not a table"),
            ("a = 1\n[[a]]", 2, "`a` is not an array of tables"),
            ("a = [1]\n[a.b]", 2, "`a` is not a table"),
            ("a = 1\n[a]", 2, "`a` is not a table"),
            ("a = 1\n[a.b]", 2, "`a` is not a table"),
            ("a = 1\na.b = 2", 2, "`a` is not a table"),
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
            ("a = .5", 1, "invalid value"),
            ("a = yes", 1, "invalid value `yes`"),
            ("a = True", 1, "invalid value"),
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
