//! The `tokman` binary: parse, run, report. The only place that prints an error and exits.
//!
//! Everything it writes to stderr goes through `cmd::write_stderr`, which shows anything
//! token-shaped as its id and `_…` and escapes control and format characters.
#![forbid(unsafe_code)]
#![deny(clippy::print_stderr)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use cli::Cli;
use cmd::write_stderr;
use tokman::Error;

mod cli;
mod cmd;
mod config;
mod exit;
mod manpage;
mod prompt;
mod render;
mod serve;
mod views;

/// A core dump would write the unlocked master key and any token being issued to disk: turn
/// them off (soft and hard limit) before anything is read. Failure is harmless and ignored.
fn disable_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
    }
}

fn main() -> ExitCode {
    disable_core_dumps();
    std::panic::set_hook(Box::new(|info| {
        // Never the default hook's full message: it could carry data from the store.
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        write_stderr(&format!(
            "error: internal error: tokman panicked{at}\nhint: this is a bug in tokman; please report it\n"
        ));
    }));
    let cli = match parse() {
        Ok(cli) => cli,
        // Help and version: on stdout, exit 0, as clap styles them; they quote nothing typed.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(exit_byte(e.exit_code()));
        }
        // A usage error (exit 2), with clap's suggestions for typos. It quotes the bad value,
        // which may be a pasted token or hold escape sequences: rendered to plain text (clap's
        // `Display` drops its styling) and written through the one redaction.
        Err(e) => {
            write_stderr(&e.render().to_string());
            return ExitCode::from(exit_byte(e.exit_code()));
        }
    };
    let result = std::panic::catch_unwind(|| cmd::run(cli));
    let Ok(result) = result else {
        return ExitCode::from(70);
    };
    match result {
        Ok(code) => ExitCode::from(exit_byte(code)),
        Err(Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            let mut text = format!("error: {e}\n");
            if let Some(hint) = e.hint() {
                text.push_str(&format!("hint: {hint}\n"));
            }
            write_stderr(&text);
            ExitCode::from(exit_byte(exit::of_error(e.kind())))
        }
    }
}

/// [`Cli::try_parse`], leaving the description of every command and flag to the exit rather
/// than freeing it piece by piece: freeing it was 8% of the instructions of a `verify`.
fn parse() -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|mut matches| {
            // As `try_parse`: only these errors still need the command's formatting.
            let cli = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command));
            std::mem::forget(matches);
            cli
        });
    std::mem::forget(command);
    parsed
}

/// An exit code as the process reports it; the codes tokman uses all fit, anything else is a
/// bug (70).
fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(70)
}
