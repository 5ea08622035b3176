//! The TOML reader and the profile chain read on top of it.

use super::*;
use crate::settings::toml::differential::oracle;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn toml_never_panics_on_any_bytes(data in bytes()) {
        toml(&data);
        profile(&data);
    }

    /// Text made of TOML's tokens never panics the reader; when the `toml` crate reads it, this
    /// reader reads the same tree.
    #[test]
    fn toml_never_panics_on_toml_like_text(
        text in soup(&["[", "]", "[[", "]]", "{", "}", "=", ".", ",", "\"", "'", "\"\"\"", "'''",
                       "#", "\\", "\\u", "\\U0010FFFF", "\\x", "a", "key", "1", "0x", "1e5", "_",
                       "true", "inf", "nan", "1979-05-27", "T07:32:00", "Z", "+", "-", "\n"])
    ) {
        toml(text.as_bytes());
        profile(text.as_bytes());
        if let Ok(expected) = oracle(&text) {
            prop_assert_eq!(toml::parse(&text), Ok(expected), "{:?}", text);
        }
    }

    /// A generated document of tables, dotted keys and scalar values reads back as generated.
    #[test]
    fn toml_reads_generated_documents(tables in toml_document()) {
        let text = render_document(&tables);
        let parsed = toml::parse(&text);
        prop_assert!(parsed.is_ok(), "{:?} in\n{}", parsed, text);
        let parsed = parsed.unwrap_or_default();
        for (header, entries) in &tables {
            for (key, value) in entries {
                let path: Vec<&str> = header.iter().chain(key).map(String::as_str).collect();
                prop_assert_eq!(toml::get_path(&parsed, &path), Some(&value.expected()), "{}", text);
            }
        }
        prop_assert_eq!(Ok(parsed), oracle(&text), "{}", text);
        toml(text.as_bytes());
    }

    /// A document made of lines of every kind, most of them valid: whenever the `toml` crate
    /// reads it, this reader reads the same tree (floats and date-times only as there).
    #[test]
    fn toml_reads_what_the_toml_crate_reads(text in toml_lines()) {
        if let Ok(expected) = oracle(&text) {
            prop_assert_eq!(toml::parse(&text), Ok(expected), "{}", text);
        }
        toml(text.as_bytes());
    }

    /// Profiles with `inherits` in any shape, cycles included, spread over a manifest, a config
    /// file and the environment: every chain ends at dev or release, and follows `inherits`
    /// (env over config over manifest) exactly when that reaches dev or release without a loop;
    /// every key resolves to the first profile on the chain that sets it.
    #[test]
    fn profiles_resolve_for_any_inherits_graph(set in prop::collection::vec(profile_setting(), 0..16)) {
        let mut sources: [BTreeMap<String, BTreeMap<&str, String>>; 3] = Default::default();
        for (source, profile, key, value) in &set {
            sources[*source].entry(profile.to_string()).or_default().insert(key, value.clone());
        }
        let render = |profiles: &BTreeMap<String, BTreeMap<&str, String>>| -> String {
            profiles
                .iter()
                .map(|(name, keys)| {
                    let body: String = keys.iter().map(|(k, v)| format!("{k} = {v:?}\n")).collect();
                    format!("[profile.{name}]\n{body}")
                })
                .collect()
        };
        let env_text: String = sources[2]
            .iter()
            .flat_map(|(name, keys)| keys.iter().map(move |(k, v)| {
                format!("CARGO_PROFILE_{}_{}={v}\n", crate::env::envify(name), crate::env::envify(k))
            }))
            .collect();
        let (manifest_text, config_text) = (render(&sources[0]), render(&sources[1]));
        profile(format!("{manifest_text}\0{config_text}\0{env_text}").as_bytes());

        let manifest = Loaded { path: "Cargo.toml".into(), table: toml::parse(&manifest_text).unwrap_or_default() };
        let configs = [Loaded { path: "config.toml".into(), table: toml::parse(&config_text).unwrap_or_default() }];
        let env = crate::env::Env::from_map(env_text.lines().filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), OsString::from(v))).collect());
        let profiles = Profiles { env: &env, configs: &configs, manifest: Some(&manifest) };
        // Env over config over manifest, for one profile's own key.
        let own = |profile: &str, key: &str| -> Option<String> {
            [2, 1, 0].iter().find_map(|&s| sources[s].get(profile)?.get(key).cloned())
        };
        for start in PROFILE_NAMES {
            let (chain, problem) = profiles.chain(start);
            let mut expected = vec![start.to_string()];
            let mut reaches = true;
            while !matches!(expected.last().map(String::as_str), Some("dev" | "release")) {
                let current = expected.last().cloned().unwrap_or_default();
                let parent = own(&current, "inherits").or_else(|| match current.as_str() {
                    "test" => Some("dev".to_string()),
                    "bench" => Some("release".to_string()),
                    _ => None,
                });
                match parent {
                    Some(parent) if !expected.contains(&parent) => expected.push(parent),
                    _ => { reaches = false; break; }
                }
            }
            if reaches {
                prop_assert_eq!(&chain, &expected);
                prop_assert_eq!(problem, None);
            } else {
                prop_assert_eq!(chain.last().map(String::as_str), Some("dev"));
                prop_assert!(problem.is_some());
            }
            for key in ["debug", "lto"] {
                let want = chain.iter().find_map(|p| own(p, key));
                let got = profiles.get(&chain, key).map(|(raw, _)| raw.text());
                prop_assert_eq!(got, want, "{} {:?}", key, chain);
            }
        }
    }
}

