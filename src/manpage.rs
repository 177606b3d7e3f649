//! Man pages and completion scripts, generated from the clap definition in [`crate::cli`], so
//! they cannot disagree with `--help`. The files in `man/` and `completions/` are these bytes;
//! `tests/generated.rs` fails when they are stale and rewrites them with `UPDATE_GENERATED=1`.
//!
//! Pure functions: nothing here reads the environment, the clock or the store, so the output is
//! the same on every machine.

use clap::CommandFactory;
use clap_complete::Generator;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::{Cli, environment_text, exit_codes_text};

/// Every man page: `(file name, roff)`, `tokman.1` first, then one page per subcommand and per
/// `key` sub-subcommand (`tokman-generate.1`, `tokman-key-add-file.1`, …).
#[allow(dead_code)] // `tokman` prints completions; tests/generated.rs writes the pages
pub fn render_all() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = vec![("tokman.1".to_owned(), render_root(&root))];
    subcommand_pages(&root, &mut pages);
    pages
}

fn subcommand_pages(parent: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    for cmd in parent.get_subcommands().filter(|c| !c.is_hide_set()) {
        pages.push((format!("{}.1", page_name(cmd)), render_subcommand(cmd)));
        subcommand_pages(cmd, pages);
    }
}

/// Every completion script: `(file name, script)`, under the names clap_complete gives them
/// (`tokman.bash`, `_tokman` for zsh, `tokman.fish`, `tokman.elv`, `_tokman.ps1`). The same
/// bytes `tokman completions SHELL` prints.
#[allow(dead_code)] // for tests/generated.rs, which checks the checked-in scripts
pub fn completions_all() -> Vec<(String, Vec<u8>)> {
    use clap::ValueEnum;
    clap_complete::Shell::value_variants()
        .iter()
        .map(|&shell| (shell.file_name("tokman"), completion(shell)))
        .collect()
}

/// One shell's completion script.
pub fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tokman", &mut buf);
    buf
}

/// `tokman-key-add-file` for `tokman key add-file` (clap sets it when the command is built).
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned()
}

/// clap_mangen's page with our own closing sections in place of its EXTRA section (which
/// would print after_help raw), before VERSION. One roff preamble, reproducible bytes: no date.
fn page(cmd: &clap::Command, tail: &Roff) -> Vec<u8> {
    let plain = cmd
        .clone()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    let source = format!("tokman {}", cmd.get_version().unwrap_or_default());
    let mut out = Vec::new();
    Man::new(plain)
        .source(source)
        .manual("tokman manual")
        .render(&mut out)
        .expect("writing to a Vec cannot fail");
    let text = String::from_utf8(out).expect("roff is UTF-8");
    let text = with_synopsis(&text, cmd);
    let tail = tail.to_roff();
    match text.find(".SH VERSION") {
        Some(at) => format!("{}{tail}{}", &text[..at], &text[at..]),
        None => format!("{text}{tail}"),
    }
    .into_bytes()
}

