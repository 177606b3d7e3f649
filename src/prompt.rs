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

    /// A whole line is read, so nothing typed is left over for the shell: `y`/`yes` or
    /// `n`/`no` (any case) and Enter; Enter alone is no; anything else asks again.
    fn confirm(&self, question: &str) -> Result<bool> {
        let prompt = format!("{question} [y/N]");
        loop {
            let answer: String = dialoguer::Input::new()
                .with_prompt(&prompt)
                .allow_empty(true)
                .report(false)
                .interact_text()
                .map_err(prompt_failed)?;
            match parse_answer(&answer) {
                Some(yes) => return Ok(yes),
                None => {
                    let _ =
                        dialoguer::console::Term::stderr().write_line("please answer yes or no");
                }
            }
        }
    }
}

/// A confirmation answer: `Some(true)` for y/yes, `Some(false)` for n/no or nothing.
fn parse_answer(line: &str) -> Option<bool> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(true),
        "" | "n" | "no" => Some(false),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::parse_answer;

    #[test]
    fn answers_are_whole_words() {
        for yes in ["y", "Y", "yes", "YES", " yes "] {
            assert_eq!(parse_answer(yes), Some(true), "{yes}");
        }
        for no in ["", "n", "no", "No"] {
            assert_eq!(parse_answer(no), Some(false), "{no}");
        }
        for other in ["ye", "yess", "nope", "y es", "oui"] {
            assert_eq!(parse_answer(other), None, "{other}");
        }
    }
}
