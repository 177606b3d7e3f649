//! The token lifecycle through the real binary: generate, verify, list, inspect, revoke,
//! rotate, purge, with the contract's exit codes and output discipline.

mod common;
use common::{Env, contains};

#[test]
fn generate_prints_only_the_token_on_a_pipe_and_a_summary_on_stderr() {
    let env = Env::new();
    let r = env.run(&["generate", "alice"]);
    r.ok();
    let token = r.stdout.trim();
    assert_eq!(r.stdout, format!("{token}\n"));
    assert_eq!(token.len(), 65);
    assert!(token.starts_with("tm_"));
    assert!(
        r.stderr.contains("alice") && !r.stderr.contains(token),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&Env::id_of(token)));
}

#[test]
fn verify_accepts_the_token_and_refuses_a_wrong_one() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let r = env.verify(&token, &[]);
    r.ok();
    assert!(r.stdout.starts_with("valid: "), "{}", r.stdout);
    // Same id, different secret (well-formed, checksum right): invalid, not malformed.
    let r = env.verify(&common::forged(&Env::id_of(&token)), &["--json"]);
    r.code(1);
    assert_eq!(r.json()["outcome"], "invalid");
    // Typo: malformed, exit 1, reason on stderr, nothing on stdout.
    let mut typo = token.clone().into_bytes();
    typo[40] = if typo[40] == b'a' { b'b' } else { b'a' };
    let r = env.verify(&String::from_utf8(typo).unwrap(), &[]);
    r.code(1);
    assert!(
        r.stdout.is_empty() && r.stderr.contains("malformed"),
        "{r:?}"
    );
}

#[test]
fn verify_json_has_every_key_whatever_the_outcome() {
    let env = Env::new();
    let token = env.generate("alice", &["--scope", "posts:read"]);
    let ok = env.verify(&token, &["--json"]);
    ok.ok();
    let v = ok.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["outcome"], "valid");
    assert_eq!(v["user"], "alice");
    assert_eq!(v["id"], Env::id_of(&token));
    assert_eq!(v["scopes"], serde_json::json!(["posts:read"]));
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    let bad = env.run_in(&["verify", "--json"], "garbage\n");
    bad.code(1);
    let v = bad.json();
    assert_eq!(
        (v["valid"].clone(), v["outcome"].clone()),
        (serde_json::json!(false), serde_json::json!("malformed"))
    );
    assert!(v["reason"].is_string());
}

