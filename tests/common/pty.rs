//! A command on a pseudo-terminal, for the tests of what a person sees: spawn tokman (or a
//! script around it) against a test store, wait for text, type hidden lines and answers, and
//! read the whole transcript with the exit code.

use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{Eof, Expect};

use super::{Env, PASS};

/// Argon2 runs on every passphrase unlock; a loaded 2-core machine can be slow.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// One pty test at a time: expectrl's `expect` polls without sleeping, so parallel sessions
/// would each spin a core that the commands' Argon2 runs need.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One command running on a terminal, and everything it printed so far.
pub struct Tty {
    pub session: OsSession,
    pub transcript: Vec<u8>,
    pub what: String,
}

impl Tty {
    /// `tokman ARGS` on a fresh pty, against `env`'s store with nothing to unlock it (so it
    /// asks), a clean environment plus `vars`.
    pub fn spawn(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Tty {
        Tty::spawn_sized(env, args, vars, 160)
    }

    /// [`Tty::spawn`] on a terminal `cols` wide.
    pub fn spawn_sized(env: &Env, args: &[&str], vars: &[(&str, &str)], cols: u16) -> Tty {
        // The pty starts with echo off (ptyprocess sets it so); turn it on as a real terminal
        // has it, before tokman starts, so that echo going off is tokman's doing.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"stty echo && exec "$0" "$@""#)
            .arg(assert_cmd::cargo::cargo_bin("tokman"))
            .args(args);
        for var in super::TOKMAN_VARS {
            cmd.env_remove(var);
        }
        cmd.env("TOKMAN_STORE", &env.store)
            .env("HOME", env.dir.path())
            .env("TERM", "xterm-256color");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut session = OsSession::spawn(cmd).expect("spawn on a pty");
        session
            .get_process_mut()
            .set_window_size(cols, 40)
            .expect("window size");
        session.set_expect_timeout(Some(TIMEOUT));
        Tty {
            session,
            transcript: Vec::new(),
            what: format!("tokman {}", args.join(" ")),
        }
    }

    /// `sh -c SCRIPT tokman ARGS...` on a fresh pty: `$0` is the tokman binary.
    pub fn spawn_script(env: &Env, script: &str, args: &[&str]) -> Tty {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg(assert_cmd::cargo::cargo_bin("tokman"))
            .args(args);
        for var in super::TOKMAN_VARS {
            cmd.env_remove(var);
        }
        cmd.env("TOKMAN_STORE", &env.store)
            .env("HOME", env.dir.path())
            .env("TERM", "xterm-256color");
        let mut session = OsSession::spawn(cmd).expect("spawn on a pty");
        session
            .get_process_mut()
            .set_window_size(160, 40)
            .expect("window size");
        session.set_expect_timeout(Some(TIMEOUT));
        Tty {
            session,
            transcript: Vec::new(),
            what: format!("sh -c {script:?}"),
        }
    }

    /// Wait for `needle`; the text up to and including it.
    #[track_caller]
    pub fn expect(&mut self, needle: &str) -> String {
        match self.session.expect(needle) {
            Ok(found) => {
                self.transcript.extend_from_slice(found.as_bytes());
                String::from_utf8_lossy(found.as_bytes()).into_owned()
            }
            Err(e) => panic!(
                "{}: waiting for {needle:?}: {e}\ntranscript so far:\n{}",
                self.what,
                String::from_utf8_lossy(&self.transcript)
            ),
        }
    }

    /// Type a line once the program has turned echo off to read it: this proves the input is
    /// hidden, and avoids racing the prompt's flush of pending input (console uses TCSAFLUSH).
    pub fn type_hidden_line(&mut self, line: &str) {
        self.wait_for_echo_off();
        self.session.send_line(line).expect("write to the pty");
    }

    /// Type at a yes/no question (read key by key in raw mode, so echo is off too).
    pub fn press(&mut self, key: &str) {
        self.wait_for_echo_off();
        self.session.send(key).expect("write to the pty");
    }

    /// Answer a yes/no question with a whole line.
    pub fn answer(&mut self, line: &str) {
        self.press(&format!("{line}\r"));
    }

    /// Poll the terminal's mode (a condition, not a guess at timing).
    pub fn wait_for_echo_off(&mut self) {
        let start = Instant::now();
        while self.session.get_process().get_echo().expect("termios") {
            assert!(
                start.elapsed() < TIMEOUT,
                "{}: echo never turned off\ntranscript so far:\n{}",
                self.what,
                String::from_utf8_lossy(&self.transcript)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Read to the end; the exit code and the whole transcript.
    #[track_caller]
    pub fn finish(mut self) -> (i32, String) {
        let rest = self.expect_eof();
        self.transcript.extend_from_slice(&rest);
        let code = match self.session.get_process().wait().expect("wait") {
            WaitStatus::Exited(_, code) => code,
            other => panic!("{}: {other:?}", self.what),
        };
        (code, String::from_utf8_lossy(&self.transcript).into_owned())
    }

    pub fn expect_eof(&mut self) -> Vec<u8> {
        match self.session.expect(Eof) {
            Ok(found) => found.as_bytes().to_vec(),
            Err(e) => panic!(
                "{}: waiting for the end: {e}\ntranscript so far:\n{}",
                self.what,
                String::from_utf8_lossy(&self.transcript)
            ),
        }
    }
}

/// A store with a passphrase and no unlock source in the environment, so commands ask.
pub fn passphrase_store() -> Env {
    let mut env = Env::with_passphrase();
    env.passphrase = None;
    env
}

/// The unlocked command (not on a terminal) for checks after a pty step.
pub fn unlocked(env: &Env) -> assert_cmd::Command {
    let mut c = env.bare();
    c.env("TOKMAN_PASSPHRASE", PASS);
    c
}
