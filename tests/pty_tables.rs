//! Tables and the token box on terminals 40 and 80 columns wide, in a pseudo-terminal: every id
//! and token stays whole on one line (so it can be copied), no line is wider than the terminal
//! but the one holding the token when the box cannot, and `audit` fits 80 columns. The harness
//! is `pty.rs`'s, cut down: these commands unlock with a key file, so nothing is typed.
#![cfg(unix)]

mod common;

use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::{Env, forged};
use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{Eof, Expect};

const TIMEOUT: Duration = Duration::from_secs(20);

/// One pty test at a time: expectrl's `expect` polls without sleeping.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `tokman ARGS` on a pty `cols` wide, against `env`'s store unlocked by its key file; the exit
/// code and what the terminal shows, line by line, without colour.
fn on_tty(env: &Env, cols: u16, args: &[&str]) -> (i32, Vec<String>) {
    // tokman starts only once the window has its size: the shell waits for a line first.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"read -r _ && exec "$0" "$@""#)
        .arg(assert_cmd::cargo::cargo_bin("tokman"))
        .args(args);
    for var in common::TOKMAN_VARS {
        cmd.env_remove(var);
    }
    cmd.env("TOKMAN_STORE", &env.store)
        .env(
            "TOKMAN_KEY_FILE",
            env.key.as_ref().expect("a key-file store"),
        )
        .env("HOME", env.dir.path())
        .env("TERM", "xterm-256color");
    let mut session = OsSession::spawn(cmd).expect("spawn on a pty");
    session
        .get_process_mut()
        .set_window_size(cols, 40)
        .expect("window size");
    session.set_expect_timeout(Some(TIMEOUT));
    session.send_line("").expect("start");
    let what = format!("tokman {} at {cols} columns", args.join(" "));
    let text = match session.expect(Eof) {
        Ok(found) => String::from_utf8_lossy(found.as_bytes()).into_owned(),
        Err(e) => panic!("{what}: {e}"),
    };
    let code = match session.get_process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("{what}: {other:?}"),
    };
    let screen = without_escapes(&text);
    let lines = screen
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    (code, lines)
}

/// The text without terminal control sequences (colours: `ESC [ … m`).
fn without_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

/// Every line at most `cols` wide, but those `except` allows.
#[track_caller]
fn fits(what: &str, lines: &[String], cols: u16, except: impl Fn(&str) -> bool) {
    for line in lines.iter().filter(|l| !except(l)) {
        assert!(
            line.chars().count() <= usize::from(cols),
            "{what}: a line wider than {cols} columns:\n{line}\nin:\n{}",
            lines.join("\n")
        );
    }
}

/// Each of `ids` whole on one line (an id split over two lines appears in neither).
#[track_caller]
fn whole(what: &str, lines: &[String], ids: &[String]) {
    for id in ids {
        assert!(
            lines.iter().any(|l| l.contains(id.as_str())),
            "{what}: {id} is not whole on a line:\n{}",
            lines.join("\n")
        );
    }
}

/// A store whose tokens make for wide tables: names, several scopes, a revoked one, a long
/// user name, one about to expire. The ids, oldest first.
fn busy_store() -> (Env, Vec<String>) {
    let env = Env::new();
    let mut ids = Vec::new();
    for (user, extra) in [
        (
            "alice",
            &[
                "--name",
                "laptop",
                "--scope",
                "posts:read",
                "--scope",
                "posts:write",
            ][..],
        ),
        ("bob", &[]),
        ("carol-from-the-platform-team", &["--name", "ci deploy key"]),
        ("dave", &["--expires-in", "1h", "--scope", "admin:*"]),
    ] {
        ids.push(Env::id_of(&env.generate(user, extra)));
    }
    env.run(&["revoke", &ids[1], "--yes", "--reason", "left the team"])
        .ok();
    (env, ids)
}