#[test]
fn one_active_token_per_user() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let r = env.run(&["generate", "alice"]);
    r.code(7);
    assert!(
        r.stderr.contains(&Env::id_of(&token)),
        "names the active token: {}",
        r.stderr
    );
    assert!(r.stderr.contains("tokman rotate"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    env.generate("bob", &[]);
}

#[test]
fn expires_in_over_the_maximum_is_a_usage_error_naming_it() {
    let env = Env::new();
    let r = env.run(&["generate", "alice", "--expires-in", "181d"]);
    r.code(2);
    assert!(r.stderr.contains("180d"), "{}", r.stderr);
    let short = Env::empty();
    short
        .bare()
        .args(["init", "--max-lifetime", "30d", "--new-key-file"])
        .arg(short.path("k"))
        .assert()
        .success();
    let r = short
        .bare()
        .env("TOKMAN_KEY_FILE", short.path("k"))
        .args(["generate", "a", "--expires-in", "31d"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("30d"));
    Env::empty()
        .bare()
        .args(["init", "--max-lifetime", "181d"])
        .env("TOKMAN_NEW_PASSPHRASE", "x")
        .assert()
        .code(2);
}

#[test]
fn revoke_is_immediate_irreversible_and_idempotent() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let id = Env::id_of(&token);
    // Without a terminal, --yes is required, checked before anything else.
    env.run(&["revoke", &id]).code(2);
    env.verify(&token, &[]).ok();
    let r = env.run(&["revoke", &id, "--yes", "--reason", "leaked"]);
    r.ok();
    assert!(r.stderr.contains("revoked"));
    env.verify(&token, &[]).code(4);
    let again = env.run(&["revoke", &id, "--yes"]);
    again.ok();
    assert!(again.stderr.contains("already revoked"), "{}", again.stderr);
    // The user can have a new token now.
    env.generate("alice", &[]);
    env.run(&["revoke", "--user", "nobody", "--yes"]).code(8);
    env.run(&["revoke", "tm_000000000000", "--yes"]).code(8);
}

#[test]
fn rotate_replaces_the_token_and_keeps_its_settings() {
    let env = Env::new();
    let old = env.generate(
        "alice",
        &["--scope", "a:b", "--name", "ci", "--rate-limit", "5/min"],
    );
    let r = env.run(&["rotate", &Env::id_of(&old), "--yes"]);
    r.ok();
    let new = r.stdout.trim().to_owned();
    assert_eq!(r.stdout, format!("{new}\n"));
    env.verify(&old, &[]).code(4);
    env.verify(&new, &["--scope", "a:b"]).ok();
    let v = env.run(&["inspect", &Env::id_of(&new), "--json"]).json();
    assert_eq!(v["rotated_from"], Env::id_of(&old));
    assert_eq!(v["name"], "ci");
    assert_eq!(
        v["rate_limits"],
        serde_json::json!([{"limit": 5, "per": "min"}])
    );
    let v = env.run(&["inspect", &Env::id_of(&old), "--json"]).json();
    assert_eq!(v["rotated_to"], Env::id_of(&new));
    assert_eq!(v["status"], "revoked");
    // A revoked token cannot be rotated.
    env.run(&["rotate", &Env::id_of(&old), "--yes"]).code(4);
    env.run(&["rotate", "--user", "alice"]).code(2);
    let by_user = env.run(&["rotate", "--user", "alice", "--yes", "--json"]);
    by_user.ok();
    assert!(by_user.json()["token"].as_str().unwrap().starts_with("tm_"));
}

#[test]
fn list_and_inspect_never_show_a_secret() {
    let env = Env::new();
    let token = env.generate("alice", &["--name", "deploy"]);
    let secret_part = &token[token.len() - 49..];
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["inspect", &Env::id_of(&token)],
    ] {
        let r = env.run(&args);
        r.ok();
        assert!(!r.stdout.contains(secret_part) && !r.stderr.contains(secret_part));
    }
    let list = env.run(&["list", "--json"]).json();
    let rec = &list[0];
    for key in [
        "id",
        "user",
        "name",
        "description",
        "scopes",
        "status",
        "created_at",
        "expires_at",
        "revoked_at",
        "revoke_reason",
        "last_used_at",
        "use_count",
        "rate_limits",
        "allowed_ips",
        "allowed_origins",
        "rotated_from",
        "rotated_to",
    ] {
        assert!(rec.get(key).is_some(), "missing key {key}");
    }
    let r = env.run_in(&["inspect", "-"], &format!("  {token}  \n"));
    r.ok();
    assert!(r.stdout.contains("alice") && r.stdout.contains("deploy"));
    env.run_in(&["inspect", "-"], "tm_nope\n").code(1);
}

#[test]
fn purge_deletes_revoked_with_the_flag_and_the_token_stays_dead() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let id = Env::id_of(&token);
    env.run(&["revoke", &id, "--yes"]).ok();
    let dry = env.run(&["purge", "--revoked", "--dry-run", "--json"]);
    dry.ok();
    assert_eq!(dry.json()["purged"], 1);
    let r = env.run(&["purge", "--json"]);
    assert_eq!(
        r.json(),
        serde_json::json!({"purged": 0, "ids": [], "dry_run": false})
    );
    let r = env.run(&["purge", "--revoked", "--json"]);
    assert_eq!(
        r.json(),
        serde_json::json!({"purged": 1, "ids": [id], "dry_run": false})
    );
    env.verify(&token, &[]).code(1);
    let quiet = env.run(&["purge", "--quiet"]);
    quiet.ok();
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
}

#[test]
fn the_store_file_holds_no_names_or_secrets() {
    let env = Env::new();
    let token = env.generate(
        "alice-the-operator",
        &[
            "--name",
            "deploy-bot-name",
            "--description",
            "a-very-secret-purpose",
            "--scope",
            "zebra:write",
            "--allow-origin",
            "https://origin-name.example",
        ],
    );
    env.verify(&token, &[]).code(5);
    env.verify(&token, &["--origin", "https://origin-name.example"])
        .ok();
    let raw = env.raw_files();
    assert!(!raw.is_empty());
    for needle in [
        "alice-the-operator",
        "deploy-bot-name",
        "a-very-secret-purpose",
        "zebra:write",
        "origin-name",
        &token,
        &token[token.len() - 49..],
    ] {
        assert!(
            !contains(&raw, needle.as_bytes()),
            "{needle} found in the store file"
        );
    }
}

