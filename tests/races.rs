//! Races between key commands end with a code a script can act on (0, or 11: "that key no
//! longer unlocks the store"), never an internal error, and leave a store that unlocks.

mod common;

use std::process::{Command, Stdio};

use common::{Env, PASS, TOKMAN_VARS};

fn tokman(env: &Env) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tokman"));
    for var in TOKMAN_VARS {
        c.env_remove(var);
    }
    c.env("TOKMAN_STORE", &env.store)
        .env("HOME", env.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn finish(child: std::process::Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn concurrent_passphrase_changes_leave_exactly_one_new_passphrase() {
    let env = Env::with_passphrase();
    let children: Vec<_> = (0..3)
        .map(|i| {
            tokman(&env)
                .env("TOKMAN_PASSPHRASE", PASS)
                .env(
                    "TOKMAN_NEW_PASSPHRASE",
                    format!("new passphrase number {i}"),
                )
                .args(["key", "passphrase"])
                .spawn()
                .unwrap()
        })
        .collect();
    let results: Vec<_> = children.into_iter().map(finish).collect();
    for (code, stderr) in &results {
        assert!([0, 11].contains(code), "exit {code}: {stderr}");
        assert!(!stderr.contains("internal error"), "{stderr}");
    }
    let winners: Vec<usize> = (0..3).filter(|i| results[*i].0 == 0).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let unlocks = |pass: &str| {
        tokman(&env)
            .env("TOKMAN_PASSPHRASE", pass)
            .args(["key", "list", "--json"])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(
        unlocks(&format!("new passphrase number {}", winners[0])),
        Some(0)
    );
    assert_eq!(unlocks(PASS), Some(11), "the old passphrase still unlocks");
}

#[test]
fn adding_a_key_file_while_its_unlocking_slot_is_removed_is_a_locked_store_not_a_bug() {
    for round in 0..6 {
        let env = Env::new();
        // A second way in, to remove the first with.
        let second = env.path("second.key");
        env.run(&["key", "add-file", second.to_str().unwrap()]).ok();
        let added = env.path("added.key");
        let admin = env.key.clone().unwrap();
        let add = tokman(&env)
            .env("TOKMAN_KEY_FILE", &admin)
            .args(["key", "add-file"])
            .arg(&added)
            .spawn()
            .unwrap();
        let remove = tokman(&env)
            .env("TOKMAN_KEY_FILE", &second)
            .args(["key", "remove", "1"])
            .spawn()
            .unwrap();
        let (add_code, add_err) = finish(add);
        let (remove_code, remove_err) = finish(remove);
        assert_eq!(remove_code, 0, "round {round}: remove: {remove_err}");
        assert!(
            [0, 11].contains(&add_code),
            "round {round}: add-file exit {add_code}: {add_err}"
        );
        assert!(!add_err.contains("internal error"), "{add_err}");
        let code = |key: &std::path::Path| {
            tokman(&env)
                .env("TOKMAN_KEY_FILE", key)
                .args(["list"])
                .output()
                .unwrap()
                .status
                .code()
        };
        assert_eq!(code(&second), Some(0), "round {round}");
        assert_eq!(code(&admin), Some(11), "round {round}: the removed key");
        if add_code == 0 {
            assert_eq!(code(&added), Some(0), "round {round}: the added key");
        } else {
            // Nothing useless is left where the key file was to be.
            assert!(
                !added.exists(),
                "round {round}: a key file that unlocks nothing was left: {add_err}"
            );
        }
    }
}
