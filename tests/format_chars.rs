//! Format characters (Unicode Cf: bidi overrides and isolates, zero-width spaces and joiners,
//! the soft hyphen, tags, …) in text users give are shown escaped, as control characters are:
//! `\u{202e}`, never the raw character, in every table, message and audit line, so a user name
//! cannot reverse or hide the rest of its row. `--json` keeps the exact string.
//!
//! tokman refuses such names at input (exit 2, naming the character), so the tokens here are
//! made through the library, as a store written by an older release or another tool holds
//! them: whatever a store holds, it is shown safely.

mod common;

use common::{Env, Run};

/// One character of each range of category Cf (first and last where they differ), and the
/// line and paragraph separators, which terminals may break lines at.
const HIDDEN: &[char] = &[
    '\u{ad}',
    '\u{600}',
    '\u{605}',
    '\u{61c}',
    '\u{6dd}',
    '\u{70f}',
    '\u{890}',
    '\u{891}',
    '\u{8e2}',
    '\u{180e}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2060}',
    '\u{2064}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{206f}',
    '\u{feff}',
    '\u{fff9}',
    '\u{fffb}',
    '\u{110bd}',
    '\u{110cd}',
    '\u{13430}',
    '\u{1343f}',
    '\u{1bca0}',
    '\u{1bca3}',
    '\u{1d173}',
    '\u{1d17a}',
    '\u{e0001}',
    '\u{e0020}',
    '\u{e007f}',
    '\u{2028}',
    '\u{2029}',
];

/// How tokman shows `c`: as Rust writes it, `\u{202e}`.
fn escaped(c: char) -> String {
    c.escape_default().to_string()
}

#[track_caller]
fn assert_no_raw(what: &str, text: &str, allowed: &[char]) {
    if let Some(c) = text
        .chars()
        .find(|c| HIDDEN.contains(c) && !allowed.contains(c))
    {
        panic!("{what}: raw U+{:04X} shown:\n{text:?}", u32::from(c));
    }
}

#[track_caller]
fn assert_shows(what: &str, text: &str, shown: &str) {
    assert!(text.contains(shown), "{what}: no {shown:?} in:\n{text}");
}

const USER: &str = "alice\u{202e}nimda";
const USER_SHOWN: &str = "alice\\u{202e}nimda";
const NAME: &str = "ci\u{2066}deploy\u{2069}";
const NAME_SHOWN: &str = "ci\\u{2066}deploy\\u{2069}";
/// A zero-width space (escaped) and an emoji joined by U+200D, which descriptions may hold.
const DESCRIPTION: &str = "runs\u{200b}nightly 👩\u{200d}💻";
const DESCRIPTION_SHOWN: &str = "runs\\u{200b}nightly 👩\u{200d}💻";
const REASON: &str = "left\u{2067}team";
const REASON_SHOWN: &str = "left\\u{2067}team";
const LABEL: &str = "laptop\u{feff}\u{2068}";
const LABEL_SHOWN: &str = "laptop\\u{feff}\\u{2068}";

fn ok(r: Run) -> Run {
    r.ok();
    r
}

