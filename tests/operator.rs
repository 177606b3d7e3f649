//! What a new user meets in the first hour, through the binary: rotation keeps a token's
//! lifetime, and the other rules of day-to-day use.

mod common;

use common::Env;

fn lifetime(record: &serde_json::Value) -> i64 {
    let t = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(record[k].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    t("expires_at") - t("created_at")
}

#[test]
fn rotate_keeps_a_short_lived_token_short_lived() {
    let env = Env::new();
    let r = env.run(&["generate", "shorty", "--expires-in", "1h", "--json"]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 3600);
    let r = env.run(&["rotate", "--user", "shorty", "--yes", "--json"]);
    r.ok();
    let successor = r.json();
    assert_eq!(lifetime(&successor), 3600, "{successor:#}");
    // --expires-in still says how long the successor lives.
    let r = env.run(&[
        "rotate",
        "--user",
        "shorty",
        "--expires-in",
        "2d",
        "--yes",
        "--json",
    ]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 2 * 86_400);
    // And the next rotation keeps that.
    let r = env.run(&["rotate", "--user", "shorty", "--yes", "--json"]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 2 * 86_400);
}

#[test]
fn every_unit_of_the_duration_rules_is_accepted_by_generate() {
    let env = Env::new();
    let r = env.run(&[
        "generate",
        "units",
        "--expires-in",
        "15min",
        "--rate-limit",
        "60/m",
        "--rate-limit",
        "10000/d",
        "--rate-limit",
        "5/w",
        "--json",
    ]);
    r.ok();
    let t = r.json();
    assert_eq!(lifetime(&t), 900);
    assert_eq!(
        t["rate_limits"],
        serde_json::json!([
            {"limit": 60, "per": "min"},
            {"limit": 10000, "per": "day"},
            {"limit": 5, "per": "week"}
        ])
    );
    let r = env.run(&["generate", "weeks", "--expires-in", "2w", "--json"]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 14 * 86_400);
    for bad in ["15mins", "2W", "1 min"] {
        env.run(&["generate", "bad", "--expires-in", bad]).code(2);
    }
    env.run(&["generate", "bad", "--rate-limit", "60/minute"])
        .code(2);
}

#[test]
fn revoke_takes_several_ids_all_or_nothing() {
    let env = Env::new();
    let a = env.generate("ann", &[]);
    let b = env.generate("ben", &[]);
    let c = env.generate("cat", &[]);
    let (ia, ib, ic) = (Env::id_of(&a), Env::id_of(&b), Env::id_of(&c));
    // One unknown id: nothing is revoked.
    let r = env.run(&["revoke", &ia, &ib, "tm_000000000000", "--yes"]);
    r.code(8);
    assert!(r.stderr.contains("tm_000000000000"), "{}", r.stderr);
    env.verify(&a, &[]).ok();
    env.verify(&b, &[]).ok();
    // Both, in one go, with an event each; --json gives an array for several.
    let r = env.run(&[
        "revoke",
        &ia,
        &ib,
        "--yes",
        "--json",
        "--reason",
        "offboarded",
    ]);
    r.ok();
    let records = r.json();
    let ids: Vec<&str> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ia.as_str(), ib.as_str()]);
    assert!(
        r.stderr.contains(&format!("revoked {ia} of ann")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("revoked {ib} of ben")),
        "{}",
        r.stderr
    );
    env.verify(&a, &[]).code(4);
    env.verify(&b, &[]).code(4);
    env.verify(&c, &[]).ok();
    let events = env.run(&["audit", "--json"]).json();
    let revokes: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "revoke")
        .map(|e| (e["id"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        revokes,
        [(ia.as_str(), "offboarded"), (ib.as_str(), "offboarded")]
    );
    // Again, with a live one among them: the revoked ones are said to be so, the live one goes.
    let r = env.run(&["revoke", &ia, &ic, "--yes"]);
    r.ok();
    assert!(r.stderr.contains("already revoked"), "{}", r.stderr);
    env.verify(&c, &[]).code(4);
    // One id with --json is still one record.
    let r = env.run(&["revoke", &ia, "--yes", "--json"]);
    r.ok();
    assert_eq!(r.json()["id"], ia.as_str());
    // Ids and --user do not mix.
    env.run(&["revoke", &ia, "--user", "ann", "--yes"]).code(2);
}

fn help(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("tokman")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_keeps_global_options_apart_and_verify_lists_its_exit_codes() {
    for args in [
        &["completions", "--help"][..],
        &["list", "--help"],
        &["generate", "-h"],
    ] {
        let text = help(args);
        let (own, global) = text
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("{args:?}: no Global options heading:\n{text}"));
        assert!(!own.contains("--key-file"), "{args:?}:\n{text}");
        assert!(global.contains("--key-file"), "{args:?}:\n{text}");
    }
    for args in [&["verify", "--help"][..], &["verify", "-h"]] {
        let text = help(args);
        for line in [
            "0   valid",
            "3   expired",
            "4   revoked",
            "6   rate limited",
            "12  store",
        ] {
            assert!(text.contains(line), "{args:?} lacks {line:?}:\n{text}");
        }
    }
    let man = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/tokman-verify.1"))
        .unwrap();
    assert!(man.contains(".SH \"EXIT STATUS\""), "{man}");
    let man = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/man/tokman-generate.1"
    ))
    .unwrap();
    let synopsis = man.split(".SH SYNOPSIS").nth(1).unwrap();
    let synopsis = synopsis.split(".SH").next().unwrap();
    for part in [
        r"\fIUSER\fR",
        r"\-\-name\fR \fIN\fR",
        r"\-\-scope\fR \fIS\fR]...",
    ] {
        assert!(
            synopsis.contains(part),
            "synopsis lacks {part}:\n{synopsis}"
        );
    }
}

