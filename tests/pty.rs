//! The terminal experience, in a pseudo-terminal: hidden passphrase prompts, the one-time box,
//! the revoke confirmation, the boxed table and its colours, and that a token's secret body is
//! shown exactly once in a whole session's transcript. Also the errors a person meets first,
//! which read like cargo's: `error: …` then `hint: …` naming what to do.
#![cfg(unix)]

mod common;

use common::pty::{Tty, passphrase_store, serial, unlocked};
use common::{Env, PASS, contains};
use std::time::Duration;

/// `generate USER` on a terminal, answering the passphrase prompt; the token and transcript.
fn generate_on_tty(env: &Env, user: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["generate", user];
    args.extend_from_slice(extra);
    let mut tty = Tty::spawn(env, &args, &[]);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    tty.expect("only time");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    let token = tokens_in(&transcript)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no token in:\n{transcript}"));
    (token, transcript)
}

/// Whole tokens (default prefix) in a text.
fn tokens_in(text: &str) -> Vec<String> {
    let ok = |c: u8| c.is_ascii_alphanumeric();
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("tm_") {
        let start = i + at;
        let end = start + 65;
        if end <= b.len()
            && b[start + 3..start + 15]
                .iter()
                .all(|&c| ok(c) && !c.is_ascii_uppercase())
            && b[start + 15] == b'_'
            && b[start + 16..end].iter().all(|&c| ok(c))
            && b.get(end).is_none_or(|&c| !ok(c) && c != b'_')
        {
            found.push(text[start..end].to_owned());
        }
        i = start + 3;
    }
    found
}

/// SGR colour sequences, like `ESC[32m` (not the cursor moves prompts use).
fn has_colour(text: &str) -> bool {
    text.split('\u{1b}').skip(1).any(|s| {
        s.strip_prefix('[').is_some_and(|s| {
            let end = s.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|e| e > 0 && s[e..].starts_with('m') && &s[..e] != "0")
        })
    })
}

#[test]
fn init_asks_twice_for_a_hidden_passphrase_and_again_on_a_mismatch() {
    let _serial = serial();
    let env = Env::empty();
    let mut tty = Tty::spawn(&env, &["init"], &[]);
    tty.expect("New passphrase");
    tty.type_hidden_line("first attempt words");
    tty.expect("Repeat it");
    tty.type_hidden_line("a different attempt");
    tty.expect("do not match");
    tty.expect("New passphrase");
    tty.type_hidden_line(PASS);
    tty.expect("Repeat it");
    tty.type_hidden_line(PASS);
    tty.expect("created a store");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    for typed in [PASS, "first attempt words", "a different attempt"] {
        assert!(
            !transcript.contains(typed),
            "{typed:?} was echoed:\n{transcript}"
        );
    }
    assert!(env.store.exists());
    // The store opens with the passphrase typed twice, not with the mismatched ones.
    unlocked(&env).arg("list").assert().success();
    env.bare()
        .args(["list"])
        .env("TOKMAN_PASSPHRASE", "first attempt words")
        .assert()
        .code(11);
}

#[test]
fn generate_on_a_terminal_shows_the_token_once_in_a_box() {
    let _serial = serial();
    let env = passphrase_store();
    let (token, transcript) = generate_on_tty(
        &env,
        "alice",
        &["--scope", "posts:read", "--expires-in", "30d"],
    );
    assert!(
        !transcript.contains(PASS),
        "passphrase echoed:\n{transcript}"
    );
    assert!(transcript.contains("only time"), "{transcript}");
    let id = Env::id_of(&token);
    for shown in [
        "┌",
        "└",
        &format!("│ {token} "),
        &id,
        "alice",
        "posts:read",
        "in 30 days",
    ] {
        assert!(transcript.contains(shown), "no {shown:?} in:\n{transcript}");
    }
    for label in ["id", "user", "scopes", "expires"] {
        assert!(
            transcript
                .lines()
                .any(|l| l.trim_start().starts_with(label)),
            "no {label} line in:\n{transcript}"
        );
    }
    // The token shown is the real one.
    unlocked(&env)
        .arg("verify")
        .write_stdin(format!("{token}\n"))
        .assert()
        .success();
}

