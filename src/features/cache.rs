//! The verdict cached in OUT_DIR, keyed by a hash of everything that decides it, so a rerun of
//! the build script with nothing changed skips `cargo tree`.

use super::FeatureViolation;
use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The file in OUT_DIR; the only file this check writes.
pub(crate) const FILE: &str = "lowmem_build-features.txt";

/// First line of the file; a new layout changes it, so old files are misses.
const HEADER: &str = "lowmem_build feature verdict v2";

/// What a hit gives back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Verdict {
    pub(crate) violations: Vec<FeatureViolation>,
    /// The notes about the rules (crates not in the graph).
    pub(crate) notes: Vec<String>,
    /// Manifests outside the workspace's list (path dependencies elsewhere), hashed at store
    /// time and checked again at load.
    pub(crate) extra_files: Vec<PathBuf>,
}

/// The key: the contents of `files` (a missing file counts as such) and `inputs` (target,
/// features, rules, rustflags ...). std's hasher is stable within one toolchain, and OUT_DIR
/// changes with the toolchain.
pub(crate) fn key(files: &[PathBuf], inputs: &[String]) -> u64 {
    let mut hasher = DefaultHasher::new();
    HEADER.hash(&mut hasher);
    for file in files {
        file.hash(&mut hasher);
        file_hash(file).hash(&mut hasher);
    }
    inputs.hash(&mut hasher);
    hasher.finish()
}

/// The hash of a file's contents; `None` when it cannot be read.
fn file_hash(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}

/// The cached verdict in `out_dir` when its key is `key` and no extra file changed.
pub(crate) fn load(out_dir: &Path, key: u64) -> Option<Verdict> {
    let text = std::fs::read_to_string(out_dir.join(FILE)).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER || lines.next()? != format!("key {key:016x}") {
        return None;
    }
    let mut verdict = Verdict::default();
    for line in lines {
        let (tag, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = unescape(value);
        match tag {
            "file" => {
                let (hash, path) = value.split_once(' ')?;
                let path = PathBuf::from(path);
                if file_hash(&path).map(|h| format!("{h:016x}")).as_deref() != Some(hash) {
                    return None;
                }
                verdict.extra_files.push(path);
            }
            "note" => verdict.notes.push(value),
            "violation" => verdict.violations.push(FeatureViolation {
                krate: value,
                features: Vec::new(),
                enabled_by: Vec::new(),
                fix: String::new(),
                choices: String::new(),
                missing: false,
            }),
            _ => {
                let last = verdict.violations.last_mut()?;
                match tag {
                    "missing" => last.missing = value == "true",
                    "feature" => last.features.push(value),
                    "by" => last.enabled_by.push(value),
                    "fix" => last.fix = value,
                    "choices" => last.choices = value,
                    _ => return None,
                }
            }
        }
    }
    Some(verdict)
}

/// Writes the verdict for `key`. Failing to write only costs the next run a `cargo tree`.
pub(crate) fn store(out_dir: &Path, key: u64, verdict: &Verdict) -> Result<(), String> {
    let mut text = format!("{HEADER}\nkey {key:016x}\n");
    let mut line = |tag: &str, value: &str| {
        let _ = writeln!(text, "{tag} {}", escape(value));
    };
    for file in &verdict.extra_files {
        let Some(hash) = file_hash(file) else {
            return Err(format!("cannot read {}", file.display()));
        };
        line("file", &format!("{hash:016x} {}", file.display()));
    }
    for note in &verdict.notes {
        line("note", note);
    }
    for v in &verdict.violations {
        line("violation", &v.krate);
        line("missing", if v.missing { "true" } else { "false" });
        for feature in &v.features {
            line("feature", feature);
        }
        for by in &v.enabled_by {
            line("by", by);
        }
        line("fix", &v.fix);
        line("choices", &v.choices);
    }
    let path = out_dir.join(FILE);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One value per line: backslashes and line breaks escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::scratch_dir;

    #[test]
    fn a_stored_verdict_comes_back_until_an_input_changes() {
        let dir = scratch_dir("cache-roundtrip");
        let manifest = dir.join("Cargo.toml");
        std::fs::write(&manifest, "[workspace]\n").unwrap();
        let extra = dir.join("extra.toml");
        std::fs::write(&extra, "a").unwrap();
        let files = vec![manifest.clone(), dir.join("Cargo.lock")];
        let inputs = vec!["x86_64-unknown-linux-gnu".to_string(), "full".to_string()];
        let k = key(&files, &inputs);
        assert_eq!(k, key(&files, &inputs));
        let verdict = Verdict {
            violations: vec![FeatureViolation {
                krate: "polars".into(),
                features: vec!["dtype-full".into(), "dtype-time".into()],
                enabled_by: vec!["a\\b\nc".into(), "second".into()],
                fix: "via-helper/Cargo.toml: remove `full`".into(),
                choices: "no fix in this workspace: `x` turns them on itself".into(),
                missing: false,
            }],
            notes: vec!["rule about `arrow`: not in the graph".into()],
            extra_files: vec![extra.clone()],
        };
        store(&dir, k, &verdict).unwrap();
        assert_eq!(load(&dir, k), Some(verdict.clone()));

        // Another key, a changed manifest or a changed extra file: a miss.
        assert_eq!(load(&dir, k ^ 1), None);
        let other_inputs = vec!["x86_64-unknown-linux-gnu".to_string(), String::new()];
        assert_ne!(key(&files, &other_inputs), k);
        std::fs::write(&manifest, "[workspace]\nmembers = []\n").unwrap();
        assert_ne!(key(&files, &inputs), k);
        std::fs::write(&extra, "b").unwrap();
        assert_eq!(load(&dir, k), None);

        // A clean verdict and a missing-feature verdict round-trip too.
        let clean = Verdict::default();
        store(&dir, 7, &clean).unwrap();
        assert_eq!(load(&dir, 7), Some(clean));
        let missing = Verdict {
            violations: vec![FeatureViolation {
                krate: "polars".into(),
                features: vec!["lazy".into()],
                enabled_by: Vec::new(),
                fix: "app/Cargo.toml: add `lazy`".into(),
                choices: String::new(),
                missing: true,
            }],
            ..Verdict::default()
        };
        store(&dir, 8, &missing).unwrap();
        assert_eq!(load(&dir, 8), Some(missing));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_file_is_a_miss_not_a_panic() {
        let dir = scratch_dir("cache-damaged");
        for text in [
            "",
            "garbage",
            "lowmem_build feature verdict v2\n",
            "lowmem_build feature verdict v2\nkey 0000000000000005\nfeature orphan\n",
            "lowmem_build feature verdict v2\nkey 0000000000000005\nfile nohash\n",
            "lowmem_build feature verdict v2\nkey 0000000000000005\nwhat ever\n",
        ] {
            std::fs::write(dir.join(FILE), text).unwrap();
            assert_eq!(load(&dir, 5), None, "{text:?}");
        }
        assert_eq!(load(&dir.join("missing"), 5), None);
        assert_eq!(unescape("a\\"), "a\\");
        assert_eq!(unescape(&escape("x\\n\r\ny")), "x\\n\r\ny");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
