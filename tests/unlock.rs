//! Where the key comes from, as scripts and cron meet it: an explicit flag beats the
//! environment, pair by pair; a key that does not open the store says which source it came
//! from; empty variables are unset. And new passphrases: a weak one from the environment is
//! accepted with a warning, and `init` suggests a second way in. `key remove` needs `--yes`
//! without a terminal, `key passphrase` keeps its slot's label, and read-only runs count as a
//! use of their slot.

mod common;

use std::path::{Path, PathBuf};

use common::{Env, PASS, Run};

/// A store unlocked both by `PASS` and by the key file `admin.key`, with nothing in the
/// environment: each test names its sources itself.
struct Both {
    env: Env,
    key: PathBuf,
    /// A key file of another store: well-formed, private, and wrong here.
    foreign_key: PathBuf,
    /// A private file holding `PASS`.
    pass_file: PathBuf,
    /// A private file holding a wrong passphrase.
    wrong_pass_file: PathBuf,
    _other: Env,
}

fn private_file(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_path_buf()
}

impl Both {
    fn new() -> Both {
        let env = Env::with_passphrase();
        let key = env.path("admin.key");
        env.run(&["key", "add-file", key.to_str().unwrap()]).ok();
        let other = Env::new();
        let foreign_key = other.key.clone().unwrap();
        let pass_file = private_file(&env.path("pass.txt"), &format!("{PASS}\n"));
        let wrong_pass_file = private_file(&env.path("wrong.txt"), "not the passphrase at all\n");
        Both {
            env,
            key,
            foreign_key,
            pass_file,
            wrong_pass_file,
            _other: other,
        }
    }

    /// `tokman ARGS list` with exactly these variables (and the store).
    fn list(&self, args: &[&str], vars: &[(&str, &Path)]) -> Run {
        let mut c = self.env.bare();
        for (k, v) in vars {
            c.env(k, v);
        }
        c.args(args).arg("list").write_stdin("");
        Env::output(c)
    }
}

/// Variables for a run: name and value.
type Vars<'a> = Vec<(&'a str, &'a Path)>;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn each_unlock_flag_beats_each_variable() {
    let b = Both::new();
    let wrong_pp: &Path = Path::new("not the passphrase at all");
    // Every wrong source alone is refused, so that a pass below is the flag's doing.
    b.list(&[], &[("TOKMAN_KEY_FILE", &b.foreign_key)]).code(11);
    b.list(&[], &[("TOKMAN_PASSPHRASE_FILE", &b.wrong_pass_file)])
        .code(11);
    b.list(&[], &[("TOKMAN_PASSPHRASE", wrong_pp)]).code(11);
    b.list(&["--key-file", s(&b.foreign_key)], &[]).code(11);
    b.list(&["--passphrase-file", s(&b.wrong_pass_file)], &[])
        .code(11);

    for flag in [
        ["--key-file", s(&b.key)],
        ["--passphrase-file", s(&b.pass_file)],
    ] {
        for var in [
            ("TOKMAN_KEY_FILE", b.foreign_key.as_path()),
            ("TOKMAN_PASSPHRASE_FILE", b.wrong_pass_file.as_path()),
            ("TOKMAN_PASSPHRASE", wrong_pp),
        ] {
            let r = b.list(&flag, &[var]);
            assert_eq!(r.code, 0, "{flag:?} with {}: {}", var.0, r.stderr);
        }
    }
    // Between the two flags, the key file comes first.
    b.list(
        &[
            "--passphrase-file",
            s(&b.wrong_pass_file),
            "--key-file",
            s(&b.key),
        ],
        &[],
    )
    .ok();
    // After the subcommand too.
    let mut c = b.env.bare();
    c.env("TOKMAN_KEY_FILE", &b.foreign_key)
        .args(["list", "--passphrase-file"])
        .arg(&b.pass_file)
        .write_stdin("");
    Env::output(c).ok();
}

#[test]
fn the_variables_apply_in_order_key_file_then_passphrase_file_then_passphrase() {
    let b = Both::new();
    let wrong_pp: &Path = Path::new("not the passphrase at all");
    b.list(
        &[],
        &[
            ("TOKMAN_KEY_FILE", &b.key),
            ("TOKMAN_PASSPHRASE_FILE", &b.wrong_pass_file),
            ("TOKMAN_PASSPHRASE", wrong_pp),
        ],
    )
    .ok();
    b.list(
        &[],
        &[
            ("TOKMAN_PASSPHRASE_FILE", &b.pass_file),
            ("TOKMAN_PASSPHRASE", wrong_pp),
        ],
    )
    .ok();
    // And the other way round each is refused: the first one present is the only one tried.
    b.list(
        &[],
        &[
            ("TOKMAN_KEY_FILE", &b.foreign_key),
            ("TOKMAN_PASSPHRASE_FILE", &b.pass_file),
        ],
    )
    .code(11);
    b.list(
        &[],
        &[
            ("TOKMAN_PASSPHRASE_FILE", &b.wrong_pass_file),
            ("TOKMAN_PASSPHRASE", Path::new(PASS)),
        ],
    )
    .code(11);
}

