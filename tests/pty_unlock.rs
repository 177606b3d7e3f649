//! Unlocking at a terminal, in a pseudo-terminal: three tries at the passphrase as sudo gives,
//! a weak or empty new passphrase refused with the reason and asked again, a prompt drawn once
//! even on a narrow terminal, `verify` reading a pasted token without echoing it, and
//! `key remove` asking first.
#![cfg(unix)]

mod common;

use common::pty::{Tty, passphrase_store, serial, unlocked};
use common::{Env, PASS};

/// A person typing `tries` at the passphrase prompt of `tokman ARGS`; the exit code and
/// transcript.
fn at_the_prompt(env: &Env, args: &[&str], tries: &[&str]) -> (i32, String) {
    let mut tty = Tty::spawn(env, args, &[]);
    for typed in tries {
        tty.expect("Passphrase for ");
        tty.type_hidden_line(typed);
    }
    tty.finish()
}

#[test]
fn a_wrong_passphrase_at_the_prompt_gets_three_tries() {
    let _serial = serial();
    let env = passphrase_store();
    unlocked(&env)
        .args(["generate", "alice"])
        .assert()
        .success();

    let (code, transcript) = at_the_prompt(&env, &["list"], &["wrong one", "wrong two", PASS]);
    assert_eq!(code, 0, "{transcript}");
    for said in [
        "wrong passphrase, try again (2 left)",
        "wrong passphrase, try again (1 left)",
        "alice",
    ] {
        assert!(transcript.contains(said), "no {said:?} in:\n{transcript}");
    }

    let (code, transcript) = at_the_prompt(&env, &["list"], &["one", "two", "three"]);
    assert_eq!(code, 11, "{transcript}");
    assert!(
        transcript.contains("error: wrong passphrase, 3 tries"),
        "{transcript}"
    );
    assert_eq!(
        transcript.matches("Passphrase for ").count(),
        3,
        "asked exactly three times:\n{transcript}"
    );
    for typed in [PASS, "wrong one", "wrong two", "three"] {
        assert!(
            !transcript.contains(typed),
            "{typed:?} echoed:\n{transcript}"
        );
    }
}

#[test]
fn an_empty_passphrase_says_why_it_asks_again() {
    let _serial = serial();
    let env = passphrase_store();
    let (code, transcript) = at_the_prompt(&env, &["list"], &["", PASS]);
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("the passphrase cannot be empty"),
        "{transcript}"
    );
    // An empty entry is not a wrong try.
    assert!(!transcript.contains("left)"), "{transcript}");
}

#[test]
fn a_weak_new_passphrase_at_the_prompt_is_refused_with_the_reason() {
    let _serial = serial();
    let env = Env::empty();
    let mut tty = Tty::spawn(&env, &["init"], &[]);
    tty.expect("New passphrase");
    tty.type_hidden_line("");
    tty.expect("the passphrase cannot be empty");
    tty.expect("New passphrase");
    tty.type_hidden_line("kiwi7");
    tty.expect("that passphrase is too weak: it is shorter than 12 characters");
    tty.expect("New passphrase");
    tty.type_hidden_line("abababababababab");
    tty.expect("too weak: it uses only 2 different characters");
    tty.expect("New passphrase");
    tty.type_hidden_line(PASS);
    tty.expect("Repeat it");
    tty.type_hidden_line(PASS);
    tty.expect("created a store");
    tty.expect("tip: add a second way to unlock");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    for typed in [PASS, "kiwi7", "abababababababab"] {
        assert!(
            !transcript.contains(typed),
            "{typed:?} echoed:\n{transcript}"
        );
    }
    unlocked(&env).arg("list").assert().success();
}

#[test]
fn the_passphrase_prompt_is_drawn_once_on_a_narrow_terminal() {
    let _serial = serial();
    let env = passphrase_store();
    let mut tty = Tty::spawn_sized(&env, &["key", "list"], &[], 40);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    assert_eq!(
        transcript.matches("Passphrase for").count(),
        1,
        "the prompt was drawn again:\n{transcript:?}"
    );
}