#[test]
fn tokman_version_prints_the_version_and_user_names_do_not_complete_as_files() {
    let text = help(&["version"]);
    assert_eq!(text, format!("tokman {}\n", env!("CARGO_PKG_VERSION")));
    let bash = help(&["completions", "zsh"]);
    for line in bash.lines().filter(|l| l.contains("'--user=[")) {
        assert!(
            !line.contains("_files") && !line.contains("_default"),
            "{line}"
        );
    }
}

#[test]
fn verify_json_answers_even_when_the_store_cannot_be_used() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    // Missing store: exit 10, and still one document on stdout.
    let missing = Env::empty();
    let r = Env::output({
        let mut c = missing.bare();
        c.args(["verify", "--json"])
            .write_stdin(format!("{token}\n"));
        c
    });
    r.code(10);
    let doc = r.json();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["outcome"], "error");
    assert!(
        doc["reason"].as_str().unwrap().contains("no store"),
        "{doc}"
    );
    for key in ["id", "user", "scopes", "expires_at"] {
        assert!(doc[key].is_null(), "{doc}");
    }
    // Locked (no key given, no terminal): exit 11, a document.
    let r = Env::output({
        let mut c = env.bare();
        c.args(["verify", "--json"])
            .write_stdin(format!("{token}\n"));
        c
    });
    r.code(11);
    assert_eq!(r.json()["outcome"], "error");
    // Without --json, nothing on stdout.
    let r = Env::output({
        let mut c = missing.bare();
        c.arg("verify").write_stdin(format!("{token}\n"));
        c
    });
    r.code(10);
    assert!(r.stdout.is_empty(), "{r:?}");
}

#[test]
fn purge_json_says_whether_it_was_a_dry_run() {
    let env = Env::new();
    let t = env.generate("gone", &[]);
    env.run(&["revoke", &Env::id_of(&t), "--yes"]).ok();
    let r = env.run(&["purge", "--revoked", "--dry-run", "--json"]);
    r.ok();
    assert_eq!(r.json()["dry_run"], true);
    assert_eq!(r.json()["purged"], 1);
    env.verify(&t, &[]).code(4);
    let r = env.run(&["purge", "--revoked", "--json"]);
    r.ok();
    assert_eq!(r.json()["dry_run"], false);
    assert_eq!(r.json()["purged"], 1);
    env.verify(&t, &[]).code(1);
}

