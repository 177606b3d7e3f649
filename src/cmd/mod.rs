//! One module per subcommand, each a `run` that takes its parsed arguments and the resolved
//! [`Ctx`]: open and unlock the store, call the library's [`Service`], render. `main` dispatches through [`run`].
//!
//! Nothing here or below writes to stderr but through [`write_stderr`] (and the terminal
//! prompts, whose text [`Shown`] passes through the same escaper).
#![deny(clippy::print_stderr)]

use std::io::{self, Read, Write};

use crate::cli::{Cli, Command, Lazy};
use crate::config::Config;
use crate::prompt::Prompter;
use crate::render::{self, Style};
use tokman::crypto::Passphrase;
use tokman::error::{Error, Lifetime, Result};
use tokman::lifecycle::Timestamp;
use tokman::service::Service;
use tokman::store::{Durability, Store, Unlock};
use tokman::token::Malformed;

mod audit;
mod copy;
mod generate;
mod init;
mod inspect;
mod key;
mod list;
mod notify;
mod purge;
mod remind;
mod revoke;
mod rotate;
mod scan;
mod serve;
mod settings;
mod update;
mod verify;

/// Everything a command needs from the outside world, resolved once.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub prompter: &'a dyn Prompter,
}

impl Ctx<'_> {
    /// How output looks; on a terminal, as wide as the terminal is now.
    pub fn style(&self) -> Style {
        let terminal = self.cfg.terminal.stdout;
        Style {
            terminal,
            color: self.cfg.color,
            width: if terminal {
                render::terminal_width()
            } else {
                None
            },
        }
    }

    /// Open the configured store and unlock it; also the way it was unlocked, for commands
    /// that add slots or copy the store (they recover the master key again).
    /// This is the door for commands that change the store: one made by an older tokman is
    /// upgraded first.
    pub fn unlock(&self, durability: Durability) -> Result<(Service, Unlock)> {
        let mut store = Store::open(&self.cfg.store, durability)?;
        let (unlocked, how) = self.cfg.unlock(&mut store, self.prompter)?;
        let mut service = Service::new(store, unlocked);
        if service.upgrade(now())? {
            say(format_args!(
                "upgraded the store at {} to this version of tokman",
                service.location()
            ));
        }
        Ok((service, how))
    }

    /// [`Ctx::unlock`] for a command that only reads: a store made by an older tokman is left
    /// as it is, and the command says how to upgrade it (before asking for a passphrase).
    pub fn unlock_to_read(&self) -> Result<(Service, Unlock)> {
        let mut store = Store::open(&self.cfg.store, Durability::Full)?;
        if store.is_older() {
            return Err(Error::unavailable(
                format!(
                    "the store at {} was made by an older tokman; commands that only read it do not upgrade it",
                    store.location()
                ),
                Some(
                    "run a command that changes it, such as `tokman remind`, to upgrade it in place first"
                        .into(),
                ),
            ));
        }
        let (unlocked, how) = self.cfg.unlock(&mut store, self.prompter)?;
        Ok((Service::new(store, unlocked), how))
    }

    /// Ask to confirm a destructive change. Without a terminal, `--yes` is required; that is
    /// checked before anything else, by [`require_yes`].
    pub fn confirm(&self, yes: bool, question: &str) -> Result<()> {
        if yes || self.prompter.confirm(question)? {
            Ok(())
        } else {
            Err(Error::usage("cancelled; nothing was changed"))
        }
    }
}

/// A prompter whose questions are shown as every other message is: a prompt names a store
/// path and a confirmation a user name, and both are the user's text, written to the terminal.
struct Shown<'a>(&'a dyn Prompter);

impl Prompter for Shown<'_> {
    fn passphrase(&self, prompt: &str) -> Result<Passphrase> {
        self.0.passphrase(&render::escape(prompt))
    }

    fn new_passphrase(&self) -> Result<Passphrase> {
        self.0.new_passphrase()
    }

    fn confirm(&self, question: &str) -> Result<bool> {
        self.0.confirm(&render::escape(question))
    }

    fn secret_line(&self, prompt: &str) -> Result<zeroize::Zeroizing<String>> {
        self.0.secret_line(&render::escape(prompt))
    }
}

/// Without a terminal to ask on, a destructive command needs `--yes` up front (exit 2).
pub fn require_yes(cfg: &Config, yes: bool, verb: &str) -> Result<()> {
    if yes || cfg.terminal.stdin {
        Ok(())
    } else {
        Err(Error::usage_hint(
            format!("{verb} needs confirmation and there is no terminal to ask on"),
            "pass --yes to confirm",
        ))
    }
}

/// The current time. Only the binary's commands read the clock; the library's rules take it.
pub fn now() -> Timestamp {
    chrono::Utc::now().timestamp()
}

/// The one way tokman writes to stderr, used by `main` for errors, hints, clap's usage errors
/// and the panic message, and by [`say`] and [`warn`] for everything else. The text goes through
/// [`render::for_stderr`]: anything token-shaped is shown as its id and `_…`, control and format
/// characters are escaped, line breaks kept. So whatever a message quotes (a mistyped flag's
/// value, a user name, a store path) cannot put a secret or a terminal escape on stderr, which
/// ends up in terminals, logs and cron mail. A closed stderr is not worth failing a command over.
pub fn write_stderr(text: &str) {
    let shown = render::for_stderr(text);
    let _ = io::stderr().lock().write_all(shown.as_bytes());
}

