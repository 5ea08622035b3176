//! The store of measured peaks: one line per rustc run, written by `cargo lowmem` (and the
//! calibration script), read by everyone. Plain text, so that people and other tools can read it.
//!
//! The file is `<target-dir>/lowmem/peaks.tsv` (see [`path_in`]). Lines starting with `#` are
//! comments (the first names the format); every other line is one rustc run, tab-separated, in
//! this order (a field that is unknown is `-`):
//!
//! | # | field | meaning |
//! |---|---|---|
//! | 1 | `start_ms` | when rustc started, milliseconds since the Unix epoch |
//! | 2 | `crate` | the crate name rustc compiled (`--crate-name`) |
//! | 3 | `package` | the package (`CARGO_PKG_NAME`) |
//! | 4 | `version` | the package version (`CARGO_PKG_VERSION`) |
//! | 5 | `kind` | the crate types joined by `,` (`lib`, `rlib`, `bin`, `proc-macro`, `cdylib`, ...), `test` for `--test`, `build-script` for a build script |
//! | 6 | `target` | `--target`, or `host` |
//! | 7 | `profile` | the profile directory the output goes to (`debug`, `release`, a custom profile's name) |
//! | 8 | `opt` | `-C opt-level` (`0` when not given) |
//! | 9 | `debuginfo` | `-C debuginfo` (`0` when not given) |
//! | 10 | `cgu` | `-C codegen-units`, `-` for rustc's default |
//! | 11 | `emit` | `link` when rustc produced an artifact, `metadata` for `cargo check` |
//! | 12 | `anon_kib` | the peak anonymous memory (`RssAnon`) of rustc and the processes it started (the linker), summed, sampled while it ran: what the OOM killer is about |
//! | 13 | `rss_kib` | `getrusage(RUSAGE_CHILDREN).ru_maxrss` after rustc exited: the largest resident set of rustc or a process it waited for, file-backed pages included (behind sccache's server, or for a rerun, the largest sampled resident set of rustc's process tree instead) |
//! | 14 | `wall_ms` | how long it ran |
//! | 15 | `cpu_ms` | user + system CPU time of rustc and what it waited for |
//! | 16 | `status` | the exit code; `sig<N>` when a signal ended it; `oom-killed` when SIGKILL ended it while the kernel counted an OOM kill; `gave-way` when `cargo lowmem` killed it to make room (it ran again, alone: the next record); `hit` when it ran behind sccache and no rustc ran (the artifacts came from the cache). Only `0` is a measured peak |
//! | 17 | `out_kib` | the size of what it wrote (the rlib, rmeta or binary) |
//! | 18 | `hash` | the hash in the artifact's file name (`-C extra-filename` without its `-`, else `-C metadata`), which tells units apart and is how dependents name them |
//! | 19 | `features` | the `--cfg feature="..."` names joined by `,` |
//! | 20 | `deps` | the hashes of the `--extern` crates (from their file names), joined by `,` |
//! | 21 | `manifest_dir` | `CARGO_MANIFEST_DIR` |
//!
//! Later versions may add fields at the end; readers ignore what they do not know. Every rustc
//! run under the wrapper appends; after each of its commands `cargo lowmem` compacts a store
//! past 2 MiB to the newest three records of each crate, version, kind, target and settings
//! ([`compact`]). The always-on wrapper (`rustc-wrapper = "cargo-lowmem"` without the `cargo
//! lowmem` parent) only appends.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first line of a store file.
pub const HEADER: &str = "# lowmem_build store 1: start_ms crate package version kind target profile opt debuginfo cgu emit anon_kib rss_kib wall_ms cpu_ms status out_kib hash features deps manifest_dir";

/// The store file under a target directory: `<target-dir>/lowmem/peaks.tsv`.
pub fn path_in(target_dir: &Path) -> PathBuf {
    target_dir.join("lowmem").join("peaks.tsv")
}