#[test]
fn verify_on_a_terminal_does_not_echo_the_pasted_token() {
    let _serial = serial();
    let env = passphrase_store();
    let token = {
        let out = unlocked(&env).args(["generate", "alice"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let body = &token[token.len() - 49..];
    let mut tty = Tty::spawn(&env, &["verify"], &[("TOKMAN_PASSPHRASE", PASS)]);
    tty.expect("Paste the token");
    tty.type_hidden_line(&token);
    tty.expect("valid: ");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    assert!(transcript.contains(&Env::id_of(&token)), "{transcript}");
    assert!(
        !transcript.contains(body),
        "the secret was echoed:\n{transcript}"
    );
    // Asked for the passphrase too, both are hidden; a wrong token still reads as one.
    let mut tty = Tty::spawn(&env, &["verify", "--scope", "posts:read"], &[]);
    tty.expect("Paste the token");
    tty.type_hidden_line(&format!("  {token}  "));
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    let (code, transcript) = tty.finish();
    assert_eq!(code, 5, "{transcript}");
    assert!(!transcript.contains(body), "{transcript}");
    assert!(!transcript.contains(PASS), "{transcript}");
}

#[test]
fn key_remove_on_a_terminal_asks_first() {
    let _serial = serial();
    let env = Env::new();
    let second = env.path("second.key");
    env.run(&[
        "key",
        "add-file",
        second.to_str().unwrap(),
        "--label",
        "cron",
    ])
    .ok();
    let key = env.key.clone().unwrap();
    let key = key.to_str().unwrap();
    let slot_count = || {
        let r = env.run(&["key", "list", "--json"]);
        r.ok();
        r.json().as_array().unwrap().len()
    };

    let mut tty = Tty::spawn(&env, &["key", "remove", "2"], &[("TOKMAN_KEY_FILE", key)]);
    let question = tty.expect("unlock this store");
    assert!(
        question.contains("Remove slot 2 (key file, cron)?"),
        "{question}"
    );
    tty.answer("n");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 2, "declining is not success:\n{transcript}");
    assert!(transcript.contains("nothing was changed"), "{transcript}");
    assert_eq!(slot_count(), 2);

    let mut tty = Tty::spawn(&env, &["key", "remove", "2"], &[("TOKMAN_KEY_FILE", key)]);
    tty.expect("unlock this store");
    tty.answer("yes");
    tty.expect("removed slot 2");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    assert_eq!(slot_count(), 1);
}

#[test]
fn key_rekey_on_a_terminal_names_the_slots_it_removes_and_asks_first() {
    let _serial = serial();
    let env = passphrase_store();
    let token = {
        let r = unlocked(&env).args(["generate", "alice"]).output().unwrap();
        assert!(r.status.success(), "{r:?}");
        String::from_utf8(r.stdout).unwrap().trim().to_owned()
    };
    let second = env.path("cron.key");
    unlocked(&env)
        .args([
            "key",
            "add-file",
            second.to_str().unwrap(),
            "--label",
            "cron",
        ])
        .assert()
        .success();
    let slot_count = || {
        let r = unlocked(&env)
            .args(["key", "list", "--json"])
            .output()
            .unwrap();
        assert!(r.status.success(), "{r:?}");
        let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        v.as_array().unwrap().len()
    };
    let before = std::fs::read(&env.store).unwrap();

    let mut tty = Tty::spawn(&env, &["key", "rekey"], &[]);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    let question = tty.expect("unlock this store?");
    assert!(
        question.contains("keeping slot 1"),
        "the kept slot is named:\n{question}"
    );
    tty.answer("n");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 2, "declining is not success:\n{transcript}");
    assert!(
        transcript.contains("remove slot 2 (keyfile, cron)"),
        "{transcript}"
    );
    assert!(transcript.contains("nothing was changed"), "{transcript}");
    assert!(
        !transcript.contains(PASS),
        "the passphrase was echoed:\n{transcript}"
    );
    assert_eq!(slot_count(), 2);
    assert_eq!(
        std::fs::read(&env.store).unwrap().len(),
        before.len(),
        "a declined rekey changed the store"
    );

    let mut tty = Tty::spawn(&env, &["key", "rekey"], &[]);
    tty.expect("Passphrase for ");
    tty.type_hidden_line(PASS);
    tty.expect("unlock this store?");
    tty.answer("y");
    tty.expect("replaced the master key");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 0, "{transcript}");
    assert!(transcript.contains("removed slot 2"), "{transcript}");
    assert_eq!(slot_count(), 1);
    // The passphrase that unlocked it still does, and the token still verifies.
    let v = unlocked(&env)
        .args(["verify", "--json"])
        .write_stdin(token)
        .output()
        .unwrap();
    assert!(v.status.success(), "{v:?}");
    // The removed key file opens it no more.
    env.bare()
        .args(["list", "--key-file", second.to_str().unwrap()])
        .assert()
        .code(11);
}

/// A command that opened the store before another process rekeyed it is told to run again
/// (exit 11), not that the store was tampered with, and changes nothing.
#[test]
fn a_rekey_by_another_process_while_a_command_waits_is_a_reason_to_run_it_again() {
    let _serial = serial();
    let env = Env::new();
    let key = env.key.clone().unwrap();
    let key = key.to_str().unwrap();
    let token = env.generate("alice", &[]);
    let second = env.path("second.key");
    env.run(&["key", "add-file", second.to_str().unwrap()]).ok();

    // revoke at its question; meanwhile the master key is replaced.
    let mut tty = Tty::spawn(
        &env,
        &["revoke", &Env::id_of(&token)],
        &[("TOKMAN_KEY_FILE", key)],
    );
    tty.expect("cannot be undone");
    env.run(&["key", "rekey", "--yes"]).ok();
    tty.answer("y");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 11, "{transcript}");
    assert!(transcript.contains("run the command again"), "{transcript}");
    assert!(!transcript.contains("integrity"), "{transcript}");
    env.verify(&token, &[]).ok();

    // rekey at its question, unlocked by slot 3; meanwhile slot 3 is removed.
    let third = env.path("third.key");
    env.run(&["key", "add-file", third.to_str().unwrap()]).ok();
    let mut tty = Tty::spawn(
        &env,
        &["key", "rekey"],
        &[("TOKMAN_KEY_FILE", third.to_str().unwrap())],
    );
    tty.expect("unlock this store?");
    env.run(&["key", "remove", "3", "--yes"]).ok();
    tty.answer("y");
    let (code, transcript) = tty.finish();
    assert_eq!(code, 11, "{transcript}");
    assert!(
        transcript.contains("slot 3, which unlocked the store, was removed by another command"),
        "{transcript}"
    );
    env.verify(&token, &[]).ok();
    env.run(&["audit", "--check"]).ok();
}