#[test]
fn revoke_on_a_terminal_asks_naming_the_token_and_user_and_no_changes_nothing() {
    let _serial = serial();
    let env = passphrase_store();
    let token = {
        let out = unlocked(&env).args(["generate", "alice"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let id = Env::id_of(&token);
    let verify = |code: i32| {
        unlocked(&env)
            .arg("verify")
            .write_stdin(format!("{token}\n"))
            .assert()
            .code(code);
    };

    let mut tty = Tty::spawn(&env, &["revoke", &id], &[]);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    let question = tty.expect("cannot be undone");
    assert!(
        question.contains(&id) && question.contains("alice"),
        "{question}"
    );
    tty.answer("n");
    let (code, transcript) = tty.finish();
    assert_ne!(code, 0, "declining is not success:\n{transcript}");
    assert!(transcript.contains("nothing was changed"), "{transcript}");
    verify(0);

    let mut tty = Tty::spawn(&env, &["revoke", &id, "--reason", "left"], &[]);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    tty.expect("cannot be undone");
    tty.answer("yes");
    tty.expect("revoked");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    verify(4);
}

/// `list` on a terminal, answering the prompt; the table part of the transcript.
fn list_on_tty(env: &Env, vars: &[(&str, &str)]) -> String {
    let mut tty = Tty::spawn(env, &["list"], vars);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    transcript
}

#[test]
fn list_on_a_terminal_is_a_boxed_table_coloured_only_without_no_color() {
    let _serial = serial();
    let env = passphrase_store();
    unlocked(&env)
        .args(["generate", "alice"])
        .assert()
        .success();
    let coloured = list_on_tty(&env, &[]);
    for part in ["ID", "USER", "STATUS", "alice", "active", "┌", "│", "└"] {
        assert!(coloured.contains(part), "no {part:?} in:\n{coloured}");
    }
    assert!(has_colour(&coloured), "no colour:\n{coloured:?}");
    let plain = list_on_tty(&env, &[("NO_COLOR", "1")]);
    assert!(plain.contains("┌") && plain.contains("active"), "{plain}");
    assert!(!has_colour(&plain), "colour despite NO_COLOR:\n{plain:?}");
}

#[test]
fn list_on_a_terminal_that_reports_no_width_is_not_squeezed() {
    let _serial = serial();
    let env = passphrase_store();
    unlocked(&env)
        .args(["generate", "alice"])
        .assert()
        .success();
    let mut tty = Tty::spawn(&env, &["list"], &[]);
    tty.expect("Passphrase for ");
    // Some ptys (editors' shells, CI runners) report 0 columns.
    tty.session
        .get_process_mut()
        .set_window_size(0, 0)
        .expect("window size");
    tty.type_hidden_line(PASS);
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("LAST USED") && transcript.contains("alice"),
        "{transcript}"
    );
}

#[test]
fn a_session_shows_the_secret_exactly_once() {
    let _serial = serial();
    let env = passphrase_store();
    let mut session = String::new();
    let (token, transcript) = generate_on_tty(&env, "alice", &["--name", "laptop"]);
    session.push_str(&transcript);
    let id = Env::id_of(&token);
    session.push_str(&list_on_tty(&env, &[]));

    let mut tty = Tty::spawn(&env, &["inspect", &id], &[]);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    session.push_str(&transcript);

    let mut tty = Tty::spawn(&env, &["revoke", &id], &[]);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    tty.expect("cannot be undone");
    tty.answer("yes");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    session.push_str(&transcript);

    let body = &token[token.len() - 49..];
    assert_eq!(
        session.matches(body).count(),
        1,
        "the secret body must appear once, in the box:\n{session}"
    );
    assert!(session.matches(&id).count() >= 4, "{session}");
    assert!(!contains(session.as_bytes(), PASS.as_bytes()));
}

/// stderr of a run, asserting its exit code.
#[track_caller]
fn stderr_of(mut cmd: assert_cmd::Command, code: i32) -> String {
    let out = cmd.write_stdin("").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(out.stdout.is_empty(), "errors go to stderr only");
    stderr
}

/// `error: …` on the first line and a `hint: …` line that contains every one of `names`.
#[track_caller]
fn assert_error_with_hint(stderr: &str, names: &[&str]) {
    let mut lines = stderr.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{stderr}");
    let hint = lines
        .find(|l| l.starts_with("hint: "))
        .unwrap_or_else(|| panic!("no hint in:\n{stderr}"));
    for name in names {
        assert!(hint.contains(name), "hint lacks {name:?}:\n{stderr}");
    }
}

#[test]
fn a_missing_store_says_where_and_names_tokman_init() {
    let env = Env::empty();
    let mut cmd = env.bare();
    cmd.arg("list");
    let stderr = stderr_of(cmd, 10);
    assert!(
        stderr.contains(&env.store.display().to_string()),
        "{stderr}"
    );
    assert_error_with_hint(&stderr, &["tokman init"]);
}

#[test]
fn a_locked_store_names_the_unlock_options() {
    let env = Env::new();
    let mut cmd = env.bare();
    cmd.arg("list");
    let stderr = stderr_of(cmd, 11);
    assert!(stderr.starts_with("error: store is locked"), "{stderr}");
    assert_error_with_hint(
        &stderr,
        &["--key-file", "--passphrase-file", "TOKMAN_PASSPHRASE"],
    );
}

#[test]
fn a_conflict_names_the_active_token_and_tokman_rotate() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let mut cmd = env.cmd();
    cmd.args(["generate", "alice"]);
    let stderr = stderr_of(cmd, 7);
    assert!(
        stderr.lines().next().unwrap().contains(&Env::id_of(&token)),
        "{stderr}"
    );
    assert_error_with_hint(&stderr, &["tokman rotate", &Env::id_of(&token)]);
    assert!(!stderr.contains(&token), "never the secret: {stderr}");
}

#[test]
fn typos_get_clap_suggestions() {
    let env = Env::new();
    let mut cmd = env.cmd();
    cmd.arg("genrate");
    let stderr = stderr_of(cmd, 2);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("similar") && stderr.contains("'generate'"),
        "{stderr}"
    );
    let mut cmd = env.cmd();
    cmd.args(["list", "--staus", "active"]);
    let stderr = stderr_of(cmd, 2);
    assert!(
        stderr.contains("similar") && stderr.contains("'--status'"),
        "{stderr}"
    );
}

