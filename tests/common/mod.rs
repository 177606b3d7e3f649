//! A tiny harness for driving the real `tokman` binary against a store in a temp dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

#[cfg(unix)]
pub mod pty;

/// Every variable tokman reads: cleared for each test run, so the developer's own environment
/// never leaks into a test.
pub const TOKMAN_VARS: [&str; 6] = [
    "TOKMAN_STORE",
    "TOKMAN_KEY_FILE",
    "TOKMAN_PASSPHRASE",
    "TOKMAN_PASSPHRASE_FILE",
    "TOKMAN_NEW_PASSPHRASE",
    "NO_COLOR",
];

pub const PASS: &str = "correct horse battery staple";

/// A temp dir holding a store (and maybe a key file), and how to unlock it.
pub struct Env {
    pub dir: TempDir,
    pub store: PathBuf,
    pub key: Option<PathBuf>,
    pub passphrase: Option<String>,
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Assert the exit code, showing the output when it is wrong.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "unexpected exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl Env {
    /// An empty temp dir; no store yet.
    pub fn empty() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("store.db");
        Env {
            dir,
            store,
            key: None,
            passphrase: None,
        }
    }

    /// A store unlocked by a key file (fast: no Argon2 on any command).
    pub fn new() -> Env {
        let mut env = Env::empty();
        let key = env.dir.path().join("admin.key");
        env.bare()
            .args(["init", "--new-key-file"])
            .arg(&key)
            .assert()
            .success();
        env.key = Some(key);
        env
    }

    /// A store unlocked by a passphrase (TOKMAN_PASSPHRASE).
    pub fn with_passphrase() -> Env {
        let mut env = Env::empty();
        env.bare()
            .arg("init")
            .env("TOKMAN_NEW_PASSPHRASE", PASS)
            .assert()
            .success();
        env.passphrase = Some(PASS.into());
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with a clean environment pointing at this store, and nothing to unlock it.
    pub fn bare(&self) -> Command {
        let mut c = Command::cargo_bin("tokman").expect("binary");
        for var in TOKMAN_VARS {
            c.env_remove(var);
        }
        c.env("TOKMAN_STORE", &self.store);
        c.env("HOME", self.dir.path());
        c.timeout(std::time::Duration::from_secs(60));
        c
    }

    /// The binary, unlocked the way this store is.
    pub fn cmd(&self) -> Command {
        let mut c = self.bare();
        if let Some(k) = &self.key {
            c.env("TOKMAN_KEY_FILE", k);
        }
        if let Some(p) = &self.passphrase {
            c.env("TOKMAN_PASSPHRASE", p);
        }
        c
    }

    /// Run with arguments and empty stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).write_stdin("").output().expect("run"))
    }

    /// Run with arguments and the given stdin.
    pub fn run_in(&self, args: &[&str], stdin: &str) -> Run {
        Run::from(
            self.cmd()
                .args(args)
                .write_stdin(stdin.to_owned())
                .output()
                .expect("run"),
        )
    }

    /// Run a prepared command.
    pub fn output(mut cmd: Command) -> Run {
        Run::from(cmd.output().expect("run"))
    }

    /// Issue a token for `user` and return it.
    pub fn generate(&self, user: &str, extra: &[&str]) -> String {
        let mut args = vec!["generate", user];
        args.extend_from_slice(extra);
        let r = self.run(&args);
        r.ok();
        let token = r.stdout.trim().to_owned();
        assert_eq!(
            r.stdout,
            format!("{token}\n"),
            "generate prints exactly the token on a pipe"
        );
        token
    }

    /// The public id of a token.
    pub fn id_of(token: &str) -> String {
        token.rsplit_once('_').expect("token shape").0.to_owned()
    }

    /// Verify a token on stdin, returning the exit code.
    pub fn verify(&self, token: &str, extra: &[&str]) -> Run {
        let mut args = vec!["verify"];
        args.extend_from_slice(extra);
        self.run_in(&args, &format!("{token}\n"))
    }

    /// The store file and its WAL, as bytes.
    pub fn raw_files(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(&self.store).unwrap_or_default();
        for ext in ["-wal", "-shm"] {
            let mut p = self.store.clone().into_os_string();
            p.push(ext);
            bytes.extend(std::fs::read(Path::new(&p)).unwrap_or_default());
        }
        bytes
    }
}

/// A well-formed token (right shape and checksum) with the given public id and a wrong secret.
pub fn forged(id: &str) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let head = format!("{id}_{}", "Q".repeat(43));
    let mut n = crc32fast::hash(head.as_bytes());
    let mut check = [b'0'; 6];
    for c in check.iter_mut().rev() {
        *c = B62[(n % 62) as usize];
        n /= 62;
    }
    format!("{head}{}", std::str::from_utf8(&check).unwrap())
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