fn open(env: &Env) -> tokman::service::Service {
    use tokman::store::{Durability, Location, Store, Unlock, read_key_file};
    let key = read_key_file(env.key.as_ref().unwrap()).unwrap();
    let mut store = Store::open(&Location::Sqlite(env.store.clone()), Durability::Full).unwrap();
    let unlocked = store.unlock(&Unlock::KeyFile(key)).unwrap();
    tokman::service::Service::new(store, unlocked)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Issue a token through the library, bypassing the command line's name rules; its id.
fn legacy_generate(env: &Env, user: &str, name: Option<&str>, description: Option<&str>) -> String {
    let mut service = open(env);
    let request = tokman::lifecycle::Request {
        user: user.into(),
        name: name.map(Into::into),
        description: description.map(Into::into),
        ..Default::default()
    };
    let issued = service.generate(request, now()).unwrap();
    issued.record.id.to_string()
}

fn legacy_revoke(env: &Env, id: &str, reason: &str) {
    let mut service = open(env);
    let which = tokman::service::Which::Id(tokman::token::TokenId::parse(id).unwrap());
    service.revoke(&which, Some(reason.into()), now()).unwrap();
}

fn legacy_label(env: &Env, label: &str) {
    use tokman::crypto::KeyFileKey;
    use tokman::store::{Unlock, read_key_file};
    let mut service = open(env);
    let current = Unlock::KeyFile(read_key_file(env.key.as_ref().unwrap()).unwrap());
    let new = KeyFileKey::generate();
    service
        .add_key_file(&current, &new, Some(label), now())
        .unwrap();
}

#[test]
fn tables_messages_and_the_audit_show_format_characters_escaped() {
    let env = Env::new();
    // At input each is refused, naming the character.
    for (args, cp) in [
        (&["generate", USER][..], "U+202E"),
        (&["generate", "bob", "--name", NAME], "U+2066"),
        (
            &["generate", "bob", "--description", "a\u{200b}b"],
            "U+200B",
        ),
        (&["revoke", "--user", USER, "--yes"], "U+202E"),
        (&["list", "--user", USER], "U+202E"),
    ] {
        let r = env.run(args);
        r.code(2);
        assert!(r.stderr.contains(cp), "{args:?}: {}", r.stderr);
        assert_no_raw(&format!("{args:?}"), &r.stderr, &[]);
    }
    let id = legacy_generate(&env, USER, Some(NAME), Some(DESCRIPTION));

    let list = ok(env.run(&["list"])).stdout;
    assert_shows("list", &list, USER_SHOWN);
    assert_shows("list", &list, NAME_SHOWN);
    assert_no_raw("list", &list, &[]);
    // The row is one line, id first, as if the user name were plain.
    let row = list.lines().find(|l| l.starts_with(&id)).expect("the row");
    assert!(row.contains(USER_SHOWN) && row.contains("active"), "{row}");

    let inspect = ok(env.run(&["inspect", &id])).stdout;
    for shown in [USER_SHOWN, NAME_SHOWN, DESCRIPTION_SHOWN] {
        assert_shows("inspect", &inspect, shown);
    }
    // Only the emoji joiner in the description is left as it is.
    assert_no_raw("inspect", &inspect, &['\u{200d}']);
    assert_eq!(inspect.matches('\u{200d}').count(), 1, "{inspect}");

    // A message about the token names its user.
    let r = ok(env.run(&["revoke", &id, "--yes"]));
    assert_shows("revoke's message", &r.stderr, USER_SHOWN);
    assert_no_raw("revoke's message", &r.stderr, &[]);
    let other = legacy_generate(&env, "carol", None, None);
    legacy_revoke(&env, &other, REASON);
    let inspect = ok(env.run(&["inspect", &other])).stdout;
    assert_shows("inspect after revoke", &inspect, REASON_SHOWN);

    legacy_label(&env, LABEL);
    let slots = ok(env.run(&["key", "list"])).stdout;
    assert_shows("key list", &slots, LABEL_SHOWN);
    assert_no_raw("key list", &slots, &[]);

    let audit = ok(env.run(&["audit"])).stdout;
    assert_shows("audit", &audit, USER_SHOWN);
    assert_shows("audit", &audit, REASON_SHOWN);
    assert_no_raw("audit", &audit, &[]);

    // JSON keeps the exact strings.
    let all = ok(env.run(&["list", "--json"])).json();
    let token = all
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(token["user"], USER);
    assert_eq!(token["name"], NAME);
    assert_eq!(token["description"], DESCRIPTION);
    let carol = all
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == other.as_str())
        .unwrap();
    assert_eq!(carol["revoke_reason"], REASON);
    let doc = ok(env.run(&["inspect", &id, "--json"])).json();
    assert_eq!(doc["user"], USER);
    let events = ok(env.run(&["audit", "--json"])).json();
    let users: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["user"].as_str())
        .collect();
    assert!(users.contains(&USER), "{users:?}");
    let slots = ok(env.run(&["key", "list", "--json"])).json();
    assert!(
        slots
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["label"] == LABEL),
        "{slots}"
    );
}

#[test]
fn every_kind_of_format_character_is_escaped_in_list() {
    let env = Env::new();
    for (i, &c) in HIDDEN.iter().enumerate() {
        env.run(&["generate", &format!("u{i}{c}x")]).code(2);
        legacy_generate(&env, &format!("u{i}{c}x"), None, None);
    }
    let list = ok(env.run(&["list"])).stdout;
    assert_no_raw("list", &list, &[]);
    for (i, &c) in HIDDEN.iter().enumerate() {
        assert_shows("list", &list, &format!("u{i}{}x", escaped(c)));
    }
    let users: Vec<String> = ok(env.run(&["list", "--json"]))
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["user"].as_str().unwrap().to_owned())
        .collect();
    for (i, &c) in HIDDEN.iter().enumerate() {
        assert!(users.contains(&format!("u{i}{c}x")), "{users:?}");
    }
}

