//! A token pasted in the wrong place never comes back whole: every usage error (clap's own
//! "invalid value" and "unexpected argument" among them) and every message on stderr shows
//! anything of a token's shape as its id and `_…`. stderr ends up in terminals, shell
//! scrollback, CI logs and cron mail, so a secret there is a leaked secret.

mod common;

use std::process::Output;

use common::{Env, Run};

/// The part of a token that is secret: everything after its public id.
fn body(token: &str) -> &str {
    &token[Env::id_of(token).len() + 1..]
}

/// Nothing of the secret is shown: not the whole token, not its 43 random characters, not even
/// any 12 characters in a row of its body.
#[track_caller]
fn assert_secret_hidden(what: &str, text: &str, token: &str) {
    let body = body(token);
    assert!(
        !text.contains(token),
        "{what}: the whole token shown:\n{text}"
    );
    assert!(
        !text.contains(&body[..43]),
        "{what}: the random part shown:\n{text}"
    );
    for piece in body.as_bytes().windows(12) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(
            !text.contains(piece),
            "{what}: `{piece}` of the secret shown:\n{text}"
        );
    }
}

/// The token was echoed, as its id and `_…`.
#[track_caller]
fn assert_shown_as_id(what: &str, text: &str, token: &str) {
    let id = Env::id_of(token);
    assert!(
        text.contains(&format!("{id}_…")),
        "{what}: expected `{id}_…` in:\n{text}"
    );
}

fn run_output(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `tokman ARGS` run in the store's directory (so a path argument lands there), empty stdin.
fn run_in_dir(env: &Env, args: &[String]) -> Run {
    run_output(
        env.cmd()
            .args(args)
            .current_dir(env.dir.path())
            .write_stdin("")
            .output()
            .expect("run"),
    )
}

/// Each line with every `T` replaced by the token.
fn with_token(args: &[&str], token: &str) -> Vec<String> {
    args.iter().map(|a| a.replace('T', token)).collect()
}

#[test]
fn usage_errors_show_a_pasted_token_as_its_id() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    // Each argument holds `T` where the token goes. All are refused by the argument parser.
    let lines: &[&[&str]] = &[
        // The four of the report: clap quoted the whole secret.
        &["verify", "T", "T"],
        &["list", "T"],
        &["verify", "--ip", "T"],
        &["audit", "--check", "--expect-head", "T"],
        // An unknown subcommand, an unknown flag, help for an unknown command.
        &["T"],
        &["--T"],
        &["list", "--T"],
        &["help", "T"],
        // Every kind of value tokman parses, given the token (with a bad character where the
        // token alone would be accepted).
        &["generate", "bob", "--scope", "T"],
        &["generate", "bob", "--scope", "T!"],
        &["generate", "bob", "--scope", "posts:T"],
        &["verify", "--scope", "T"],
        &["verify", "--user", "T\u{7}"],
        &["generate", "T\n"],
        &["generate", "bob", "--name", "T\t"],
        &["generate", "bob", "--description", "T\u{1b}[2J"],
        &["generate", "bob", "--expires-in", "T"],
        &["generate", "bob", "--rate-limit", "T"],
        &["generate", "bob", "--allow-ip", "T"],
        &["generate", "bob", "--allow-origin", "T"],
        &["verify", "--origin", "T"],
        &["verify", "--ip=T"],
        &["revoke", "--user", "bob", "--reason", "T\r", "--yes"],
        &["init", "--prefix", "T"],
        &["init", "--max-lifetime", "T"],
        &["init", "--default-rate-limit", "T"],
        &["list", "--status", "T"],
        &["list", "--expiring-within", "T"],
        &["list", "--unused-for", "T"],
        &["audit", "--since", "T"],
        &["key", "remove", "T"],
        &["key", "add-file", "new.key", "--label", "T\u{1}"],
        &["completions", "T"],
        // The token glued to other text, or one character too many or too few.
        &["list", "xT"],
        &["list", "TX"],
        &["list", "'T'"],
    ];
    for line in lines {
        let args = with_token(line, &token);
        let what = format!("tokman {}", line.join(" "));
        let r = run_in_dir(&env, &args);
        assert_eq!(r.code, 2, "{what}: exit code\nstderr:\n{}", r.stderr);
        assert_secret_hidden(&what, &r.stderr, &token);
        assert_secret_hidden(&what, &r.stdout, &token);
        assert_shown_as_id(&what, &r.stderr, &token);
    }
    // One character short is still hidden.
    let short = &token[..token.len() - 1];
    let r = run_in_dir(&env, &["list".into(), short.into()]);
    r.code(2);
    assert!(!r.stderr.contains(&body(short)[..20]), "{}", r.stderr);
    assert_shown_as_id("a truncated token", &r.stderr, &token);
    // A zero-width space or soft hyphen pasted into the body does not split it into two
    // harmless-looking halves.
    for mark in ['\u{200b}', '\u{ad}'] {
        let cut = token.len() - 24;
        let split = format!("{}{mark}{}", &token[..cut], &token[cut..]);
        let r = run_in_dir(&env, &["list".into(), split]);
        r.code(2);
        assert_secret_hidden("a token with a zero-width space", &r.stderr, &token);
        assert_shown_as_id("a token with a zero-width space", &r.stderr, &token);
    }
}