/// clap_mangen's synopsis drops value names (`[--name]`); write one that keeps them, options
/// first, the global ones after, then the positional arguments, as `--help`'s usage has them.
fn with_synopsis(text: &str, cmd: &clap::Command) -> String {
    let Some(start) = text.find(".SH SYNOPSIS\n") else {
        return text.to_owned();
    };
    let body = start + ".SH SYNOPSIS\n".len();
    let Some(len) = text[body..].find(".SH ") else {
        return text.to_owned();
    };
    let mut roff = Roff::new();
    let mut line = vec![bold(cmd.get_bin_name().unwrap_or("tokman").to_owned())];
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .collect();
    let options = args.iter().filter(|a| !a.is_positional());
    let (local, global): (Vec<&&clap::Arg>, Vec<&&clap::Arg>) =
        options.partition(|a| a.get_help_heading() != Some("Global options"));
    for arg in local.into_iter().chain(global) {
        line.push(roman(" ["));
        let flag = match (arg.get_long(), arg.get_short()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => continue,
        };
        line.push(bold(flag));
        let takes_value = arg.get_action().takes_values();
        if takes_value {
            let name = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.to_string());
            line.push(roman(" "));
            line.push(clap_mangen::roff::italic(name));
        }
        line.push(roman("]"));
        if takes_value && matches!(arg.get_action(), clap::ArgAction::Append) {
            line.push(roman("..."));
        }
    }
    for arg in args.iter().filter(|a| a.is_positional()) {
        let name = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), |n| n.to_string());
        let many = matches!(arg.get_action(), clap::ArgAction::Append);
        let (open, close) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        line.push(roman(format!(" {open}")));
        line.push(clap_mangen::roff::italic(name));
        line.push(roman(close));
        if many {
            line.push(roman("..."));
        }
    }
    if cmd.has_subcommands() {
        line.push(roman(" "));
        line.push(clap_mangen::roff::italic("COMMAND"));
    }
    roff.text(line);
    format!("{}{}{}", &text[..body], roff.to_roff(), &text[body + len..])
}

fn render_root(cmd: &clap::Command) -> Vec<u8> {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    table(&mut roff, exit_codes_text());
    roff.control("SH", ["ENVIRONMENT"]);
    table(&mut roff, environment_text());
    roff.control("SH", ["FILES"]);
    roff.control("TP", []);
    roff.text([bold("~/.local/share/tokman/store.db")]);
    roff.text([roman(
        "The store on Linux when neither --store nor TOKMAN_STORE is given \
         (under $XDG_DATA_HOME when it is set; on macOS, \
         ~/Library/Application Support/tokman/store.db). \
         Created with mode 0600 in a new directory of mode 0700; \
         its -wal and -shm files get the same mode.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    see_also(&mut roff, cmd);
    page(cmd, &roff)
}

fn render_subcommand(cmd: &clap::Command) -> Vec<u8> {
    let mut roff = Roff::new();
    if let Some(help) = cmd.get_after_help() {
        let help = help.to_string();
        let (examples_text, exit_codes) = match help.split_once("\n\nExit codes:\n") {
            Some((ex, codes)) => (ex.to_owned(), Some(format!("Exit codes:\n{codes}"))),
            None => (help, None),
        };
        roff.control("SH", ["EXAMPLES"]);
        examples(&mut roff, &examples_text);
        if let Some(codes) = exit_codes {
            roff.control("SH", ["EXIT STATUS"]);
            table(&mut roff, &codes);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    see_also(&mut roff, cmd);
    page(cmd, &roff)
}

/// `tokman(1)` and, for a command with subcommands, theirs.
fn see_also(roff: &mut Roff, cmd: &clap::Command) {
    let mut refs = Vec::new();
    if page_name(cmd) != "tokman" {
        refs.push("tokman".to_owned());
    }
    refs.extend(
        cmd.get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .map(page_name),
    );
    let mut line = Vec::new();
    for (i, name) in refs.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(name.as_str()));
        line.push(roman("(1)"));
    }
    roff.text(line);
}

/// `Examples:` then indented command lines, as after_help writes them: a preformatted block.
fn examples(roff: &mut Roff, text: &str) {
    roff.control("PP", []);
    roff.control("nf", []);
    roff.control("RS", ["4"]);
    for line in text.lines().skip_while(|l| l.trim_end().ends_with(':')) {
        roff.text([roman(line.trim_start())]);
    }
    roff.control("RE", []);
    roff.control("fi", []);
}

/// A two-column table written as `Heading:\n  KEY  meaning` lines, as `.TP` paragraphs.
fn table(roff: &mut Roff, text: &str) {
    for line in text.lines().skip(1) {
        let line = line.trim_start();
        let (key, meaning) = line.split_once("  ").unwrap_or((line, ""));
        roff.control("TP", []);
        roff.text([bold(key)]);
        roff.text([roman(meaning.trim_start())]);
    }
}
