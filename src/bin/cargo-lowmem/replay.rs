//! rustc's stderr, passed on to cargo once per line however often rustc is run. cargo reads
//! rustc's JSON messages from it; the artifact notice `{"$message_type":"artifact",...,
//! "emit":"metadata"}` tells cargo that the crate's `.rmeta` is ready, and cargo's job queue
//! takes it exactly once per unit: a second one (from a rustc killed after its notice and run
//! again) made cargo 1.95 panic in `dependency_queue.rs`. So a rerun's lines that an earlier run
//! already passed on (its notices, and the warnings it gave) are dropped, as many times as they
//! were passed on; everything new goes through in order.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What the runs of one rustc have passed on so far.
#[derive(Debug, Default)]
pub struct Replay {
    /// Lines passed on by earlier runs, and how often each.
    earlier: Mutex<HashMap<Vec<u8>, usize>>,
    /// Lines the current run passed on.
    current: Mutex<Vec<Vec<u8>>>,
    /// Whether any run has announced the crate's metadata.
    metadata: AtomicBool,
}

impl Replay {
    /// Starts the next run: what the last one passed on is now "earlier".
    pub fn next_run(&self) {
        let (Ok(mut earlier), Ok(mut current)) = (self.earlier.lock(), self.current.lock()) else {
            return;
        };
        for line in current.drain(..) {
            *earlier.entry(line).or_insert(0) += 1;
        }
    }

    /// Whether cargo has been told the crate's metadata is ready (by this run or an earlier one).
    pub fn metadata_announced(&self) -> bool {
        self.metadata.load(Ordering::Relaxed)
    }

    /// Copies `input` (rustc's stderr) to `out` line by line, leaving out what earlier runs
    /// already passed on.
    pub fn forward(&self, input: impl Read, mut out: impl Write) {
        let mut skipped: HashMap<Vec<u8>, usize> = HashMap::new();
        for line in BufReader::new(input).split(b'\n').map_while(Result::ok) {
            let before = self
                .earlier
                .lock()
                .map_or(0, |e| e.get(&line).copied().unwrap_or(0));
            let seen = skipped.entry(line.clone()).or_insert(0);
            if *seen < before {
                *seen += 1;
                continue;
            }
            if is_metadata_notice(&line) {
                self.metadata.store(true, Ordering::Relaxed);
            }
            let _ = out.write_all(&line);
            let _ = out.write_all(b"\n");
            let _ = out.flush();
            if let Ok(mut current) = self.current.lock() {
                current.push(line);
            }
        }
    }
}

/// Whether a line is rustc's notice that the crate's metadata (`.rmeta`) is written: the
/// `"emit":"metadata"` artifact notice, with `"$message_type":"artifact"` (rustc 1.66+) or without.
fn is_metadata_notice(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    text.starts_with('{')
        && text.contains("\"artifact\":")
        && text.contains("\"emit\":\"metadata\"")
        && !text.contains("\"$message_type\":\"diagnostic\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notices of rustc 1.95 as it writes them (`rustc --error-format=json --json=artifacts`).
    const RUN: &[u8] = b"{\"$message_type\":\"artifact\",\"artifact\":\"/t/deps/mid-1.d\",\"emit\":\"dep-info\"}\n\
{\"$message_type\":\"diagnostic\",\"message\":\"unused variable\",\"rendered\":\"warning: unused\"}\n\
{\"$message_type\":\"artifact\",\"artifact\":\"/t/deps/libmid-1.rmeta\",\"emit\":\"metadata\"}\n";

    fn forwarded(replay: &Replay, input: &[u8]) -> String {
        let mut out = Vec::new();
        replay.forward(input, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_rerun_passes_on_only_what_is_new() {
        let replay = Replay::default();
        // Killed after its metadata notice.
        assert_eq!(forwarded(&replay, RUN), String::from_utf8_lossy(RUN));
        assert!(replay.metadata_announced());
        replay.next_run();
        // Run again to the end: the notice and the warning are not given twice.
        let mut again = RUN.to_vec();
        again.extend_from_slice(
            b"{\"$message_type\":\"artifact\",\"artifact\":\"/t/deps/libmid-1.rlib\",\"emit\":\"link\"}\n",
        );
        let out = forwarded(&replay, &again);
        assert_eq!(
            out,
            "{\"$message_type\":\"artifact\",\"artifact\":\"/t/deps/libmid-1.rlib\",\"emit\":\"link\"}\n"
        );
        // A line a run gives twice is given twice, also after an earlier run gave it once.
        let twice = b"warning: x\nwarning: x\n";
        let replay = Replay::default();
        assert_eq!(forwarded(&replay, &twice[..11]), "warning: x\n");
        replay.next_run();
        assert_eq!(forwarded(&replay, twice), "warning: x\n");
    }

    #[test]
    fn the_metadata_notice_is_recognised_in_both_forms() {
        assert!(is_metadata_notice(
            b"{\"$message_type\":\"artifact\",\"artifact\":\"libx.rmeta\",\"emit\":\"metadata\"}"
        ));
        assert!(is_metadata_notice(
            b"{\"artifact\":\"libx.rmeta\",\"emit\":\"metadata\"}"
        ));
        assert!(!is_metadata_notice(
            b"{\"$message_type\":\"artifact\",\"artifact\":\"libx.rlib\",\"emit\":\"link\"}"
        ));
        assert!(!is_metadata_notice(b"warning: \"emit\":\"metadata\""));
    }

    /// What a real rustc prints is what the test above feeds: its notice is recognised.
    #[test]
    fn a_real_rustcs_notice_is_recognised() {
        let dir = crate::files::scratch_dir("replay");
        std::fs::write(dir.join("lib.rs"), "pub fn f() {}\n").unwrap();
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let out = std::process::Command::new(rustc)
            .args([
                "--crate-type",
                "lib",
                "--crate-name",
                "replayed",
                "--emit=dep-info,metadata,link",
                "--error-format=json",
                "--json=artifacts",
                "lib.rs",
            ])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success());
        let replay = Replay::default();
        replay.forward(&out.stderr[..], std::io::sink());
        assert!(
            replay.metadata_announced(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        replay.next_run();
        assert_eq!(forwarded(&replay, &out.stderr), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