/// A scalar TOML value, written and as read.
#[derive(Debug, Clone)]
enum Scalar {
    Integer(i64),
    Boolean(bool),
    Text(String),
}

impl Scalar {
    fn render(&self) -> String {
        match self {
            Scalar::Integer(n) => n.to_string(),
            Scalar::Boolean(b) => b.to_string(),
            // Rust's debug escapes (`\u{7f}`) are not TOML's: write TOML's own.
            Scalar::Text(text) => {
                let mut out = String::from("\"");
                for c in text.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c if (c as u32) < 0x20 || c == '\u{7f}' => {
                            out.push_str(&format!("\\u{:04X}", c as u32))
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
                out
            }
        }
    }

    fn expected(&self) -> toml::Value {
        match self {
            Scalar::Integer(n) => toml::Value::Integer(*n),
            Scalar::Boolean(b) => toml::Value::Boolean(*b),
            Scalar::Text(t) => toml::Value::String(t.clone()),
        }
    }
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        any::<i64>().prop_map(Scalar::Integer),
        any::<bool>().prop_map(Scalar::Boolean),
        any::<String>().prop_map(Scalar::Text),
        prop::collection::vec(
            prop::sample::select(
                &[
                    '"',
                    '\\',
                    '\n',
                    '\t',
                    '\u{7f}',
                    '\u{1}',
                    'a',
                    'é',
                    '\u{10FFFF}'
                ][..]
            ),
            0..8
        )
        .prop_map(|chars| Scalar::Text(chars.into_iter().collect())),
    ]
}

/// Tables (by header path) of dotted keys and values; keys are unique within a document, and
/// no key is a prefix of another, so every entry is reachable by its path.
type Document = Vec<Section>;

/// A header path and its entries: dotted keys and values.
type Section = (Vec<String>, Vec<(Vec<String>, Scalar)>);

fn toml_document() -> impl Strategy<Value = Document> {
    let key = prop_oneof![name(6), any::<String>().prop_map(|s| format!("q{s}")),];
    let table = (
        prop::collection::vec(key.clone(), 0..3),
        prop::collection::vec((prop::collection::vec(key, 1..3), scalar()), 0..5),
    );
    prop::collection::vec(table, 0..5).prop_map(|tables| {
        // Number each header and key part so that no path is a prefix of another.
        tables
            .into_iter()
            .enumerate()
            .map(|(t, (header, entries))| {
                let header = header.into_iter().map(|h| format!("t{t}{h}")).collect();
                let entries = entries
                    .into_iter()
                    .enumerate()
                    .map(|(e, (key, value))| {
                        let key = key.into_iter().map(|k| format!("k{t}{e}{k}")).collect();
                        (key, value)
                    })
                    .collect();
                (header, entries)
            })
            .collect()
    })
}

