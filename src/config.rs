//! The world, resolved once at start-up: store path, how to unlock, whether each standard stream
//! is a terminal, colour. Commands receive a [`Config`] and never read `std::env` or probe the
//! terminal themselves.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::Global;
use crate::crypto::Passphrase;
use crate::error::{Error, Result};
use crate::key_file;
use crate::prompt::Prompter;
use crate::store::{self, Store, Unlock, Unlocked};

/// Where the unlock comes from, first that applies (see the contract's list).
#[derive(Debug)]
pub enum UnlockSource {
    KeyFile(PathBuf),
    PassphraseFile(PathBuf),
    PassphraseEnv(Passphrase),
    Prompt,
    Nothing,
}

/// Which standard streams are terminals.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

#[derive(Debug)]
pub struct Config {
    pub store: PathBuf,
    pub unlock: UnlockSource,
    /// `TOKMAN_NEW_PASSPHRASE`, for `init` and `key passphrase`.
    pub new_passphrase: Option<Passphrase>,
    pub terminal: Terminal,
    /// Colour on stdout: a terminal and no `NO_COLOR`.
    pub color: bool,
}

fn env_passphrase(name: &str) -> Option<Passphrase> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Passphrase::new)
}

impl Config {
    /// Read flags, environment and terminals once.
    pub fn resolve(global: &Global) -> Result<Config> {
        let given = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
        let (store, key_file, passphrase_file) = (
            given(&global.store),
            given(&global.key_file),
            given(&global.passphrase_file),
        );
        let terminal = Terminal {
            stdin: std::io::stdin().is_terminal(),
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
        };
        let store = match store {
            Some(p) => p,
            None => default_store_path()?,
        };
        let unlock = if let Some(p) = key_file {
            UnlockSource::KeyFile(p)
        } else if let Some(p) = passphrase_file {
            UnlockSource::PassphraseFile(p)
        } else if let Some(p) = env_passphrase("TOKMAN_PASSPHRASE") {
            UnlockSource::PassphraseEnv(p)
        } else if terminal.stdin {
            UnlockSource::Prompt
        } else {
            UnlockSource::Nothing
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(Config {
            store,
            unlock,
            new_passphrase: env_passphrase("TOKMAN_NEW_PASSPHRASE"),
            color: terminal.stdout && !no_color,
            terminal,
        })
    }

    /// Unlock an open store from the configured source. Returns the way it was unlocked too,
    /// for commands that add slots (they must recover the master key again).
    pub fn unlock(&self, store: &Store, prompter: &dyn Prompter) -> Result<(Unlocked, Unlock)> {
        let how = match &self.unlock {
            UnlockSource::KeyFile(p) => Unlock::KeyFile(store::read_key_file(p)?),
            UnlockSource::PassphraseFile(p) => {
                Unlock::Passphrase(key_file::read_passphrase_file(p)?)
            }
            UnlockSource::PassphraseEnv(p) => {
                Unlock::Passphrase(Passphrase::new(p.expose().to_owned()))
            }
            UnlockSource::Prompt => {
                if !store.has_passphrase_slot()? {
                    return Err(locked_without_source(
                        "store is locked: it has no passphrase, only key files",
                    ));
                }
                let prompt = format!("Passphrase for {}", store.path().display());
                Unlock::Passphrase(prompter.passphrase(&prompt)?)
            }
            UnlockSource::Nothing => {
                return Err(locked_without_source(
                    "store is locked: no key file, passphrase file or passphrase was given, and there is no terminal to ask on",
                ));
            }
        };
        let unlocked = store.unlock(&how)?;
        Ok((unlocked, how))
    }

    /// The passphrase for a new store: `TOKMAN_NEW_PASSPHRASE`, else the passphrase sources
    /// (file, `TOKMAN_PASSPHRASE`), else asked twice on a terminal.
    pub fn passphrase_for_new_store(&self, prompter: &dyn Prompter) -> Result<Passphrase> {
        if let Some(p) = &self.new_passphrase {
            return Ok(Passphrase::new(p.expose().to_owned()));
        }
        match &self.unlock {
            UnlockSource::PassphraseFile(p) => key_file::read_passphrase_file(p),
            UnlockSource::PassphraseEnv(p) => Ok(Passphrase::new(p.expose().to_owned())),
            _ => prompter.new_passphrase(),
        }
    }

    /// A new passphrase for `key passphrase`: `TOKMAN_NEW_PASSPHRASE`, else asked twice.
    pub fn new_passphrase(&self, prompter: &dyn Prompter) -> Result<Passphrase> {
        match &self.new_passphrase {
            Some(p) => Ok(Passphrase::new(p.expose().to_owned())),
            None => prompter.new_passphrase(),
        }
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
