//! The world, resolved once at start-up: store path, how to unlock, whether each standard stream
//! is a terminal, colour. Commands receive a [`Config`] and never read `std::env` or probe the
//! terminal themselves.
//!
//! Flags and environment are read apart (clap reads no variable), so that an explicit flag
//! always beats the environment, whatever else is set: `--key-file`, then `--passphrase-file`,
//! then `TOKMAN_KEY_FILE`, `TOKMAN_PASSPHRASE_FILE`, `TOKMAN_PASSPHRASE`, then a prompt on a
//! terminal. An empty value means unset, so an exported but empty `TOKMAN_KEY_FILE=` in a cron
//! line is not an error. Never holds a secret in anything it prints: a source is named by its
//! flag or variable and path, never by its contents.

use std::ffi::OsString;
use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::Global;
use crate::cmd::{say, warn};
use crate::prompt::{self, Prompter};
use tokman::crypto::Passphrase;
use tokman::error::{Error, Result};
use tokman::key_file;
use tokman::store::{self, Location, Store, Unlock, Unlocked};

/// How many passphrases a person may type at the prompt before the command gives up, as sudo.
pub const PROMPT_TRIES: u32 = 3;

/// Where a setting came from: its flag, or the environment variable that stands in for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Flag(&'static str),
    Env(&'static str),
}

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Given::Flag(name) | Given::Env(name) => f.write_str(name),
        }
    }
}

/// A file that unlocks the store, and where it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub given: Given,
}

/// Where the unlock comes from, first that applies (flags before the environment).
#[derive(Debug)]
pub enum UnlockSource {
    KeyFile(SourceFile),
    PassphraseFile(SourceFile),
    /// `TOKMAN_PASSPHRASE`.
    PassphraseEnv(Passphrase),
    Prompt,
    Nothing,
}

impl UnlockSource {
    /// The source as a message names it: "the key file from TOKMAN_KEY_FILE (/etc/a.key)".
    fn describe(&self) -> String {
        match self {
            UnlockSource::KeyFile(f) => {
                format!("the key file from {} ({})", f.given, f.path.display())
            }
            UnlockSource::PassphraseFile(f) => {
                format!("the passphrase from {} ({})", f.given, f.path.display())
            }
            UnlockSource::PassphraseEnv(_) => "the passphrase from TOKMAN_PASSPHRASE".into(),
            UnlockSource::Prompt => "the passphrase typed at the prompt".into(),
            UnlockSource::Nothing => "nothing".into(),
        }
    }
}

/// Which standard streams are terminals.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
}

#[derive(Debug)]
pub struct Config {
    pub store: Location,
    pub unlock: UnlockSource,
    /// Unlock sources that were set too but come after [`Config::unlock`], by name: a wrong key
    /// then says which one was not used, the usual surprise.
    pub unused_sources: Vec<&'static str>,
    /// `TOKMAN_NEW_PASSPHRASE`, for `init` and `key passphrase`.
    pub new_passphrase: Option<Passphrase>,
    pub terminal: Terminal,
    /// Colour on stdout: a terminal and no `NO_COLOR`.
    pub color: bool,
}

impl Config {
    /// Read flags, environment and terminals once.
    pub fn resolve(global: &Global) -> Result<Config> {
        let terminal = Terminal {
            stdin: std::io::stdin().is_terminal(),
            stdout: std::io::stdout().is_terminal(),
        };
        Config::from_parts(global, |name| std::env::var_os(name), terminal)
    }