/// Talk for people, on stderr, one message and a line break.
pub fn say(msg: impl std::fmt::Display) {
    write_stderr(&format!("{msg}\n"));
}

pub fn warn(msg: impl std::fmt::Display) {
    say(format_args!("warning: {msg}"));
}

/// Write data to stdout and flush; a closed pipe becomes [`Error::BrokenPipe`] (silent exit 0).
pub fn out(text: &str) -> Result<()> {
    let mut o = io::stdout().lock();
    o.write_all(text.as_bytes()).map_err(unwritten)?;
    o.flush().map_err(unwritten)?;
    Ok(())
}

/// A failed write to stdout (a full disk, a revoked file): exit 74, never "a bug" (70). A
/// command's change has committed before its result is written, so the message says so; the
/// reader going away (`tokman list | head -1`) stays a quiet success.
pub fn unwritten(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Error::BrokenPipe;
    }
    Error::Unprinted {
        message: format!("the result could not be written to stdout: {e}"),
        hint: "anything the command changed is saved (`tokman audit --since 10m` shows it); \
               fix what stdout goes to and read the result again"
            .into(),
    }
}

/// One JSON document and a newline on stdout.
pub fn out_json(value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    out(&text)
}

/// The longest stdin `verify` and `inspect -` read: a token is 81 bytes at most, and a bound
/// keeps a 1 GB paste from being read into memory.
pub const MAX_TOKEN_INPUT: u64 = 64 * 1024;

/// A token from stdin: everything up to EOF, bounded. On a terminal, one line read with echo
/// off, like a password, so the pasted secret never lands in the scrollback.
/// Input that cannot be a token (too long, not UTF-8) is `Err(Malformed)`, not kept.
pub fn read_token_stdin(cfg: &Config) -> Result<std::result::Result<String, Malformed>> {
    if cfg.terminal.stdin {
        let mut line = crate::prompt::TerminalPrompter
            .secret_line("Paste the token (it is not shown) and press Enter")?;
        if line.len() as u64 > MAX_TOKEN_INPUT {
            return Ok(Err(Malformed("not a token: too long")));
        }
        return Ok(Ok(std::mem::take(&mut *line)));
    }
    let mut buf = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_TOKEN_INPUT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::usage(format!("cannot read the token from stdin: {e}")))?;
    if buf.len() as u64 > MAX_TOKEN_INPUT {
        return Ok(Err(Malformed("not a token: too long")));
    }
    Ok(String::from_utf8(buf).map_err(|_| Malformed("not a token: unexpected characters")))
}

/// Run the parsed command; the exit code on success (0, or `verify`'s outcome).
pub fn run(cli: Cli) -> Result<i32> {
    if let Command::Version = &cli.command {
        out(&format!("tokman {}\n", env!("CARGO_PKG_VERSION")))?;
        return Ok(0);
    }
    if let Command::Completions { shell } = &cli.command {
        out(&String::from_utf8_lossy(&crate::manpage::completion(
            *shell,
        )))?;
        return Ok(0);
    }
    let cfg = Config::resolve(&cli.global)?;
    let prompter: &dyn Prompter = if cfg.terminal.stdin {
        &crate::prompt::TerminalPrompter
    } else {
        &crate::prompt::NoTerminal
    };
    let ctx = Ctx {
        cfg: &cfg,
        prompter: &Shown(prompter),
    };
    let result = match cli.command {
        Command::Init(Lazy(a)) => init::run(&ctx, a),
        Command::Generate(Lazy(a)) => generate::run(&ctx, a),
        Command::List(Lazy(a)) => list::run(&ctx, a),
        Command::Inspect(Lazy(a)) => inspect::run(&ctx, a),
        Command::Revoke(Lazy(a)) => revoke::run(&ctx, a),
        Command::Rotate(a) => rotate::run(&ctx, a),
        Command::Update(a) => update::run(&ctx, a),
        Command::Remind(Lazy(a)) => remind::run(&ctx, a),
        Command::Verify(Lazy(a)) => verify::run(&ctx, a),
        Command::Purge(Lazy(a)) => purge::run(&ctx, a),
        Command::Audit(Lazy(a)) => audit::run(&ctx, a),
        Command::Key(k) => key::run(&ctx, k),
        Command::Settings(Lazy(a)) => settings::run(&ctx, a),
        Command::Info(Lazy(a)) => copy::info(&ctx, a),
        Command::Backup(Lazy(a)) => copy::backup(&ctx, a),
        Command::Copy(Lazy(a)) => copy::copy(&ctx, a),
        Command::Scan(Lazy(a)) => scan::run(&ctx, a),
        Command::Serve(Lazy(a)) => serve::run(&ctx, a),
        Command::Completions { .. } | Command::Version => unreachable!("handled above"),
    };
    result.map_err(in_flags)
}

/// A library error about a value the command line took from a flag, in the flag's words.
fn in_flags(e: Error) -> Error {
    match e {
        // Only `generate` and `rotate` ask for a lifetime, with --expires-in.
        Error::TooLong {
            what: Lifetime::Token,
            asked,
            max,
        } => Error::usage_hint(
            format!(
                "--expires-in {asked} is longer than this store's maximum token lifetime of {max}"
            ),
            format!("use --expires-in {max} or less; tokens always expire"),
        ),
        // Only `init` sets a maximum, with --max-lifetime.
        Error::TooLong {
            what: Lifetime::StoreMaximum,
            asked,
            max,
        } => Error::usage(format!("--max-lifetime {asked} is over the limit of {max}")),
        other => other,
    }
}