#[test]
fn a_confirmation_waits_for_a_whole_line_and_leaves_nothing_for_the_shell() {
    let _serial = serial();
    let env = passphrase_store();
    let token = {
        let out = unlocked(&env).args(["generate", "bob"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let id = Env::id_of(&token);
    // A shell that, after tokman, reads whatever is left on the terminal: with a one-key
    // answer, "es" of "yes" would reach it (and a real shell would run it as a command).
    let mut tty = Tty::spawn_script(
        &env,
        r#"stty echo; "$0" revoke "$1"; echo "exit=$?"; stty -echo -icanon min 0 time 5; left=$(dd bs=64 count=1 2>/dev/null); echo "left=[$left]""#,
        &[&id],
    );
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    tty.expect("cannot be undone");
    // Anything but yes or no asks again.
    tty.answer("sure");
    tty.expect("please answer yes or no");
    // "y" alone decides nothing: tokman waits for Enter, and the token still verifies.
    tty.press("y");
    std::thread::sleep(Duration::from_millis(300));
    unlocked(&env)
        .arg("verify")
        .write_stdin(format!("{token}\n"))
        .assert()
        .code(0);
    // "es" and Enter complete "yes"; nothing of it is left for the shell.
    tty.press("es\r");
    tty.expect("revoked");
    tty.expect("exit=0");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("left=[]"),
        "input left for the shell:\n{transcript}"
    );
    unlocked(&env)
        .arg("verify")
        .write_stdin(format!("{token}\n"))
        .assert()
        .code(4);
}