#[test]
fn the_store_flag_beats_tokman_store() {
    let here = Env::new();
    let there = Env::new();
    there.generate("someone-there", &[]);
    let mut c = here.cmd();
    c.env("TOKMAN_STORE", &there.store)
        .env("TOKMAN_KEY_FILE", here.key.as_ref().unwrap())
        .arg("--store")
        .arg(&here.store)
        .args(["list", "--json"]);
    let r = Env::output(c);
    r.ok();
    assert_eq!(r.json(), serde_json::json!([]), "listed the other store");
}

#[test]
fn empty_variables_are_unset() {
    let b = Both::new();
    let empty = Path::new("");
    b.list(
        &[],
        &[
            ("TOKMAN_KEY_FILE", empty),
            ("TOKMAN_PASSPHRASE_FILE", empty),
            ("TOKMAN_PASSPHRASE", Path::new(PASS)),
        ],
    )
    .ok();
    b.list(&["--key-file", s(&b.key)], &[("TOKMAN_STORE", empty)])
        .code(10);
}

#[test]
fn a_wrong_key_names_its_source() {
    let b = Both::new();
    let cases: Vec<(Vec<&str>, Vars, String)> = vec![
        (
            vec![],
            vec![("TOKMAN_KEY_FILE", &b.foreign_key)],
            format!(
                "error: the key file from TOKMAN_KEY_FILE ({}) does not unlock this store",
                b.foreign_key.display()
            ),
        ),
        (
            vec!["--key-file", s(&b.foreign_key)],
            vec![],
            format!(
                "error: the key file from --key-file ({}) does not unlock this store",
                b.foreign_key.display()
            ),
        ),
        (
            vec!["--passphrase-file", s(&b.wrong_pass_file)],
            vec![],
            format!(
                "error: the passphrase from --passphrase-file ({}) does not unlock this store",
                b.wrong_pass_file.display()
            ),
        ),
        (
            vec![],
            vec![("TOKMAN_PASSPHRASE_FILE", &b.wrong_pass_file)],
            format!(
                "error: the passphrase from TOKMAN_PASSPHRASE_FILE ({}) does not unlock this store",
                b.wrong_pass_file.display()
            ),
        ),
        (
            vec![],
            vec![("TOKMAN_PASSPHRASE", Path::new("wrong horse"))],
            "error: the passphrase from TOKMAN_PASSPHRASE does not unlock this store".into(),
        ),
    ];
    for (args, vars, first_line) in cases {
        let r = b.list(&args, &vars);
        r.code(11);
        assert_eq!(r.stderr.lines().next(), Some(first_line.as_str()), "{r:?}");
        assert!(!r.stderr.contains("wrong horse"), "never the passphrase");
        assert!(
            !r.stderr.contains("not the passphrase"),
            "never the passphrase"
        );
    }
    // The surprise of issue 12: a flag given, a variable also set. The hint says which was not
    // used and why.
    let r = b.list(
        &["--passphrase-file", s(&b.wrong_pass_file)],
        &[("TOKMAN_KEY_FILE", &b.key)],
    );
    r.code(11);
    assert!(
        r.stderr.contains(
            "hint: TOKMAN_KEY_FILE is set too, but not used: --passphrase-file comes first"
        ),
        "{}",
        r.stderr
    );
    // A key file for a store with no key-file slot says that, with its source.
    let only_pass = Env::with_passphrase();
    let mut c = only_pass.bare();
    c.env("TOKMAN_KEY_FILE", &b.key).arg("list").write_stdin("");
    let r = Env::output(c);
    r.code(11);
    assert!(
        r.stderr.starts_with(&format!(
            "error: the key file from TOKMAN_KEY_FILE ({}) cannot unlock this store: it has no key-file slot",
            b.key.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn init_suggests_a_second_way_to_unlock() {
    let env = Env::empty();
    let mut c = env.bare();
    c.env("TOKMAN_NEW_PASSPHRASE", PASS).arg("init");
    let r = Env::output(c);
    r.ok();
    assert!(r.stdout.is_empty(), "talk goes to stderr");
    assert!(
        r.stderr.contains(
            "tip: add a second way to unlock with `tokman key add-file PATH` — if every key is lost the store cannot be opened"
        ),
        "{}",
        r.stderr
    );
    let env = Env::empty();
    let key = env.path("a.key");
    let mut c = env.bare();
    c.args(["init", "--new-key-file"]).arg(&key);
    let r = Env::output(c);
    r.ok();
    assert!(
        r.stderr.contains(&format!(
            "tip: add a passphrase too with `tokman key passphrase --key-file {}` — if every key is lost",
            key.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_weak_new_passphrase_from_the_environment_is_accepted_with_a_warning() {
    let env = Env::empty();
    let mut c = env.bare();
    c.env("TOKMAN_NEW_PASSPHRASE", "short").arg("init");
    let r = Env::output(c);
    r.ok();
    assert!(
        r.stderr.contains(
            "warning: the new passphrase from TOKMAN_NEW_PASSPHRASE is weak: it is shorter than 12 characters"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("short\n") && !r.stderr.contains("\"short\""));
    let mut c = env.bare();
    c.env("TOKMAN_PASSPHRASE", "short").args(["key", "list"]);
    Env::output(c).ok();

    // `key passphrase` and `init` from TOKMAN_PASSPHRASE: the same.
    let mut c = env.bare();
    c.env("TOKMAN_PASSPHRASE", "short")
        .env("TOKMAN_NEW_PASSPHRASE", "111111111111111")
        .args(["key", "passphrase"]);
    let r = Env::output(c);
    r.ok();
    assert!(
        r.stderr.contains("is weak: it is only digits"),
        "{}",
        r.stderr
    );
    let other = Env::empty();
    let mut c = other.bare();
    c.env("TOKMAN_PASSPHRASE", "aaaaaaaaaaaaaaa").arg("init");
    let r = Env::output(c);
    r.ok();
    assert!(
        r.stderr.contains(
            "warning: the new passphrase from TOKMAN_PASSPHRASE is weak: it uses only 1 different character"
        ),
        "{}",
        r.stderr
    );

    // A strong one: no warning.
    let strong = Env::with_passphrase();
    let mut c = strong.cmd();
    c.env("TOKMAN_NEW_PASSPHRASE", "another long passphrase")
        .args(["key", "passphrase"]);
    let r = Env::output(c);
    r.ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

fn slots(env: &Env) -> Vec<serde_json::Value> {
    let r = env.run(&["key", "list", "--json"]);
    r.ok();
    r.json().as_array().unwrap().clone()
}

#[test]
fn key_remove_needs_yes_without_a_terminal() {
    let env = Env::new();
    let second = env.path("second.key");
    env.run(&["key", "add-file", s(&second)]).ok();
    let r = env.run(&["key", "remove", "2"]);
    r.code(2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(slots(&env).len(), 2, "nothing was removed");
    // Checked before unlocking: no key needed to be told.
    let mut c = env.bare();
    c.args(["key", "remove", "2"]).write_stdin("");
    Env::output(c).code(2);
    env.run(&["key", "remove", "2", "--yes"]).ok();
    env.run(&["key", "remove", "-y", "2"]).code(8);
    assert_eq!(slots(&env).len(), 1);
}

#[test]
fn key_passphrase_keeps_the_slot_label() {
    let env = Env::with_passphrase();
    let before = slots(&env);
    assert_eq!(before.len(), 1);
    let label = before[0]["label"].clone();
    assert_eq!(label, "init");
    let mut c = env.cmd();
    c.env("TOKMAN_NEW_PASSPHRASE", "a brand new passphrase")
        .args(["key", "passphrase"]);
    Env::output(c).ok();
    let mut c = env.bare();
    c.env("TOKMAN_PASSPHRASE", "a brand new passphrase")
        .args(["key", "list", "--json"]);
    let r = Env::output(c);
    r.ok();
    let after = r.json();
    let after = after.as_array().unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0]["slot"], before[0]["slot"], "a new slot");
    assert_eq!(after[0]["label"], label, "{after:?}");
}

#[test]
fn read_only_runs_count_as_a_use_of_their_slot() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let id = Env::id_of(&token);
    let reads: [&[&str]; 5] = [
        &["list"],
        &["list", "--json"],
        &["inspect", &id],
        &["audit"],
        &["key", "list"],
    ];
    for (i, args) in reads.iter().enumerate() {
        let key = env.path(&format!("cron{i}.key"));
        let r = env.run(&["key", "add-file", s(&key), "--label", &format!("cron{i}")]);
        r.ok();
        let slot_of = |slots: &[serde_json::Value]| {
            slots
                .iter()
                .find(|s| s["label"] == format!("cron{i}"))
                .cloned()
                .unwrap()
        };
        assert_eq!(
            slot_of(&slots(&env))["last_used_at"],
            serde_json::Value::Null
        );
        let mut c = env.bare();
        c.env("TOKMAN_KEY_FILE", &key).args(*args).write_stdin("");
        Env::output(c).ok();
        let used = slot_of(&slots(&env));
        assert!(
            used["last_used_at"].is_string(),
            "tokman {} did not record its slot's use: {used}",
            args.join(" ")
        );
    }
}
