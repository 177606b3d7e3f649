//! The notify command is bounded whatever it does: on its 30 s time-out its whole process
//! group is killed, so nothing it started keeps tokman's caller (cron) waiting on a pipe.
//! One test, and it takes the 30 s: the time-out is not configurable, on purpose.
#![cfg(unix)]

mod common;
use common::Env;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the process is gone (or a zombie nobody reaped yet: it holds no pipe any more).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "PID (comm) STATE …"
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_notify_command_that_hangs_is_killed_with_its_children_and_frees_the_pipe() {
    let mut env = Env::empty();
    let key = env.path("k.key");
    let pids = env.path("pids");
    // A child in the background holding stderr (tokman's, so the caller's pipe), and the
    // command itself never reading its input and never ending.
    let command = format!(
        "sleep 120 & echo $$ $! > '{}'; exec sleep 120",
        pids.display()
    );
    env.bare()
        .args(["init", "--notify-command", &command, "--new-key-file"])
        .arg(&key)
        .assert()
        .success();
    env.key = Some(key.clone());

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokman"));
    for var in common::TOKMAN_VARS {
        cmd.env_remove(var);
    }
    cmd.env("TOKMAN_STORE", &env.store)
        .env("TOKMAN_KEY_FILE", &key)
        .args(["generate", "alice"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().unwrap();
    // As cron does: wait for the process and for both pipes to close.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let waited = rx.recv_timeout(Duration::from_secs(50));
    let elapsed = started.elapsed();
    let ids = std::fs::read_to_string(&pids).unwrap_or_default();
    let ids: Vec<&str> = ids.split_whitespace().collect();
    let Ok(out) = waited else {
        for pid in &ids {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
        panic!("tokman or something it started held the pipes for 50 s");
    };
    let out = out.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        elapsed >= Duration::from_secs(29) && elapsed < Duration::from_secs(45),
        "{elapsed:?}"
    );
    assert!(
        stderr.contains("notify command ran for over 30s") && stderr.contains("the change stands"),
        "{stderr}"
    );
    assert_eq!(ids.len(), 2, "the command wrote its pids");
    for pid in &ids {
        assert!(gone(pid), "process {pid} of the notify command survived");
    }
    // The change stood.
    let token = stdout.trim();
    env.verify(token, &[]).ok();
}