/// One rustc run, measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// When rustc started, milliseconds since the Unix epoch.
    pub start_ms: u64,
    /// The crate name (`--crate-name`).
    pub krate: String,
    /// The package name.
    pub package: String,
    /// The package version.
    pub version: String,
    /// The crate types joined by `,`, or `test` or `build-script`.
    pub kind: String,
    /// The target triple, or `host`.
    pub target: String,
    /// The profile directory (`debug`, `release`, ...).
    pub profile: String,
    /// `-C opt-level`.
    pub opt: String,
    /// `-C debuginfo`.
    pub debuginfo: String,
    /// `-C codegen-units`, `-` for rustc's default.
    pub cgu: String,
    /// `link` or `metadata`.
    pub emit: String,
    /// Peak anonymous memory of rustc and its children, KiB.
    pub anon_kib: u64,
    /// `ru_maxrss` of rustc and what it waited for, KiB.
    pub rss_kib: u64,
    /// Wall time, ms.
    pub wall_ms: u64,
    /// CPU time, ms.
    pub cpu_ms: u64,
    /// The exit code, or `sig<N>`, `oom-killed`, `gave-way` or `hit` (see the module docs).
    pub status: String,
    /// The size of the artifact written, KiB.
    pub out_kib: u64,
    /// The hash in the artifact's file name.
    pub hash: String,
    /// Enabled features joined by `,`.
    pub features: String,
    /// The hashes of the direct dependencies joined by `,`.
    pub deps: String,
    /// `CARGO_MANIFEST_DIR`.
    pub manifest_dir: String,
}

impl Record {
    /// The record as one store line (without the newline). Tabs and newlines inside fields are
    /// replaced by spaces; empty fields are written `-`.
    pub fn to_line(&self) -> String {
        let numbers =
            [self.anon_kib, self.rss_kib, self.wall_ms, self.cpu_ms].map(|n| n.to_string());
        let out = self.out_kib.to_string();
        let start = self.start_ms.to_string();
        let fields: [&str; 21] = [
            &start,
            &self.krate,
            &self.package,
            &self.version,
            &self.kind,
            &self.target,
            &self.profile,
            &self.opt,
            &self.debuginfo,
            &self.cgu,
            &self.emit,
            &numbers[0],
            &numbers[1],
            &numbers[2],
            &numbers[3],
            &self.status,
            &out,
            &self.hash,
            &self.features,
            &self.deps,
            &self.manifest_dir,
        ];
        let mut line = String::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            if field.is_empty() {
                line.push('-');
            } else {
                line.extend(field.chars().map(|c| if c.is_control() { ' ' } else { c }));
            }
        }
        line
    }

    /// Reads one store line; `None` for comments, blank lines and lines that are not records.
    pub fn parse_line(line: &str) -> Option<Record> {
        if line.starts_with('#') || line.trim().is_empty() {
            return None;
        }
        let fields: Vec<&str> = line
            .split('\t')
            .map(|f| if f == "-" { "" } else { f })
            .collect();
        if fields.len() < 17 || fields[1].is_empty() {
            return None;
        }
        let text = |i: usize| fields.get(i).map_or_else(String::new, |f| f.to_string());
        let number = |i: usize| -> Option<u64> {
            match fields[i] {
                "" => Some(0),
                f => f.parse().ok(),
            }
        };
        Some(Record {
            start_ms: number(0)?,
            krate: text(1),
            package: text(2),
            version: text(3),
            kind: text(4),
            target: text(5),
            profile: text(6),
            opt: text(7),
            debuginfo: text(8),
            cgu: text(9),
            emit: text(10),
            anon_kib: number(11)?,
            rss_kib: number(12)?,
            wall_ms: number(13)?,
            cpu_ms: number(14)?,
            status: text(15),
            out_kib: number(16)?,
            hash: text(17),
            features: text(18),
            deps: text(19),
            manifest_dir: text(20),
        })
    }

    /// Whether rustc finished successfully (a killed or failed run, or an sccache hit where no
    /// rustc ran, says nothing of its peak).
    pub fn succeeded(&self) -> bool {
        self.status == "0"
    }
}

/// Every record in a store's text, in order; other lines are skipped.
pub fn parse(text: &str) -> Vec<Record> {
    text.lines().filter_map(Record::parse_line).collect()
}

/// Every record in the store file at `path`; an absent or unreadable file has none.
pub fn read(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// Appends `record` to the store file at `path`, creating it (and its directory) with the
/// header. One `write` per line in append mode, so concurrent writers do not interleave lines.
pub fn append(path: &Path, record: &Record) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut text = String::new();
    if file.metadata()?.len() == 0 {
        text.push_str(HEADER);
        text.push('\n');
    }
    text.push_str(&record.to_line());
    text.push('\n');
    file.write_all(text.as_bytes())
}

/// A store past this size is compacted by [`compact`].
pub const COMPACT_ABOVE_BYTES: u64 = 2 << 20;