/// A key part, bare when it may be, else a basic string.
fn render_key(part: &str) -> String {
    if part
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        part.to_string()
    } else {
        Scalar::Text(part.to_string()).render()
    }
}

fn render_document(tables: &Document) -> String {
    let mut text = String::new();
    let join = |path: &[String]| {
        path.iter()
            .map(|p| render_key(p))
            .collect::<Vec<_>>()
            .join(" . ")
    };
    // The root table's entries first: those of tables without a header.
    let mut ordered: Vec<&Section> = tables.iter().collect();
    ordered.sort_by_key(|(header, _)| !header.is_empty());
    for (header, entries) in ordered {
        if !header.is_empty() {
            text.push_str(&format!("[ {} ]  # table\n", join(header)));
        }
        for (key, value) in entries {
            text.push_str(&format!("{} = {}\n", join(key), value.render()));
        }
    }
    text
}

const PROFILE_NAMES: [&str; 7] = ["dev", "release", "test", "bench", "a", "b", "custom"];

/// (source: manifest, config or env; profile; key; value)
fn profile_setting() -> impl Strategy<Value = (usize, &'static str, &'static str, String)> {
    let profile = prop::sample::select(&PROFILE_NAMES[..]);
    let value = prop_oneof![
        prop::sample::select(&PROFILE_NAMES[..]).prop_map(str::to_string),
        prop::sample::select(&["0", "1", "full", "thin", "fat", "x"][..]).prop_map(str::to_string),
    ];
    (
        0usize..3,
        profile,
        prop::sample::select(&["inherits", "debug", "lto"][..]),
        value,
    )
}

/// Keys of every form, some of them the same key written differently.
const TOML_KEYS: &[&str] = &[
    "a",
    "b",
    "a.b",
    "\"a\"",
    "'b'",
    "c . \"d.e\"",
    "1",
    "1.5",
    "x-y_z",
    "\"\"",
    "\"\\u0061\"",
    "true",
];

/// Values the crate reads and values it skips, in every syntax TOML has for them.
const TOML_SCALARS: &[&str] = &[
    "1",
    "+5",
    "-0",
    "1_000",
    "0x1F",
    "0xdead_beef",
    "0o17",
    "0b101",
    "9223372036854775807",
    "-9223372036854775808",
    "true",
    "false",
    "1.5",
    "-0.0",
    "1e6",
    "+1.5E-3",
    "inf",
    "-nan",
    "1979-05-27",
    "1979-05-27 07:32:00",
    "1979-05-27T07:32:00-08:00",
    "07:32:00",
    "07:32",
    r#""a\tb\"c""#,
    r#""\u00e9\U0001F600\x41\e""#,
    r"'C:\lit'",
    "\"\"\"\nx \\\n   y\"\"\"",
    "'''\nz\n'''",
    "\"# not a comment\"",
    "\"\"",
    r#""""a""""""#,
];

/// A value: a scalar, an array or an inline table, nested a little.
fn toml_value() -> impl Strategy<Value = String> {
    let scalar = prop::sample::select(TOML_SCALARS).prop_map(str::to_string);
    scalar.prop_recursive(3, 16, 4, |inner| {
        let key = prop::sample::select(TOML_KEYS);
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..4), any::<bool>()).prop_map(
                |(items, lines)| {
                    let separator = if lines { ",\n  # an item\n  " } else { ", " };
                    format!("[{}]", items.join(separator))
                }
            ),
            prop::collection::vec((key, inner), 0..4).prop_map(|pairs| {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

/// A document of headers, key/value lines, comments and blank lines, with LF or CRLF endings.
fn toml_lines() -> impl Strategy<Value = String> {
    let key = || prop::sample::select(TOML_KEYS);
    let line = prop_oneof![
        1 => key().prop_map(|k| format!("[{k}]")),
        1 => key().prop_map(|k| format!("[[ {k} ]] # an array of tables")),
        3 => (key(), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => Just("# a comment".to_string()),
        1 => Just(String::new()),
    ];
    (prop::collection::vec(line, 0..12), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}
