//! Running a subprocess with a deadline: nothing this crate starts may hang a build.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
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
    // grandchild that keeps a pipe open must not block us either.
    let (out_tx, out_rx) = mpsc::channel();
    let (err_tx, err_rx) = mpsc::channel();
    spawn_reader(child.stdout.take(), out_tx);
    spawn_reader(child.stderr.take(), err_tx);
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
    let stdout = out_rx.recv_timeout(rest).unwrap_or_default();
    let stderr = err_rx
        .recv_timeout(Duration::from_millis(100))
        .unwrap_or_default();
    Ok(Finished {
        success: status.success(),
        stdout,
        stderr,
    })
}

fn spawn_reader(pipe: Option<impl Read + Send + 'static>, tx: mpsc::Sender<String>) {
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
        });
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

    #[test]
    fn a_missing_program_is_a_message() {
        let err = run(Command::new("/nonexistent/lowmem"), Duration::from_secs(1)).unwrap_err();
        assert!(
            err.starts_with("could not run `/nonexistent/lowmem`"),
            "{err}"
        );
    }
}
