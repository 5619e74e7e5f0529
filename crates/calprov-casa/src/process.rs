//! The one function in calprov that starts a process.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a bounded child process did.
#[derive(Debug)]
pub enum ProcessOutcome {
    /// It exited; its status code (if any) and stdout.
    Exited {
        /// Exit code, `None` when killed by a signal.
        code: Option<i32>,
        /// Standard output, at most 1 MiB.
        stdout: String,
    },
    /// It ran past the timeout and was killed.
    TimedOut,
    /// It could not be started.
    NotStarted(std::io::Error),
}

/// Runs `program args...` with no stdin and stderr discarded, waiting at most `timeout`;
/// a child still running then is killed and reaped. Arguments are passed as a vector, never
/// through a shell.
pub fn run_with_timeout(program: &Path, args: &[&str], timeout: Duration) -> ProcessOutcome {
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => return ProcessOutcome::NotStarted(err),
    };
    // Drain stdout on a thread so a chatty child cannot block on a full pipe.
    let reader = child.stdout.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut pipe).take(1 << 20).read_to_end(&mut buf);
            buf
        })
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < timeout => std::thread::sleep(Duration::from_millis(5)),
            _ => break None,
        }
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return ProcessOutcome::TimedOut;
    };
    let stdout = reader
        .and_then(|r| r.join().ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    ProcessOutcome::Exited {
        code: status.code(),
        stdout,
    }
}
