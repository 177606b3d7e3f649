//! The store's `notify-command`: run with `sh -c` after generate, rotate, revoke and purge, the
//! event as one JSON object on its stdin. It runs after the change has committed, so its
//! failure is reported and never undoes anything; it never sees a secret, neither in its input
//! nor in its environment, and it cannot make tokman wait forever.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::warn;
use crate::audit::Entry;
use crate::render;
use crate::store::{Store, Unlocked};

/// How long a notify command may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Variables that could unlock the store: never handed to the notify command.
const SCRUBBED: [&str; 4] = [
    "TOKMAN_PASSPHRASE",
    "TOKMAN_NEW_PASSPHRASE",
    "TOKMAN_PASSPHRASE_FILE",
    "TOKMAN_KEY_FILE",
];

pub fn run(store: &mut Store, unlocked: &Unlocked, entry: &Entry) {
    let command = match store.read(unlocked).and_then(|tx| tx.settings()) {
        Ok(settings) => settings.notify_command,
        Err(e) => {
            warn(format_args!("could not read the notify command: {e}"));
            return;
        }
    };
    let Some(command) = command else { return };
    let payload = format!("{}\n", render::entry_json(entry));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
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
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is fine.
        let _ = stdin.write_all(payload.as_bytes());
    }
    let started = Instant::now();
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
                let _ = child.kill();
                let _ = child.wait();
                warn(format_args!(
                    "the notify command ran for over {}s and was stopped; the change stands",
                    TIMEOUT.as_secs()
                ));
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                warn(format_args!(
                    "could not wait for the notify command: {e}; the change stands"
                ));
                return;
            }
        }
    }
}