    /// [`Config::resolve`] with the environment and terminals given, so the order can be tested
    /// without touching the process's own.
    pub fn from_parts(
        global: &Global,
        env: impl Fn(&str) -> Option<OsString>,
        terminal: Terminal,
    ) -> Result<Config> {
        let flag = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let var_path = |name: &str| var(name).map(PathBuf::from);
        // A passphrase that is not UTF-8 cannot be typed at a prompt either: treated as unset,
        // as before, rather than guessed at.
        let var_text = |name: &str| {
            var(name)
                .and_then(|v| v.into_string().ok())
                .map(Passphrase::new)
        };

        let from_flag = flag(&global.store).is_some();
        let store = match flag(&global.store).or_else(|| var_path("TOKMAN_STORE")) {
            Some(p) => Location::parse(p.as_os_str())?,
            None => Location::Sqlite(default_store_path()?),
        };
        if let Location::Postgres(t) = &store
            && from_flag
            && t.url_has_password()
        {
            warn(
                "the --store URL holds a password, which every user can see in `ps`; put it in PGPASSWORD or ~/.pgpass instead",
            );
        }

        let file = |path, given| Some(SourceFile { path, given });
        let key_flag = flag(&global.key_file).and_then(|p| file(p, Given::Flag("--key-file")));
        let pass_flag =
            flag(&global.passphrase_file).and_then(|p| file(p, Given::Flag("--passphrase-file")));
        let key_env =
            var_path("TOKMAN_KEY_FILE").and_then(|p| file(p, Given::Env("TOKMAN_KEY_FILE")));
        let pass_env = var_path("TOKMAN_PASSPHRASE_FILE")
            .and_then(|p| file(p, Given::Env("TOKMAN_PASSPHRASE_FILE")));
        let pass_text = var_text("TOKMAN_PASSPHRASE");

        // In order; the first present one unlocks, the others are only named in hints.
        let mut candidates: Vec<(&'static str, Option<UnlockSource>)> = vec![
            ("--key-file", key_flag.map(UnlockSource::KeyFile)),
            (
                "--passphrase-file",
                pass_flag.map(UnlockSource::PassphraseFile),
            ),
            ("TOKMAN_KEY_FILE", key_env.map(UnlockSource::KeyFile)),
            (
                "TOKMAN_PASSPHRASE_FILE",
                pass_env.map(UnlockSource::PassphraseFile),
            ),
            (
                "TOKMAN_PASSPHRASE",
                pass_text.map(UnlockSource::PassphraseEnv),
            ),
        ];
        let first = candidates.iter().position(|(_, s)| s.is_some());
        let unlock = match first {
            Some(i) => candidates[i].1.take().expect("present"),
            None if terminal.stdin => UnlockSource::Prompt,
            None => UnlockSource::Nothing,
        };
        let unused_sources = candidates
            .iter()
            .filter(|(_, s)| s.is_some())
            .map(|(name, _)| *name)
            .collect();

        let no_color = var("NO_COLOR").is_some();
        Ok(Config {
            store,
            unlock,
            unused_sources,
            new_passphrase: var_text("TOKMAN_NEW_PASSPHRASE"),
            color: terminal.stdout && !no_color,
            terminal,
        })
    }

    /// Unlock an open store from the configured source. Returns the way it was unlocked too,
    /// for commands that add slots (they must recover the master key again).
    pub fn unlock(&self, store: &mut Store, prompter: &dyn Prompter) -> Result<(Unlocked, Unlock)> {
        let how = match &self.unlock {
            UnlockSource::KeyFile(f) => Unlock::KeyFile(store::read_key_file(&f.path)?),
            UnlockSource::PassphraseFile(f) => {
                Unlock::Passphrase(key_file::read_passphrase_file(&f.path)?)
            }
            UnlockSource::PassphraseEnv(p) => Unlock::Passphrase(copy(p)),
            UnlockSource::Prompt => return self.unlock_at_prompt(store, prompter),
            UnlockSource::Nothing => {
                return Err(locked_without_source(
                    "store is locked: no key file, passphrase file or passphrase was given, and there is no terminal to ask on",
                ));
            }
        };
        let unlocked = store.unlock(&how).map_err(|e| self.name_source(e))?;
        Ok((unlocked, how))
    }