/// Keeps the last `keep` records of each package, version, crate, kind, target and settings
/// (opt-level, debuginfo, codegen units; a failed run counts like any other), when the file at
/// `path` is larger than [`COMPACT_ABOVE_BYTES`]: every build appends, and readers want the
/// recent figures. Written aside and renamed, so a reader never sees half a file; records
/// appended meanwhile by another build may be lost, which costs one measurement. Returns how
/// many records were dropped.
pub fn compact(path: &Path, keep: usize) -> std::io::Result<usize> {
    if std::fs::metadata(path)?.len() <= COMPACT_ABOVE_BYTES {
        return Ok(0);
    }
    let records = read(path);
    let kept = newest(&records, keep);
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in &kept {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    crate::files::write_whole(path, &text)?;
    Ok(records.len() - kept.len())
}

/// The last `keep` records of each crate, version, kind, target and settings, in file order.
fn newest(records: &[Record], keep: usize) -> Vec<Record> {
    let key = |r: &Record| {
        (
            r.package.clone(),
            r.version.clone(),
            r.krate.clone(),
            r.kind.clone(),
            r.target.clone(),
            r.opt.clone(),
            r.debuginfo.clone(),
            r.cgu.clone(),
        )
    };
    let mut seen: Vec<(_, usize)> = Vec::new();
    let mut keep_flags = vec![false; records.len()];
    for (i, r) in records.iter().enumerate().rev() {
        let k = key(r);
        match seen.iter_mut().find(|(known, _)| *known == k) {
            Some((_, count)) if *count >= keep => {}
            Some((_, count)) => {
                *count += 1;
                keep_flags[i] = true;
            }
            None => {
                seen.push((k, 1));
                keep_flags[i] = true;
            }
        }
    }
    records
        .iter()
        .zip(keep_flags)
        .filter(|(_, k)| *k)
        .map(|(r, _)| r.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            start_ms: 1_764_633_600_000,
            krate: "polars_core".into(),
            package: "polars-core".into(),
            version: "0.55.2".into(),
            kind: "lib".into(),
            target: "host".into(),
            profile: "debug".into(),
            opt: "0".into(),
            debuginfo: "2".into(),
            cgu: String::new(),
            emit: "link".into(),
            anon_kib: 1_500_000,
            rss_kib: 2_300_000,
            wall_ms: 120_000,
            cpu_ms: 200_000,
            status: "0".into(),
            out_kib: 400_000,
            hash: "0123abcd".into(),
            features: "dtype-date,lazy".into(),
            deps: "aa,bb".into(),
            manifest_dir: "/r/polars-core-0.55.2".into(),
        }
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let r = sample();
        let line = r.to_line();
        assert_eq!(line.split('\t').count(), 21);
        assert!(line.contains("\t-\tlink\t"), "empty cgu is `-`: {line}");
        assert_eq!(Record::parse_line(&line), Some(r));
    }

    #[test]
    fn control_characters_cannot_break_a_line() {
        let mut r = sample();
        r.manifest_dir = "/a\tb\nc".into();
        let line = r.to_line();
        assert!(!line.contains('\n'));
        assert_eq!(line.split('\t').count(), 21);
        assert_eq!(Record::parse_line(&line).unwrap().manifest_dir, "/a b c");
    }

    #[test]
    fn comments_short_lines_and_garbage_are_skipped_and_new_fields_ignored() {
        let mut text = format!("{HEADER}\n\n{}\n", sample().to_line());
        text.push_str("1\tx\n");
        text.push_str("notanumber\tx\ty\n");
        text.push_str(&format!("{}\tsome-future-field\n", sample().to_line()));
        let records = parse(&text);
        assert_eq!(records, vec![sample(), sample()]);
    }

    #[test]
    fn compaction_keeps_the_newest_of_each_crate_and_settings() {
        let mut records = Vec::new();
        for i in 0..5 {
            let mut r = sample();
            r.start_ms = i;
            records.push(r.clone());
            r.debuginfo = "0".into();
            records.push(r);
        }
        let kept = newest(&records, 2);
        assert_eq!(kept.len(), 4);
        assert_eq!(
            kept.iter().map(|r| r.start_ms).collect::<Vec<_>>(),
            [3, 3, 4, 4],
            "the two newest of each, in file order"
        );
        // A small file is left alone.
        let dir = std::env::temp_dir().join(format!("lowmem-compact-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = path_in(&dir);
        for r in &records {
            append(&path, r).unwrap();
        }
        assert_eq!(compact(&path, 2).unwrap(), 0);
        assert_eq!(read(&path).len(), 10);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn append_writes_the_header_once() {
        let dir = std::env::temp_dir().join(format!("lowmem-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = path_in(&dir);
        append(&path, &sample()).unwrap();
        append(&path, &sample()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with('#')).count(), 1);
        assert_eq!(read(&path).len(), 2);
        assert!(read(&dir.join("absent")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
