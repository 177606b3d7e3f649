//! The seam for people: every question tokman asks goes through [`Prompter`]. On a terminal it
//! is dialoguer; without one, each question fails with the flag or variable that answers it,
//! so nothing ever waits for input that cannot come.

use crate::crypto::Passphrase;
use crate::error::{Error, Result};

pub trait Prompter {
    /// An existing passphrase, asked once, hidden.
    fn passphrase(&self, prompt: &str) -> Result<Passphrase>;
    /// A new passphrase, asked twice, hidden.
    fn new_passphrase(&self) -> Result<Passphrase>;
    /// A yes/no question; `false` means the user declined.
    fn confirm(&self, question: &str) -> Result<bool>;
}

/// Asks on the terminal.
pub struct TerminalPrompter;

fn prompt_failed(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => {
            Error::usage("cancelled")
        }
        dialoguer::Error::IO(io) => {
            Error::locked(format!("cannot read from the terminal: {io}"), None)
        }
    }
}

impl Prompter for TerminalPrompter {
    fn passphrase(&self, prompt: &str) -> Result<Passphrase> {
        let text = dialoguer::Password::new()
            .with_prompt(prompt)
            .allow_empty_password(false)
            .interact()
            .map_err(prompt_failed)?;
        Ok(Passphrase::new(text))
    }

    fn new_passphrase(&self) -> Result<Passphrase> {
        let text = dialoguer::Password::new()
            .with_prompt("New passphrase")
            .with_confirmation("Repeat it", "the passphrases do not match; try again")
            .allow_empty_password(false)
            .interact()
            .map_err(prompt_failed)?;
        Ok(Passphrase::new(text))
    }

    fn confirm(&self, question: &str) -> Result<bool> {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
            .map_err(prompt_failed)
    }
}

/// No terminal: every question is an error naming what answers it instead.
pub struct NoTerminal;

impl Prompter for NoTerminal {
    fn passphrase(&self, _prompt: &str) -> Result<Passphrase> {
        Err(Error::locked(
            "store is locked: no passphrase was given and there is no terminal to ask on",
            Some("use --key-file, --passphrase-file or TOKMAN_PASSPHRASE".into()),
        ))
    }

    fn new_passphrase(&self) -> Result<Passphrase> {
        Err(Error::locked(
            "a new passphrase is needed and there is no terminal to ask on",
            Some("set TOKMAN_NEW_PASSPHRASE (or use --new-key-file with init)".into()),
        ))
    }

    fn confirm(&self, _question: &str) -> Result<bool> {
        Err(Error::usage_hint(
            "this needs confirmation and there is no terminal to ask on",
            "pass --yes to confirm",
        ))
    }
}