    /// Ask for the passphrase, up to [`PROMPT_TRIES`] times, saying how many tries are left.
    fn unlock_at_prompt(
        &self,
        store: &mut Store,
        prompter: &dyn Prompter,
    ) -> Result<(Unlocked, Unlock)> {
        if !store.has_passphrase_slot()? {
            return Err(locked_without_source(
                "store is locked: it has no passphrase, only key files",
            ));
        }
        let prompt = format!("Passphrase for {}", store.location());
        let mut tries = 0;
        loop {
            let how = Unlock::Passphrase(prompter.passphrase(&prompt)?);
            tries += 1;
            match store.unlock(&how) {
                Ok(unlocked) => return Ok((unlocked, how)),
                Err(Error::Locked { .. }) if tries < PROMPT_TRIES => {
                    let left = PROMPT_TRIES - tries;
                    say(format_args!("wrong passphrase, try again ({left} left)"));
                }
                Err(Error::Locked { .. }) => {
                    return Err(Error::locked(
                        format!(
                            "wrong passphrase, {tries} tries: the passphrase typed at the prompt does not unlock {}",
                            store.location()
                        ),
                        Some(
                            "check the keyboard layout and Caps Lock, or unlock another way: --key-file PATH or --passphrase-file PATH"
                                .into(),
                        ),
                    ));
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// A key that does not open the store says which source it came from, and which other
    /// sources were set but not used (a flag beats a variable).
    fn name_source(&self, e: Error) -> Error {
        let Error::Locked { message, hint } = e else {
            return e;
        };
        let source = self.unlock.describe();
        let no_slot = message.starts_with("this store has no");
        let message = if no_slot {
            format!(
                "{source} cannot unlock this store: it {}",
                &message["this store ".len()..]
            )
        } else {
            format!("{source} does not unlock this store")
        };
        let hint = match self.unused_sources.as_slice() {
            // The library says what would unlock it; these are the ways to give that here.
            [] if no_slot => Some(
                "unlock it another way: --key-file, --passphrase-file or TOKMAN_PASSPHRASE; `tokman key list` shows its slots".into(),
            ),
            [] if matches!(self.unlock, UnlockSource::PassphraseFile(_) | UnlockSource::PassphraseEnv(_)) => Some(
                "check where it came from: --passphrase-file, TOKMAN_PASSPHRASE_FILE, TOKMAN_PASSPHRASE or the prompt".into(),
            ),
            [] => hint,
            others => Some(format!(
                "{} {} set too, but not used: {} comes first",
                others.join(" and "),
                if others.len() == 1 { "is" } else { "are" },
                self.unused_sources_leader()
            )),
        };
        Error::Locked { message, hint }
    }

    /// The name of the source that was used, for "… comes first".
    fn unused_sources_leader(&self) -> String {
        match &self.unlock {
            UnlockSource::KeyFile(f) | UnlockSource::PassphraseFile(f) => f.given.to_string(),
            UnlockSource::PassphraseEnv(_) => "TOKMAN_PASSPHRASE".into(),
            UnlockSource::Prompt | UnlockSource::Nothing => "the prompt".into(),
        }
    }

    /// The passphrase for a new store: `TOKMAN_NEW_PASSPHRASE`, else the passphrase sources
    /// (file, `TOKMAN_PASSPHRASE`), else asked twice on a terminal. From anywhere but the
    /// prompt a weak one is accepted with a warning: a script has nobody to ask again.
    pub fn passphrase_for_new_store(&self, prompter: &dyn Prompter) -> Result<Passphrase> {
        if let Some(p) = &self.new_passphrase {
            warn_if_weak(p, "TOKMAN_NEW_PASSPHRASE");
            return Ok(copy(p));
        }
        match &self.unlock {
            UnlockSource::PassphraseFile(f) => {
                let p = key_file::read_passphrase_file(&f.path)?;
                warn_if_weak(&p, &format!("{} ({})", f.given, f.path.display()));
                Ok(p)
            }
            UnlockSource::PassphraseEnv(p) => {
                warn_if_weak(p, "TOKMAN_PASSPHRASE");
                Ok(copy(p))
            }
            _ => prompter.new_passphrase(),
        }
    }

    /// A new passphrase for `key passphrase`: `TOKMAN_NEW_PASSPHRASE`, else asked twice.
    pub fn new_passphrase(&self, prompter: &dyn Prompter) -> Result<Passphrase> {
        match &self.new_passphrase {
            Some(p) => {
                warn_if_weak(p, "TOKMAN_NEW_PASSPHRASE");
                Ok(copy(p))
            }
            None => prompter.new_passphrase(),
        }
    }
}

fn copy(p: &Passphrase) -> Passphrase {
    Passphrase::new(p.expose().to_owned())
}

fn warn_if_weak(p: &Passphrase, from: &str) {
    if let Some(why) = prompt::weakness(p.expose()) {
        warn(format_args!(
            "the new passphrase from {from} is weak: {why}; it was accepted, but {}",
            prompt::STRONG_ENOUGH
        ));
    }
}

fn locked_without_source(message: &str) -> Error {
    Error::locked(
        message,
        Some(
            "unlock it with --key-file PATH (or TOKMAN_KEY_FILE), --passphrase-file PATH (or TOKMAN_PASSPHRASE_FILE), or TOKMAN_PASSPHRASE"
                .into(),
        ),
    )
}

/// `<OS data dir>/tokman/store.db`.
pub fn default_store_path() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "tokman")
        .map(|d| d.data_dir().join("store.db"))
        .ok_or_else(|| {
            Error::unavailable(
                "cannot find a data directory for the store (is HOME set?)",
                Some("pass --store PATH or set TOKMAN_STORE".into()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn resolve(global: &Global, vars: &[(&str, &str)], stdin: bool) -> Config {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        let terminal = Terminal {
            stdin,
            ..Terminal::default()
        };
        let mut global = global.clone();
        global.store.get_or_insert_with(|| "/s.db".into());
        Config::from_parts(&global, env, terminal).unwrap()
    }

    fn flags(key: Option<&str>, pass: Option<&str>) -> Global {
        Global {
            store: None,
            key_file: key.map(PathBuf::from),
            passphrase_file: pass.map(PathBuf::from),
        }
    }

    /// The source chosen, as "kind given path".
    fn chosen(c: &Config) -> String {
        match &c.unlock {
            UnlockSource::KeyFile(f) => format!("key {} {}", f.given, f.path.display()),
            UnlockSource::PassphraseFile(f) => format!("pass {} {}", f.given, f.path.display()),
            UnlockSource::PassphraseEnv(_) => "TOKMAN_PASSPHRASE".into(),
            UnlockSource::Prompt => "prompt".into(),
            UnlockSource::Nothing => "nothing".into(),
        }
    }

    const ALL_VARS: [(&str, &str); 3] = [
        ("TOKMAN_KEY_FILE", "/env.key"),
        ("TOKMAN_PASSPHRASE_FILE", "/env.pp"),
        ("TOKMAN_PASSPHRASE", "pw"),
    ];

    #[test]
    fn flags_beat_the_environment_in_the_documented_order() {
        let c = resolve(&flags(Some("/f.key"), Some("/f.pp")), &ALL_VARS, true);
        assert_eq!(chosen(&c), "key --key-file /f.key");
        let c = resolve(&flags(None, Some("/f.pp")), &ALL_VARS, true);
        assert_eq!(chosen(&c), "pass --passphrase-file /f.pp");
        assert_eq!(
            c.unused_sources,
            [
                "TOKMAN_KEY_FILE",
                "TOKMAN_PASSPHRASE_FILE",
                "TOKMAN_PASSPHRASE"
            ]
        );
        let c = resolve(&flags(None, None), &ALL_VARS, true);
        assert_eq!(chosen(&c), "key TOKMAN_KEY_FILE /env.key");
        let c = resolve(&flags(None, None), &ALL_VARS[1..], true);
        assert_eq!(chosen(&c), "pass TOKMAN_PASSPHRASE_FILE /env.pp");
        let c = resolve(&flags(None, None), &ALL_VARS[2..], true);
        assert_eq!(chosen(&c), "TOKMAN_PASSPHRASE");
        assert!(c.unused_sources.is_empty());
        assert_eq!(chosen(&resolve(&flags(None, None), &[], true)), "prompt");
        assert_eq!(chosen(&resolve(&flags(None, None), &[], false)), "nothing");
    }

    #[test]
    fn empty_values_are_unset() {
        let empty = [
            ("TOKMAN_KEY_FILE", ""),
            ("TOKMAN_PASSPHRASE_FILE", ""),
            ("TOKMAN_PASSPHRASE", ""),
            ("TOKMAN_NEW_PASSPHRASE", ""),
            ("NO_COLOR", ""),
        ];
        let c = resolve(&flags(Some(""), Some("")), &empty, false);
        assert_eq!(chosen(&c), "nothing");
        assert!(c.new_passphrase.is_none());
    }

    #[test]
    fn the_store_flag_beats_tokman_store() {
        let env = [("TOKMAN_STORE", "/env.db")];
        let mut g = flags(None, None);
        g.store = Some("/flag.db".into());
        assert_eq!(
            resolve(&g, &env, false).store.path(),
            Some(Path::new("/flag.db"))
        );
        g.store = Some("".into());
        let c = Config::from_parts(
            &g,
            |n| (n == "TOKMAN_STORE").then(|| "/env.db".into()),
            Terminal::default(),
        )
        .unwrap();
        assert_eq!(c.store.path(), Some(Path::new("/env.db")));
    }
}