#[test]
fn tokmans_own_messages_show_a_token_as_its_id() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let id = Env::id_of(&token);

    // A path given as the store: "no store at …".
    let r = Env::output({
        let mut c = env.cmd();
        c.env("TOKMAN_STORE", env.path(&token)).arg("list");
        c
    });
    r.code(10);
    assert_secret_hidden("TOKMAN_STORE", &r.stderr, &token);
    assert_shown_as_id("TOKMAN_STORE", &r.stderr, &token);
    let r = Env::output({
        let mut c = env.cmd();
        c.arg("--store").arg(env.path(&token)).arg("list");
        c
    });
    r.code(10);
    assert_secret_hidden("--store", &r.stderr, &token);
    assert_shown_as_id("--store", &r.stderr, &token);

    // A user name that is a token: "… has no active token".
    let r = env.run(&["revoke", "--user", &token, "--yes"]);
    r.code(8);
    assert_secret_hidden("revoke --user", &r.stderr, &token);
    assert_shown_as_id("revoke --user", &r.stderr, &token);

    // A token issued for a user named by a token: the summary on stderr names the user.
    let r = env.run(&["generate", &token]);
    r.ok();
    assert_secret_hidden("generate TOKEN", &r.stderr, &token);
    assert_shown_as_id("generate TOKEN", &r.stderr, &token);
    // The table shows that user as an id too; only --json keeps the exact string.
    let r = env.run(&["list"]);
    r.ok();
    assert_secret_hidden("list", &r.stdout, &token);
    assert_shown_as_id("list", &r.stdout, &token);
    let users: Vec<String> = env
        .run(&["list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["user"].as_str().unwrap().to_owned())
        .collect();
    assert!(users.contains(&token), "{users:?}");

    // Whole tokens where an id belongs: refused without echoing them.
    for args in [
        vec!["inspect", token.as_str()],
        vec!["rotate", token.as_str(), "--yes"],
        vec!["revoke", token.as_str(), "--yes"],
        vec!["revoke", id.as_str(), token.as_str(), "--yes"],
    ] {
        let r = env.run(&args);
        r.code(2);
        assert_secret_hidden(args[0], &r.stderr, &token);
    }
}

#[test]
fn a_required_scope_shaped_like_a_token_is_hidden_in_the_denial_and_the_audit() {
    // With a one-letter prefix a token is 64 characters, which is a valid scope.
    let env = Env::empty();
    let key = env.path("k.key");
    env.bare()
        .args(["init", "--prefix", "x", "--new-key-file"])
        .arg(&key)
        .assert()
        .success();
    let env = Env {
        key: Some(key),
        ..env
    };
    let token = env.generate("alice", &["--scope", "posts:read"]);
    assert_eq!(token.len(), 64);
    let r = env.verify(&token, &["--scope", &token]);
    r.code(5);
    assert_secret_hidden("verify --scope", &r.stderr, &token);
    assert_shown_as_id("verify --scope", &r.stderr, &token);
    let r = env.run(&["audit"]);
    r.ok();
    assert_secret_hidden("audit", &r.stdout, &token);
    assert_shown_as_id("audit", &r.stdout, &token);
}

/// Every position of a few real command lines, with the token inserted there or replacing the
/// argument there: whatever the parser or the command makes of it, stderr never holds the
/// secret, and nothing panics.
#[test]
fn a_token_in_any_argument_position_never_reaches_stderr() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let head = "0".repeat(64);
    let lines: &[&[&str]] = &[
        &[
            "generate",
            "bob",
            "--name",
            "n",
            "--scope",
            "a:b",
            "--expires-in",
            "1d",
        ],
        &[
            "verify",
            "--scope",
            "a",
            "--ip",
            "10.0.0.1",
            "--origin",
            "https://a.example",
            "--user",
            "bob",
        ],
        &[
            "list",
            "--user",
            "bob",
            "--status",
            "all",
            "--expiring-within",
            "1d",
            "--unused-for",
            "2d",
        ],
        &["audit", "--since", "1d", "--json"],
        &["audit", "--check", "--expect-head", head.as_str()],
        &["revoke", "--user", "bob", "--reason", "r", "--yes"],
        &["rotate", "--user", "carol", "--expires-in", "1d", "--yes"],
        &["key", "add-file", "other.key", "--label", "l"],
        &["purge", "--revoked", "--dry-run"],
    ];
    let mut runs = 0;
    for line in lines {
        for at in 0..=line.len() {
            let mut inserted: Vec<String> = line.iter().map(|s| s.to_string()).collect();
            inserted.insert(at, token.clone());
            let mut replaced: Vec<String> = line.iter().map(|s| s.to_string()).collect();
            if at < line.len() {
                replaced[at] = token.clone();
            }
            for args in [inserted, replaced] {
                let r = run_in_dir(&env, &args);
                let what = format!("tokman {}", args.join(" "));
                assert!(
                    ![70, 101, -1].contains(&r.code),
                    "{what}: exit {}\n{}",
                    r.code,
                    r.stderr
                );
                assert_secret_hidden(&what, &r.stderr, &token);
                runs += 1;
            }
        }
    }
    assert!(runs > 100, "{runs}");
}

#[test]
fn help_and_version_still_go_to_stdout_and_exit_0() {
    let env = Env::new();
    for args in [
        &["--help"][..],
        &["--version"],
        &["list", "--help"],
        &["help", "verify"],
    ] {
        let r = env.run(args);
        r.ok();
        assert!(
            !r.stdout.is_empty() && r.stderr.is_empty(),
            "{args:?}: {r:?}"
        );
    }
    // No subcommand at all: the help, on stderr, as the usage error it is.
    let r = env.run(&[]);
    r.code(2);
    assert!(r.stderr.contains("Usage:"), "{}", r.stderr);
}
