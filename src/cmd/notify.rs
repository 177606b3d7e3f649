//! The store's `notify-command`: run with `sh -c` after generate, rotate, revoke, update,
//! purge, remind, copy, settings and key changes, the event as one JSON object on its stdin. It runs after the change has committed, so its
//! failure is reported and never undoes anything; it never sees a secret, neither in its input
//! nor in its environment, and it cannot make tokman wait longer than [`TIMEOUT`]:
//! - the clock starts when the command is spawned, and its input is written from a thread of
//!   its own, so a command that never reads cannot stall tokman on a full pipe;
//! - the command runs in a process group of its own, and on time-out the whole group is killed
//!   (`sh`, and every child it started that stayed in the group), so nothing it started keeps
//!   running or holds tokman's stderr, and so a cron job's pipe, open afterwards. Its stdout
//!   goes to `/dev/null`, its stderr to tokman's.
//!
//! A command that exits in time but leaves something running in the background (`… &`) is left
//! alone: that was its choice, and that process holds tokman's stderr until it ends unless the
//! command redirects it (`… >/dev/null 2>&1 &`). A process that leaves the group (`setsid`)
//! escapes the kill.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::warn;
use tokman::audit::Entry;
use tokman::service::Service;

/// How long a notify command may run, its input included, before its process group is killed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Variables that could unlock the store: never handed to the notify command.
const SCRUBBED: [&str; 4] = [
    "TOKMAN_PASSPHRASE",
    "TOKMAN_NEW_PASSPHRASE",
    "TOKMAN_PASSPHRASE_FILE",
    "TOKMAN_KEY_FILE",
];

/// Run the store's notify command, as the store says now, for `entry`.
pub fn run(service: &mut Service, entry: &Entry) {
    send(&command(service), entry);
}

/// The store's notify command, read before a change after which this session can no longer
/// read it (a key change that replaces or removes the slot that unlocked it); `Err` (warned
/// when sent) when it cannot be read.
pub fn command(service: &mut Service) -> Result<Option<String>, String> {
    service
        .settings()
        .map(|s| s.notify_command)
        .map_err(|e| e.to_string())
}

/// Run `command` (as [`command`] read it) for `entry`.
pub fn send(command: &Result<Option<String>, String>, entry: &Entry) {
    let command = match command {
        Ok(Some(command)) => command,
        Ok(None) => return,
        Err(e) => {
            warn(format_args!("could not read the notify command: {e}"));
            return;
        }
    };
    let payload = format!(
        "{}\n",
        serde_json::to_string(&crate::views::Event::new(entry)).unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group (id = its pid), so that a time-out can kill all of it.
        cmd.process_group(0);
    }
    for var in SCRUBBED {
        cmd.env_remove(var);
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            warn(format_args!(
                "could not run the notify command: {e}; the change stands"
            ));
            return;
        }
    };
    let started = Instant::now();
    if let Some(mut stdin) = child.stdin.take() {
        // From a thread: a command that does not read its stdin is fine, and one that reads
        // slowly or never cannot hold tokman past the time-out. The thread ends when the
        // payload is written or when the pipe breaks (the command exited or was killed);
        // closing stdin at its end gives the command EOF.
        let spawned = std::thread::Builder::new()
            .name("notify-stdin".into())
            .spawn(move || {
                let _ = stdin.write_all(payload.as_bytes());
            });
        if spawned.is_err() {
            warn("could not start writing the notify command's input; it gets none");
        }
    }
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return,
            Ok(Some(status)) => {
                warn(format_args!(
                    "the notify command failed ({status}); the change stands"
                ));
                return;
            }
            Ok(None) if started.elapsed() >= TIMEOUT => {
                kill_group(&mut child);
                warn(format_args!(
                    "the notify command ran for over {}s and was stopped with everything it started; the change stands",
                    TIMEOUT.as_secs()
                ));
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                kill_group(&mut child);
                warn(format_args!(
                    "could not wait for the notify command: {e}; it was stopped; the change stands"
                ));
                return;
            }
        }
    }
}

/// Kill the command's whole process group, then reap the command. It has not been reaped yet,
/// so its pid (the group's id) cannot have been reused by another process.
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process_group};
        let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
    }
    // The group kill covers it; this is for when that failed (and for other platforms).
    let _ = child.kill();
    let _ = child.wait();
}
