//! `verify --stream`: one `verify --json` answer per input line, in order, flushed per line, and
//! every use counted exactly, beside other `verify` processes too.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::Env;
use serde_json::Value;

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn use_count(env: &Env, token: &str) -> u64 {
    let r = env.run(&["inspect", &Env::id_of(token), "--json"]);
    r.ok();
    r.json()["use_count"]
        .as_u64()
        .expect("use_count is a number")
}

#[test]
fn each_line_gets_its_verify_json_answer_in_order() {
    let env = Env::new();
    let good = env.generate("alice", &["--scope", "posts:read"]);
    let gone = env.generate("bob", &[]);
    env.run(&["revoke", &Env::id_of(&gone), "--yes"]).ok();
    let stranger = Env::new().generate("carol", &[]);

    let input = format!("{good}\nnot a token at all\n  {good}  \n{gone}\n{stranger}\n\n");
    let r = env.run_in(&["verify", "--stream"], &input);
    r.ok();
    let got = lines(&r.stdout);
    let outcomes: Vec<&str> = got.iter().map(|v| v["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        [
            "valid",
            "malformed",
            "valid",
            "revoked",
            "invalid",
            "malformed"
        ]
    );

    // Each answer is the document `verify --json` gives for the same token.
    for (token, answer) in [(&good, &got[0]), (&gone, &got[3]), (&stranger, &got[4])] {
        let single = env.verify(token, &["--json"]);
        assert_eq!(&single.json(), answer, "stream answer for {token}");
    }
    assert_eq!(got[0]["id"], Env::id_of(&good).as_str());
    assert_eq!(got[0]["user"], "alice");
    assert_eq!(got[0]["scopes"], serde_json::json!(["posts:read"]));
    assert_eq!(got[1]["valid"], false);
    assert_eq!(got[1]["id"], Value::Null);
    assert!(!r.stdout.contains(&good), "an answer never echoes a secret");

    // Two valid uses in the stream and one single verify: three counted, the refusals none.
    assert_eq!(use_count(&env, &good), 3);
    assert_eq!(use_count(&env, &gone), 0);
}

#[test]
fn answers_are_flushed_line_by_line() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokman"))
        .args(["verify", "--stream"])
        .env_remove("TOKMAN_PASSPHRASE")
        .env_remove("TOKMAN_PASSPHRASE_FILE")
        .env("TOKMAN_STORE", &env.store)
        .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
        .env("HOME", env.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tokman");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.expect("read stdout")).is_err() {
                break;
            }
        }
    });
    // Stdin stays open: an answer must arrive before the next line is written.
    for (line, outcome) in [
        (token.as_str(), "valid"),
        ("garbage", "malformed"),
        (token.as_str(), "valid"),
    ] {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let answer = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "no answer to {line:?} while stdin stays open: output is not flushed per line"
                )
            });
        let v: Value = serde_json::from_str(&answer).expect("a JSON line");
        assert_eq!(v["outcome"], outcome);
    }
    drop(stdin);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "exit 0 at end of input");
    assert!(
        rx.recv_timeout(Duration::from_secs(5)).is_err(),
        "nothing after the last answer"
    );
    assert_eq!(use_count(&env, &token), 2);
}

#[test]
fn scope_ip_and_origin_apply_to_every_line() {
    let env = Env::new();
    let token = env.generate(
        "alice",
        &[
            "--scope",
            "posts:read",
            "--allow-ip",
            "10.0.0.0/8",
            "--allow-origin",
            "https://app.example.com",
        ],
    );
    let twice = format!("{token}\n{token}\n");
    let all = [
        "--scope",
        "posts:read",
        "--ip",
        "10.1.2.3",
        "--origin",
        "https://app.example.com",
    ];
    let cases: [(Vec<&str>, &str); 4] = [
        (all.to_vec(), "valid"),
        (
            vec![
                "--scope",
                "admin",
                "--ip",
                "10.1.2.3",
                "--origin",
                "https://app.example.com",
            ],
            "denied",
        ),
        (
            vec![
                "--scope",
                "posts:read",
                "--ip",
                "192.168.1.1",
                "--origin",
                "https://app.example.com",
            ],
            "denied",
        ),
        (
            vec![
                "--scope",
                "posts:read",
                "--ip",
                "10.1.2.3",
                "--origin",
                "https://evil.example.com",
            ],
            "denied",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["verify", "--stream"];
        args.extend(flags.iter().copied());
        let r = env.run_in(&args, &twice);
        r.ok();
        let got = lines(&r.stdout);
        assert_eq!(got.len(), 2);
        for v in &got {
            assert_eq!(v["outcome"], expected, "with {flags:?}");
        }
    }
    // Only the two lines checked with every flag matching were uses.
    assert_eq!(use_count(&env, &token), 2);
}

#[test]
fn rate_limits_stay_exact_beside_separate_verifies() {
    let env = Env::new();
    let token = env.generate("alice", &["--rate-limit", "30/h"]);
    let stream_input = format!("{token}\n").repeat(20);
    let (valid_stream, valid_single) = std::thread::scope(|s| {
        let stream = s.spawn(|| {
            let r = env.run_in(&["verify", "--stream"], &stream_input);
            r.ok();
            lines(&r.stdout)
                .iter()
                .map(|v| {
                    let o = v["outcome"].as_str().unwrap().to_owned();
                    assert!(o == "valid" || o == "rate_limited", "unexpected {o}");
                    usize::from(o == "valid")
                })
                .sum::<usize>()
        });
        let singles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..5)
                        .map(|_| {
                            let r = env.verify(&token, &["--quiet"]);
                            assert!(r.code == 0 || r.code == 6, "exit {}: {}", r.code, r.stderr);
                            usize::from(r.code == 0)
                        })
                        .sum::<usize>()
                })
            })
            .collect();
        let single: usize = singles.into_iter().map(|h| h.join().unwrap()).sum();
        (stream.join().unwrap(), single)
    });
    // 40 attempts at a limit of 30 per hour: exactly 30 pass, whichever process made them.
    assert_eq!(valid_stream + valid_single, 30);
    assert_eq!(use_count(&env, &token), 30);
}
