//! The seam for people: every question tokman asks goes through [`Prompter`]. On a terminal,
//! secrets are read with echo off (console) and questions as whole lines (dialoguer); without
//! one, each question fails with the flag or variable that answers it, so nothing ever waits for
//! input that cannot come. Nothing typed here is ever written back: a refusal says why, never
//! what was typed.

use std::collections::BTreeSet;
use std::io;

use dialoguer::console::Term;
use zeroize::Zeroizing;

use tokman::crypto::Passphrase;
use tokman::error::{Error, Result};

pub trait Prompter {
    /// An existing passphrase, hidden; asked again (saying why) while empty.
    fn passphrase(&self, prompt: &str) -> Result<Passphrase>;
    /// A new passphrase, hidden, asked twice; an empty or [weak](weakness) one is refused with
    /// the reason and asked again.
    fn new_passphrase(&self) -> Result<Passphrase>;
    /// A yes/no question; `false` means the user declined.
    fn confirm(&self, question: &str) -> Result<bool>;
    /// A secret line that is not a passphrase (a pasted token), hidden, possibly empty.
    fn secret_line(&self, prompt: &str) -> Result<Zeroizing<String>>;
}

/// The fewest characters a new passphrase typed at the prompt may have.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// What a passphrase that is not weak looks like, for refusals and warnings.
pub const STRONG_ENOUGH: &str = "a strong one has at least 12 characters, not only digits and not a few repeated ones (four random words, say)";

/// Why a new passphrase is weak, if it is. A short rule on purpose, not a strength estimator:
/// Argon2id makes every guess cost a fraction of a second, so what matters is only that a
/// passphrase is not among the few tried first: short ones, PINs and dates, and a key or two
/// held down (`aaaaaaaaaaaa`, `abababababab`). Twelve varied characters put it far past those.
pub fn weakness(passphrase: &str) -> Option<String> {
    let chars: Vec<char> = passphrase.chars().collect();
    if chars.len() < MIN_PASSPHRASE_CHARS {
        return Some(format!(
            "it is shorter than {MIN_PASSPHRASE_CHARS} characters"
        ));
    }
    if chars.iter().all(char::is_ascii_digit) {
        return Some("it is only digits".into());
    }
    let distinct = chars.iter().collect::<BTreeSet<_>>().len();
    if distinct < 5 {
        return Some(format!(
            "it uses only {distinct} different character{}",
            if distinct == 1 { "" } else { "s" }
        ));
    }
    None
}

/// Empty answers in a row after which a question gives up: Ctrl-D, or a terminal that went away
/// and reads as empty for ever.
const MAX_EMPTY: usize = 3;

/// Asks on the terminal.
pub struct TerminalPrompter;

fn prompt_failed(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(io) => io_failed(io),
    }
}

fn io_failed(io: io::Error) -> Error {
    if io.kind() == io::ErrorKind::Interrupted {
        Error::usage("cancelled")
    } else {
        Error::locked(format!("cannot read from the terminal: {io}"), None)
    }
}

/// The terminal questions are drawn on: stderr, as dialoguer does (stdout may be a pipe).
fn term() -> Result<Term> {
    let term = Term::stderr();
    if term.is_term() {
        Ok(term)
    } else {
        Err(Error::locked(
            "cannot ask for a passphrase: stderr is not a terminal",
            Some("use --key-file, --passphrase-file or TOKMAN_PASSPHRASE".into()),
        ))
    }
}

/// A line for the person at the terminal; one that cannot be written is not worth failing over.
fn tell(term: &Term, line: &str) {
    let _ = term.write_line(line);
}

/// One hidden line. The prompt is written once and never redrawn, so a prompt wider than the
/// terminal wraps like any text instead of being drawn twice.
fn read_hidden(term: &Term, prompt: &str) -> Result<Zeroizing<String>> {
    term.write_str(&format!("{prompt}: ")).map_err(io_failed)?;
    term.flush().map_err(io_failed)?;
    term.read_secure_line()
        .map(Zeroizing::new)
        .map_err(io_failed)
}

/// A hidden passphrase, asked again while empty, saying why.
fn read_passphrase(term: &Term, prompt: &str) -> Result<Passphrase> {
    for _ in 0..MAX_EMPTY {
        let mut text = read_hidden(term, prompt)?;
        if !text.is_empty() {
            return Ok(Passphrase::new(std::mem::take(&mut *text)));
        }
        tell(term, "the passphrase cannot be empty");
    }
    Err(Error::locked(
        "no passphrase was entered",
        Some("type the passphrase and press Enter".into()),
    ))
}

impl Prompter for TerminalPrompter {
    fn passphrase(&self, prompt: &str) -> Result<Passphrase> {
        read_passphrase(&term()?, prompt)
    }

    fn new_passphrase(&self) -> Result<Passphrase> {
        let term = term()?;
        loop {
            let first = read_passphrase(&term, "New passphrase")?;
            if let Some(why) = weakness(first.expose()) {
                tell(
                    &term,
                    &format!("that passphrase is too weak: {why}; {STRONG_ENOUGH}"),
                );
                continue;
            }
            let again = read_hidden(&term, "Repeat it")?;
            if *again != first.expose() {
                tell(&term, "the passphrases do not match; try again");
                continue;
            }
            return Ok(first);
        }
    }

    fn secret_line(&self, prompt: &str) -> Result<Zeroizing<String>> {
        read_hidden(&term()?, prompt)
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

    fn secret_line(&self, _prompt: &str) -> Result<Zeroizing<String>> {
        Err(Error::usage("there is no terminal to read a secret on"))
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
    use super::{parse_answer, weakness};

    #[test]
    fn weak_passphrases_are_short_digits_or_a_few_repeated_characters() {
        for (weak, why) in [
            ("a", "shorter than 12"),
            ("correct hor", "shorter than 12"),
            ("ééééééééééé", "shorter than 12"),
            ("123456789012", "only digits"),
            ("aaaaaaaaaaaaaaaa", "only 1 different character"),
            ("abababababababab", "only 2 different characters"),
            ("abcdabcdabcdabcd", "only 4 different"),
        ] {
            let got = weakness(weak).unwrap_or_else(|| panic!("{weak:?} passed"));
            assert!(got.contains(why), "{weak:?}: {got}");
        }
        for strong in [
            "correct horse battery staple",
            "abcdeabcdeab",
            "Tr0ub4dor&3x",
            "été à la plage",
        ] {
            assert_eq!(weakness(strong), None, "{strong:?}");
        }
    }

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
