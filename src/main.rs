//! The `tokman` binary: parse, run, report. The only place that prints an error and exits.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tokman::cli::Cli;
use tokman::{Error, cmd};

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version: exit 0, printed as clap styles them.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // A usage error, with clap's suggestions for typos. It quotes the bad value, which may
        // hold escape sequences: print it plain, with control characters escaped.
        Err(e) => {
            let text: String = e
                .render()
                .to_string()
                .chars()
                .flat_map(|c| {
                    let escape = c.is_control() && c != '\n';
                    let shown: Vec<char> = if escape {
                        c.escape_default().collect()
                    } else {
                        vec![c]
                    };
                    shown
                })
                .collect();
            let _ = write!(std::io::stderr(), "{text}");
            return ExitCode::from(2);
        }
    };
    std::panic::set_hook(Box::new(|info| {
        // Never the default hook's full message: it could carry data from the store.
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error: tokman panicked{at}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "hint: this is a bug in tokman; please report it"
        );
    }));
    let result = std::panic::catch_unwind(|| cmd::run(cli));
    let Ok(result) = result else {
        return ExitCode::from(70);
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e}");
            if let Some(hint) = e.hint() {
                let _ = writeln!(err, "hint: {hint}");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