#[test]
fn failed_commands_leave_the_store_byte_identical() {
    let env = Env::with_passphrase();
    env.generate("alice", &[]);
    let before = std::fs::read(&env.store).unwrap();
    env.bare()
        .env("TOKMAN_PASSPHRASE", "wrong")
        .args(["generate", "bob"])
        .assert()
        .code(11);
    env.run(&["generate", "alice"]).code(7);
    env.run(&["generate", "bob", "--expires-in", "soon"])
        .code(2);
    assert_eq!(before, std::fs::read(&env.store).unwrap());
}

#[test]
fn missing_store_is_exit_10_naming_init() {
    let env = Env::empty();
    for args in [
        vec!["list"],
        vec!["revoke", "--user", "a", "--yes"],
        vec!["purge"],
        vec!["audit"],
    ] {
        let r = Env::output({
            let mut c = env.bare();
            c.env("TOKMAN_PASSPHRASE", "x").args(&args);
            c
        });
        r.code(10);
        assert!(
            r.stderr.contains("tokman init") && r.stderr.contains("store.db"),
            "{}",
            r.stderr
        );
    }
    assert!(!env.store.exists());
}

#[test]
fn generate_creates_a_missing_store_but_not_from_a_key_file() {
    let env = Env::empty();
    let key = env.path("k.key");
    std::fs::write(&key, "x").unwrap();
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_KEY_FILE", &key).args(["generate", "alice"]);
        c
    });
    r.code(10);
    assert!(r.stderr.contains("init --new-key-file"), "{}", r.stderr);
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_PASSPHRASE", "pw").args(["generate", "alice"]);
        c
    });
    r.ok();
    assert!(r.stderr.contains("created"), "{}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&env.store).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn locked_store_without_a_source_is_exit_11() {
    let env = Env::new();
    let r = Env::output({
        let mut c = env.bare();
        c.arg("list");
        c
    });
    r.code(11);
    assert!(
        r.stderr.contains("--key-file") && r.stderr.contains("TOKMAN_PASSPHRASE"),
        "{}",
        r.stderr
    );
}

#[test]
fn init_refuses_an_existing_store() {
    let env = Env::new();
    let before = std::fs::read(&env.store).unwrap();
    env.bare()
        .args(["init"])
        .env("TOKMAN_NEW_PASSPHRASE", "x")
        .assert()
        .code(7);
    assert_eq!(before, std::fs::read(&env.store).unwrap());
}