#[test]
fn usage_errors_show_format_characters_escaped() {
    let env = Env::new();
    // A bad value of each kind, holding an override; clap's message and tokman's both quote it.
    for args in [
        &["generate", "bob", "--scope", "posts\u{202e}:read"][..],
        &["generate", "bob", "--expires-in", "1\u{2066}d"],
        &["verify", "--ip", "10.0.0.1\u{200b}"],
        &["list", "--status", "active\u{202e}"],
        &["list", "\u{202e}stray"],
        &["\u{2067}nope"],
    ] {
        let r = env.run(args);
        r.code(2);
        assert_no_raw(&format!("{args:?}"), &r.stderr, &[]);
        assert!(r.stderr.contains("\\u{"), "{args:?}: {}", r.stderr);
    }
}

/// On a terminal: the boxed table, and the passphrase prompt naming a store path that holds
/// an override.
#[cfg(unix)]
#[test]
fn on_a_terminal_too() {
    use expectrl::process::unix::WaitStatus;
    use expectrl::session::OsSession;
    use expectrl::{Eof, Expect};
    use std::time::{Duration, Instant};

    let spawn = |env: &Env, args: &[&str], vars: &[(&str, &std::ffi::OsStr)]| {
        // The pty starts with echo off; turn it on as a real terminal has it, so that waiting
        // for echo to go off below waits for tokman's prompt.
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(r#"stty echo && exec "$0" "$@""#)
            .arg(assert_cmd::cargo::cargo_bin("tokman"))
            .args(args);
        for var in common::TOKMAN_VARS {
            cmd.env_remove(var);
        }
        cmd.env("TOKMAN_STORE", &env.store)
            .env("HOME", env.dir.path())
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut session = OsSession::spawn(cmd).expect("spawn on a pty");
        session
            .get_process_mut()
            .set_window_size(160, 40)
            .expect("window size");
        session.set_expect_timeout(Some(Duration::from_secs(30)));
        session
    };
    let finish = |mut session: OsSession| -> (i32, String) {
        let text = session.expect(Eof).expect("the end").as_bytes().to_vec();
        let code = match session.get_process().wait().expect("wait") {
            WaitStatus::Exited(_, code) => code,
            other => panic!("{other:?}"),
        };
        (code, String::from_utf8_lossy(&text).into_owned())
    };

    let env = Env::new();
    legacy_generate(&env, USER, Some(NAME), None);
    let key = env.key.clone().unwrap();
    let session = spawn(&env, &["list"], &[("TOKMAN_KEY_FILE", key.as_os_str())]);
    let (code, table) = finish(session);
    assert_eq!(code, 0, "{table}");
    assert!(table.contains('┌'), "not the terminal table:\n{table}");
    assert_shows("list on a terminal", &table, USER_SHOWN);
    assert_shows("list on a terminal", &table, NAME_SHOWN);
    assert_no_raw("list on a terminal", &table, &[]);

    // A passphrase store whose path holds an override: the prompt names the path.
    let mut env = Env::empty();
    env.store = env.path("vault\u{202e}bd.db");
    env.bare()
        .arg("init")
        .env("TOKMAN_NEW_PASSPHRASE", common::PASS)
        .assert()
        .success();
    let mut session = spawn(&env, &["list"], &[]);
    let prompt = session.expect("Passphrase for ").expect("the prompt");
    let mut transcript = prompt.as_bytes().to_vec();
    let start = Instant::now();
    while session.get_process().get_echo().expect("termios") {
        assert!(start.elapsed() < Duration::from_secs(30), "echo never off");
        std::thread::sleep(Duration::from_millis(5));
    }
    session.send_line(common::PASS).expect("type");
    let (code, rest) = finish(session);
    transcript.extend_from_slice(rest.as_bytes());
    let transcript = String::from_utf8_lossy(&transcript);
    assert_eq!(code, 0, "{transcript}");
    assert_shows("the prompt", &transcript, "vault\\u{202e}bd.db");
    assert_no_raw("the prompt", &transcript, &[]);
}