#[test]
fn list_at_40_and_80_columns_keeps_every_id_whole_and_fits() {
    let _serial = serial();
    let (env, ids) = busy_store();
    for cols in [40, 80] {
        let (code, lines) = on_tty(&env, cols, &["list"]);
        let what = format!("list at {cols}");
        assert_eq!(code, 0, "{}", lines.join("\n"));
        assert!(lines[0].starts_with('┌'), "{what}: not the boxed table");
        whole(&what, &lines, &ids);
        fits(&what, &lines, cols, |_| false);
        assert!(lines.iter().any(|l| l.contains(" USER ")), "{what}");
        assert_eq!(lines.last().unwrap(), "4 tokens", "{what}: the count");
        // In list's order (oldest first, ties by id), one id a row.
        let order: Vec<String> = env
            .run(&["list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        let rows: Vec<&String> = lines.iter().filter(|l| l.contains("tm_")).collect();
        let listed: Vec<&str> = rows
            .iter()
            .map(|l| l.split_whitespace().nth(1).unwrap())
            .collect();
        assert_eq!(listed, order, "{what}");
    }
    let (_, lines) = on_tty(&env, 80, &["list", "--limit", "2"]);
    assert_eq!(lines.last().unwrap(), "showing 2 of 4 tokens");
    let (_, wide) = on_tty(&env, 200, &["list"]);
    for header in ["NAME", "SCOPES", "LAST USED"] {
        assert!(
            wide[1].contains(header),
            "every column at 200:\n{}",
            wide.join("\n")
        );
    }
}

#[test]
fn the_token_box_at_40_and_80_columns_keeps_the_token_on_one_line() {
    let _serial = serial();
    let env = Env::new();
    let mut long = Env::empty();
    let key = long.path("long.key");
    long.bare()
        .args(["init", "--prefix", "averylongprefix1", "--new-key-file"])
        .arg(&key)
        .assert()
        .success();
    long.key = Some(key);
    for (env, cols, boxed) in [
        (&env, 40, false),
        (&env, 80, true),
        // A 78-character token and its box would need 82 columns.
        (&long, 80, false),
        (&long, 120, true),
    ] {
        let user = format!("user{cols}{boxed}");
        let (code, lines) = on_tty(env, cols, &["generate", &user, "--scope", "posts:read"]);
        let what = format!("the box at {cols}");
        assert_eq!(code, 0, "{}", lines.join("\n"));
        let listed = env.run(&["list", "--json", "--user", &user]).json();
        let id = listed[0]["id"].as_str().unwrap().to_owned();
        let line = lines
            .iter()
            .find(|l| l.contains(&format!("{id}_")))
            .unwrap_or_else(|| panic!("{what}: no token line in:\n{}", lines.join("\n")));
        let token = line.trim_matches(|c| c == '│' || c == ' ');
        assert_eq!(token.len(), id.len() + 50, "{what}: {line:?}");
        if boxed {
            assert_eq!(line, &format!("│ {token} │"), "{what}");
        } else {
            assert_eq!(line, token, "{what}: the token alone on its line");
        }
        env.verify(token, &[]).ok();
        fits(&what, &lines, cols, |l| l == line);
        whole(&what, &lines, &[id]);
        assert!(lines.iter().any(|l| l.contains("only time")), "{what}");
    }
}

#[test]
fn audit_fits_80_columns_with_every_token_id_whole() {
    let _serial = serial();
    let (env, ids) = busy_store();
    let old = env.generate("erin", &[]);
    env.run(&["rotate", &Env::id_of(&old), "--yes"]).ok();
    env.verify(&forged(&ids[0]), &[]).code(1);
    env.run(&["key", "add-file", env.path("cron.key").to_str().unwrap()])
        .ok();
    let events = env.run(&["audit", "--json"]).json();
    let mut all: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    all.dedup();
    for cols in [80, 40] {
        let (code, lines) = on_tty(&env, cols, &["audit"]);
        let what = format!("audit at {cols}");
        assert_eq!(code, 0, "{}", lines.join("\n"));
        whole(&what, &lines, &all);
        fits(&what, &lines, cols, |_| false);
        for kept in ["TOKEN", "EVENT", "verify_refused", "key_add"] {
            assert!(lines.iter().any(|l| l.contains(kept)), "{what}: {kept}");
        }
    }
}

#[test]
fn inspect_and_key_list_fit_40_columns() {
    let _serial = serial();
    let (env, ids) = busy_store();
    let (code, lines) = on_tty(&env, 40, &["inspect", &ids[2]]);
    assert_eq!(code, 0, "{}", lines.join("\n"));
    whole("inspect", &lines, &ids[2..3]);
    fits("inspect", &lines, 40, |_| false);
    let (code, lines) = on_tty(&env, 40, &["key", "list"]);
    assert_eq!(code, 0, "{}", lines.join("\n"));
    fits("key list", &lines, 40, |_| false);
    assert!(lines.iter().any(|l| l.contains("keyfile")), "{lines:?}");
}
