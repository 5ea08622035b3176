//! Running a subprocess with a deadline: nothing this crate starts may hang a build.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What a finished command printed.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `command` with no stdin and waits at most `timeout`; on timeout the child is killed.
/// Errors are one line naming the program.
pub(crate) fn run(mut command: Command, timeout: Duration) -> Result<Finished, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run `{program}`: {e}"))?;
    // Readers on their own threads: a child that fills a pipe must not block on us, and a
    // grandchild that keeps a pipe open must not block us either. (Joined by polling rather
    // than through a channel: an mpsc channel was 7k of the 118k lines of LLVM IR this crate
    // compiled to.)
    let out_reader = spawn_reader(child.stdout.take().map(|p| Box::new(p) as Pipe));
    let err_reader = spawn_reader(child.stderr.take().map(|p| Box::new(p) as Pipe));
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{program}` did not finish within {} s and was stopped",
                    timeout.as_secs()
                ));
            }
            Ok(None) => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("waiting for `{program}` failed: {e}")),
        }
    };
    let rest = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(100);
    let stdout = collect(out_reader, Instant::now() + rest);
    let stderr = collect(err_reader, Instant::now() + Duration::from_millis(100));
    Ok(Finished {
        success: status.success(),
        stdout,
        stderr,
    })
}

/// A child's stdout or stderr.
type Pipe = Box<dyn Read + Send>;

fn spawn_reader(pipe: Option<Pipe>) -> Option<JoinHandle<String>> {
    let mut pipe = pipe?;
    Some(thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }))
}

/// What a reader read, if it is done by `until` (a grandchild holding the pipe open keeps it
/// reading: then it is left behind and the output counts as empty).
fn collect(reader: Option<JoinHandle<String>>, until: Instant) -> String {
    let Some(reader) = reader else {
        return String::new();
    };
    while !reader.is_finished() && Instant::now() < until {
        thread::sleep(Duration::from_millis(1));
    }
    if reader.is_finished() {
        reader.join().unwrap_or_default()
    } else {
        String::new()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let done = run(cmd, Duration::from_secs(10)).unwrap();
        assert!(!done.success);
        assert_eq!(done.stdout, "out\n");
        assert_eq!(done.stderr, "err\n");
    }

    #[test]
    fn a_hanging_child_is_stopped() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let err = run(cmd, Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
    }

    /// The child exits but a grandchild keeps its stdout open: what was read by the deadline is
    /// not waited for beyond it (the grandchild sleeps for 30 s; the run gives up after about
    /// 0.3 s, and the bound below is a correctness bound, far from either).
    #[test]
    fn a_grandchild_holding_the_pipe_does_not_hold_us() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo started; exit 0"]);
        let started = Instant::now();
        let done = run(cmd, Duration::from_millis(200)).unwrap();
        assert!(done.success);
        assert_eq!(
            done.stdout, "",
            "the reader is still blocked on the open pipe"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn a_missing_program_is_a_message() {
        let err = run(Command::new("/nonexistent/lowmem"), Duration::from_secs(1)).unwrap_err();
        assert!(
            err.starts_with("could not run `/nonexistent/lowmem`"),
            "{err}"
        );
    }
}