#[test]
fn twelve_concurrent_generates_for_one_user_give_exactly_one_token() {
    let env = Env::new();
    let children: Vec<_> = (0..12)
        .map(|_| {
            let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("tokman"));
            c.env_clear()
                .env("TOKMAN_STORE", &env.store)
                .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
                .args(["generate", "alice"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap()).collect();
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 7).count(), 11, "{codes:?}");
    for o in &outs {
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("locked"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(
        env.run(&["list", "--json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn an_expired_token_cannot_be_rotated_but_no_longer_blocks_generate() {
    let env = Env::new();
    let token = env.generate("alice", &["--expires-in", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    env.verify(&token, &[]).code(3);
    let by_user = env.run(&["rotate", "--user", "alice", "--yes"]);
    by_user.code(3);
    assert!(
        by_user.stderr.contains("tokman generate"),
        "{}",
        by_user.stderr
    );
    env.run(&["rotate", &Env::id_of(&token), "--yes"]).code(3);
    // The expired token steps aside for a new one.
    let fresh = env.generate("alice", &[]);
    env.verify(&fresh, &[]).ok();
    env.verify(&token, &[]).code(3);
}

/// Run with stdout going to `/dev/full`, where every write fails.
#[cfg(target_os = "linux")]
fn to_dev_full(env: &Env, args: &[&str], stdin: &str) -> common::Run {
    use std::io::Write;
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tokman"))
        .env_clear()
        .env("TOKMAN_STORE", &env.store)
        .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn verify_exit_code_is_the_verdict_even_when_stdout_is_gone() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    env.run(&["revoke", &Env::id_of(&token), "--yes"]).ok();
    // A reader that went away: the exit code still says revoked, never 0.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tokman"))
        .env_clear()
        .env("TOKMAN_STORE", &env.store)
        .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
        .args(["verify", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{token}\n").as_bytes())
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(4));
    #[cfg(target_os = "linux")]
    {
        to_dev_full(&env, &["verify", "--json"], &format!("{token}\n")).code(4);
        to_dev_full(&env, &["verify", "--json"], "garbage\n").code(1);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_new_token_that_cannot_be_printed_is_a_loud_failure() {
    let env = Env::new();
    let r = to_dev_full(&env, &["generate", "alice"], "");
    r.code(74);
    assert!(
        r.stderr.contains("was issued but could not be printed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("tokman revoke"), "{}", r.stderr);
    // It exists, and the hint's advice works.
    let list = env.run(&["list", "--json"]).json();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert!(r.stderr.contains(&id));
    env.run(&["revoke", &id, "--yes"]).ok();
    env.generate("alice", &[]);
}

/// A change that committed but whose result could not be written is exit 74 with the change
/// kept, never 70 ("a bug"); so is a read whose result could not be written.
#[cfg(target_os = "linux")]
#[test]
fn a_committed_change_whose_result_cannot_be_written_is_exit_74() {
    let env = Env::new();
    let bob = env.generate("bob", &[]);
    let carol = env.generate("carol", &[]);
    let unwritten = |args: &[&str], stdin: &str| {
        let r = to_dev_full(&env, args, stdin);
        assert_eq!(r.code, 74, "{args:?} to /dev/full: {}", r.stderr);
        assert!(
            r.stderr.contains("could not be written to stdout") && !r.stderr.contains("bug"),
            "{args:?}: {}",
            r.stderr
        );
    };
    unwritten(
        &["update", &Env::id_of(&carol), "--name", "renamed", "--json"],
        "",
    );
    let shown = env.run(&["inspect", &Env::id_of(&carol), "--json"]).json();
    assert_eq!(shown["name"], "renamed", "the update committed");
    unwritten(&["revoke", &Env::id_of(&bob), "--yes", "--json"], "");
    env.verify(&bob, &[]).code(4);
    unwritten(&["purge", "--revoked", "--json"], "");
    env.run(&["inspect", &Env::id_of(&bob)]).code(8);
    unwritten(&["list", "--json"], "");
    unwritten(&["verify", "--stream"], &format!("{carol}\n"));
}

#[test]
fn an_empty_path_flag_is_a_usage_error_not_the_environment_or_the_default() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    for flag in ["--store", "--key-file", "--passphrase-file"] {
        let r = env.run(&[flag, "", "list"]);
        r.code(2);
        assert!(
            r.stderr.contains("the path is empty"),
            "{flag}: {}",
            r.stderr
        );
    }
    // Nothing was created in the default place (HOME is the test's own directory).
    assert!(
        !env.dir.path().join(".local/share/tokman").exists(),
        "a default store appeared"
    );
    let r = env.run_in(&["--store", "", "verify"], &token);
    r.code(2);
}

#[test]
fn oversized_stdin_is_malformed_as_too_long() {
    let env = Env::new();
    let r = env.run_in(&["verify", "--json"], &"A".repeat(200_000));
    r.code(1);
    assert_eq!(r.json()["outcome"], "malformed");
    assert!(r.json()["reason"].as_str().unwrap().contains("too long"));
}

#[test]
fn a_whole_token_given_as_an_id_is_never_echoed() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let body = &token[token.len() - 49..];
    for args in [
        vec!["revoke", token.as_str(), "--yes"],
        vec!["rotate", token.as_str(), "--yes"],
        vec!["inspect", token.as_str()],
    ] {
        let r = env.run(&args);
        r.code(2);
        assert!(
            !r.stderr.contains(body) && !r.stdout.contains(body),
            "{args:?}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("whole token"), "{}", r.stderr);
    }
    env.verify(&token, &[]).ok();
}

#[test]
fn usage_errors_escape_control_characters() {
    let env = Env::new();
    let r = env.run(&["generate", "al\u{1b}[31mice"]);
    r.code(2);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    assert!(r.stderr.contains("\\u{1b}"), "{:?}", r.stderr);
}

#[test]
fn empty_variables_count_as_unset() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    // An exported but empty TOKMAN_PASSPHRASE_FILE does not hide the key file, nor is it an error.
    let r = Env::output({
        let mut c = env.cmd();
        c.env("TOKMAN_PASSPHRASE_FILE", "")
            .args(["verify", "--quiet"])
            .write_stdin(format!("{token}\n"));
        c
    });
    r.ok();
    // An empty TOKMAN_KEY_FILE falls through to the next source (none here: exit 11, not 2).
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_KEY_FILE", "").arg("list");
        c
    });
    r.code(11);
}

#[test]
fn an_empty_list_says_nothing_in_a_pipe() {
    let env = Env::new();
    let r = env.run(&["list", "--expiring-within", "14d"]);
    r.ok();
    assert!(r.stdout.is_empty() && r.stderr.is_empty(), "{r:?}");
}