#[test]
fn one_user_is_one_user_however_the_name_is_typed() {
    let env = Env::new();
    let composed = "\u{e9}mile";
    let decomposed = "e\u{301}mile";
    let t = env.generate(composed, &[]);
    // The same name decomposed is the same user: one active token, exit 7.
    let r = env.run(&["generate", decomposed]);
    r.code(7);
    assert!(r.stderr.contains(&Env::id_of(&t)), "{}", r.stderr);
    env.verify(&t, &["--user", decomposed]).ok();
    let r = env.run(&["list", "--user", decomposed, "--json"]);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(r.json()[0]["user"], composed);
    // Leading, trailing or inner whitespace, controls and format characters: exit 2, naming
    // the character, before anything is read.
    for (name, cp) in [
        (" alice", "U+0020"),
        ("alice ", "U+0020"),
        ("alice\u{a0}", "U+00A0"),
        ("alice\t", "U+0009"),
        ("ali\u{202e}ce", "U+202E"),
        ("ali\u{200b}ce", "U+200B"),
        ("\u{2066}alice\u{2069}", "U+2066"),
    ] {
        let r = env.run(&["generate", name]);
        r.code(2);
        assert!(r.stderr.contains(cp), "{name:?}: {}", r.stderr);
        env.run(&["verify", "--user", name]).code(2);
    }
    env.run(&["generate", ""]).code(2);
    env.run(&["generate", &"x".repeat(257)]).code(2);
    // Names are case-sensitive: Alice is another user.
    env.generate("Alice", &[]);
    env.generate("alice", &[]);
    // Inner spaces are part of a name; descriptions may also hold newlines and emoji joiners.
    env.generate("Alice Smith", &["--name", "ci deploy"]);
    env.run(&["generate", "bob", "--name", "ci\u{200d}deploy"])
        .code(2);
    let r = env.run(&[
        "generate",
        "bob",
        "--name",
        "ci-deploy",
        "--description",
        "deploys the app\n\u{1f469}\u{200d}\u{1f4bb}",
        "--json",
    ]);
    r.ok();
    assert_eq!(
        r.json()["description"],
        "deploys the app\n\u{1f469}\u{200d}\u{1f4bb}"
    );
    env.run(&["generate", "carol", "--description", " padded"])
        .code(2);
}

#[test]
fn a_flood_of_forged_secrets_for_one_id_is_one_counted_event() {
    let env = Env::new();
    let t = env.generate("target", &[]);
    let id = Env::id_of(&t);
    let forged = common::forged(&id);
    let lines = format!("{forged}\n").repeat(500);
    let r = env.run_in(&["verify", "--stream"], &lines);
    r.ok();
    assert_eq!(r.stdout.lines().count(), 500);
    assert!(
        r.stdout
            .lines()
            .all(|l| l.contains(r#""outcome":"invalid""#))
    );
    let events = env.run(&["audit", "--json"]).json();
    let refused: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "verify_refused")
        .collect();
    // One event counting all 500 (they all fall within a minute of the first).
    assert_eq!(refused.len(), 1, "{refused:#?}");
    let total: u64 = refused.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 500);
    assert!(refused.iter().all(|e| e["id"] == id.as_str()));
    env.run(&["audit", "--check"]).ok();
    // The token itself still works.
    env.verify(&t, &[]).ok();
}

#[test]
fn an_expired_token_says_when_it_expired() {
    let env = Env::new();
    let t = env.generate("brief", &["--expires-in", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = env.verify(&t, &[]);
    r.code(3);
    assert!(r.stderr.contains("expired at 20"), "{}", r.stderr);
    let r = env.verify(&t, &["--json"]);
    let reason = r.json()["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("expired at 20") && reason.ends_with('Z'),
        "{reason}"
    );
}

#[test]
fn list_json_is_the_array_of_what_inspect_json_prints() {
    let env = Env::new();
    let r = env.run(&["list", "--json"]);
    r.ok();
    assert_eq!(r.stdout, "[]\n");
    let ids: Vec<String> = ["ann", "ben", "cy"]
        .iter()
        .map(|u| Env::id_of(&env.generate(u, &["--scope", "read"])))
        .collect();
    let r = env.run(&["list", "--json", "--sort", "user"]);
    r.ok();
    // Each element is, one level deeper, the document `inspect --json` prints for that token.
    let inspected: Vec<String> = ids
        .iter()
        .map(|id| {
            let r = env.run(&["inspect", id, "--json"]);
            r.ok();
            r.stdout.trim_end().replace('\n', "\n  ")
        })
        .collect();
    assert_eq!(r.stdout, format!("[\n  {}\n]\n", inspected.join(",\n  ")));
}
