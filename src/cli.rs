//! The whole command-line surface: every command, flag and help text, in clap derive types.
//!
//! The same definition drives parsing, `tokman completions` and the generated man pages, so
//! they cannot disagree. Values are parsed and validated here (durations, scopes, CIDRs, …),
//! before anything is read from stdin or the store: a usage error is exit 2 whatever else.

use std::path::PathBuf;

use clap::{ArgGroup, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum, ValueHint};

use tokman::duration::Span;
use tokman::error::Error;
use tokman::policy::{IpAllow, Origin, RateLimit, Scope, TextKind};
use tokman::token::{self, Prefix, TokenId};

/// The exit-code table, written once: used by `--help` and the man page.
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0   success; verify: the token is valid for what was asked
  1   token invalid: unknown, wrong secret, malformed, or not of this store
  2   usage error
  3   token expired
  4   token revoked (or rotated and past its grace)
  5   denied: missing scope, IP, origin or user
  6   rate limited
  7   conflict: the user has an active token; the store or key file exists; last slot
  8   not found: no such token id, user or slot
  9   usage exceeded: the token's --max-uses are used up
  10  store missing, unreadable or unsafe, or the database unreachable
  11  store locked: no unlock source, or wrong passphrase or key file
  12  store corrupt or tampered with
  70  internal error
  74  the result could not be written; a new token was issued but not shown"
    };
}

/// `verify`'s examples, for its help and man page.
macro_rules! verify_examples {
    () => {
        "Examples:
  if printf '%s\\n' \"$TOKEN\" | tokman verify --quiet --scope posts:read; then echo ok; fi
  tokman verify --json --ip 10.1.2.3 < token.txt
  tokman verify --stream < tokens.txt > results.jsonl"
    };
}

/// `verify`'s answers: its exit code is its whole output for a script.
macro_rules! verify_exit_codes {
    () => {
        "Exit codes:
  0   valid for what was asked
  1   invalid: unknown, wrong secret, malformed, or not of this store
  2   usage error (checked before the token is read)
  3   expired
  4   revoked (or rotated and past its grace)
  5   denied: a required scope, the IP, the origin or the user does not match
  6   rate limited
  9   usage exceeded: the token's --max-uses are used up
  10  store missing, unreadable or unsafe, or the database unreachable
  11  store locked: no unlock source, or a wrong passphrase or key file
  12  store corrupt or tampered with"
    };
}

/// The exit codes of `verify` (its help carries them), for the test that they match the codes.
#[cfg(test)]
pub fn verify_exit_codes_text() -> &'static str {
    verify_exit_codes!()
}

/// The environment variables tokman reads, written once.
macro_rules! environment {
    () => {
        "Environment:
  TOKMAN_STORE            the store (path or postgres:// URL), when --store is not given
  PGPASSWORD, PGPASSFILE  the PostgreSQL password, or the file of them (else ~/.pgpass)
  PGUSER, PGHOST          the PostgreSQL user and host when the URL names none
  TOKMAN_KEY_FILE         key file that unlocks the store, when no unlock flag is given
  TOKMAN_PASSPHRASE_FILE  file whose first line is the passphrase, after TOKMAN_KEY_FILE
  TOKMAN_PASSPHRASE       the passphrase itself, after every other unlock source
  TOKMAN_NEW_PASSPHRASE   a new passphrase, for init and `key passphrase` (a weak one is warned about)
  NO_COLOR                no colour in terminal output"
    };
}

/// Issue, verify, rotate and revoke API tokens from a local encrypted store.
#[derive(Debug, Parser)]
#[command(
    name = "tokman",
    version,
    about = "Issue, verify, rotate and revoke API tokens from a local encrypted store",
    long_about = "Issue, verify, rotate and revoke API tokens from a local encrypted store.\n\n\
        One active token per user; every token expires (180 days by default and at most); \
        the secret is shown once and only its keyed hash is kept; revocation is immediate \
        and irreversible. Everything lives in one SQLite file, or a PostgreSQL database \
        shared by many hosts, whose private fields are \
        encrypted with XChaCha20-Poly1305 under a key unlocked by a passphrase (Argon2id) \
        or a key file.\n\n\
        Unlocking, first that applies: --key-file, --passphrase-file, TOKMAN_KEY_FILE, \
        TOKMAN_PASSPHRASE_FILE, TOKMAN_PASSPHRASE, a prompt on a terminal (three tries); \
        otherwise exit 11. A flag always beats the environment.",
    after_help = "Run `tokman help <command>` for a command's flags and examples.",
    after_long_help = concat!(
        exit_codes!(),
        "\n\n",
        environment!(),
        "\n\nRun `tokman help <command>` for a command's flags and examples."
    ),
    subcommand_required = true,
    arg_required_else_help = true,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The exit-code table, for the man page.
pub fn exit_codes_text() -> &'static str {
    exit_codes!()
}

/// The environment table, for the man page.
pub fn environment_text() -> &'static str {
    environment!()
}

/// Options every command accepts, before or after the subcommand. clap reads no variable for
/// them: `Config` reads the environment apart, so that a flag beats every variable.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// The store: a SQLite file's path (or sqlite:PATH), or a postgres:// URL (password from
    /// PGPASSWORD or ~/.pgpass); beats TOKMAN_STORE [default: <data dir>/tokman/store.db]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "STORE",
        value_parser = any_path
    )]
    pub store: Option<PathBuf>,
    /// Unlock with this key file (no passphrase, no Argon2: for scripts and cron); beats
    /// TOKMAN_KEY_FILE and every other unlock variable
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH",
        value_parser = any_path
    )]
    pub key_file: Option<PathBuf>,
    /// Read the passphrase from the first line of this file; beats TOKMAN_PASSPHRASE_FILE and
    /// every other unlock variable
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH",
        value_parser = any_path
    )]
    pub passphrase_file: Option<PathBuf>,
}

/// `augment` run late, as [`Lazy`] runs it, with the command's own texts (set on its variant,
/// after its arguments) kept over any a flattened struct's doc comment would set.
fn keeping_texts(cmd: clap::Command, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    let cmd = match about {
        Some(a) => cmd.about(a),
        None => cmd,
    };
    match long_about {
        Some(a) => cmd.long_about(a),
        None => cmd,
    }
}

/// A command's arguments, given to clap only when it parses into that command or shows its help
/// ([`clap::Command::defer`]): every run builds the description of the one command it runs, not
/// of all of them. Building every command's arguments was about 15% of the instructions of a
/// `verify` (callgrind); the man pages and completions build the whole tree and are unchanged.
/// Not for a command with a help heading of its own (`update`, `rotate`): deferred, its
/// arguments would follow the global options, and so would their heading in its help.
#[derive(Debug)]
pub struct Lazy<T>(pub T);

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Lazy)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keeping_texts(cmd, T::augment_args))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keeping_texts(cmd, T::augment_args_for_update))
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a store
    #[command(after_help = "Examples:\n  \
        TOKMAN_NEW_PASSPHRASE=… tokman init\n  \
        tokman init --new-key-file /etc/tokman/cron.key --prefix acme --max-lifetime 90d\n  \
        tokman init --default-rate-limit 60/min --default-rate-limit 10000/day")]
    Init(Lazy<InitArgs>),
    /// Issue a token for a user (shown once)
    #[command(after_help = "Examples:\n  \
        tokman generate alice --scope posts:read --expires-in 30d\n  \
        T=$(tokman generate ci-bot --name deploy --rate-limit 60/min)\n  \
        tokman generate bob --allow-ip 10.0.0.0/8 --allow-origin https://app.example.com --json")]
    Generate(Lazy<GenerateArgs>),
    /// List tokens (never a secret)
    #[command(after_help = "Examples:\n  \
        tokman list\n  \
        tokman list --status active --expiring-within 14d\n  \
        tokman list --sort last-used --limit 20\n  \
        tokman list --unused-for 90d --json")]
    List(Lazy<ListArgs>),
    /// Show every field of one token, by id or from the token on stdin
    #[command(after_help = "Examples:\n  \
        tokman inspect tm_4f7k2m9q0xyz\n  \
        echo \"$TOKEN\" | tokman inspect -   # whose is this?")]
    Inspect(Lazy<InspectArgs>),
    /// Revoke tokens now, irreversibly
    #[command(after_help = "Examples:\n  \
        tokman revoke tm_4f7k2m9q0xyz --reason \"leaked in CI log\"\n  \
        tokman revoke tm_4f7k2m9q0xyz tm_9bgt35xppiwx --yes\n  \
        tokman revoke --user alice --yes")]
    Revoke(Lazy<RevokeArgs>),
    /// Change a live token's settings, keeping its secret
    #[command(after_help = "Examples:\n  \
        tokman update tm_4f7k2m9q0xyz --add-scope posts:write\n  \
        tokman update --user ci-bot --rate-limit 10/min --expires-in 7d\n  \
        tokman update tm_4f7k2m9q0xyz --clear-allow-ip --yes   # widens access: confirms")]
    Update(UpdateArgs),
    /// Replace a token: retire it and issue its successor with the same settings
    #[command(after_help = "Examples:\n  \
        tokman rotate tm_4f7k2m9q0xyz\n  \
        NEW=$(tokman rotate --user ci-bot --grace 1h --yes)   # the old one works for 1 more hour\n  \
        tokman rotate tm_4f7k2m9q0xyz --remove-scope admin --yes")]
    Rotate(RotateArgs),
    /// Check a token; the exit code says whether it is valid
    #[command(
        after_help = concat!(verify_examples!(), "\n\n", verify_exit_codes!()),
        after_long_help = concat!(verify_examples!(), "\n\n", verify_exit_codes!())
    )]
    Verify(Lazy<VerifyArgs>),
    /// Delete expired tokens (and revoked ones with --revoked)
    #[command(after_help = "Examples:\n  \
        tokman purge --dry-run\n  \
        # crontab: every night at 03:00\n  \
        0 3 * * * TOKMAN_KEY_FILE=/etc/tokman/cron.key tokman purge --revoked --quiet")]
    Purge(Lazy<PurgeArgs>),
    /// Record and print a reminder for each token about to expire (for cron)
    #[command(after_help = "Examples:\n  \
        tokman remind                       # 7 days and 1 day ahead\n  \
        tokman remind --within 14d --within 2d --json\n  \
        # crontab: every hour; the notify command mails each reminder\n  \
        0 * * * * TOKMAN_KEY_FILE=/etc/tokman/cron.key tokman remind")]
    Remind(Lazy<RemindArgs>),
    /// Show the audit log, or check that it is intact
    #[command(after_help = "Examples:\n  \
        tokman audit --since 7d --event revoke --event rotate\n  \
        tokman audit --user alice --since 2026-11-01 --json\n  \
        tokman audit --check\n  \
        tokman audit --check --expect-head \"$(cat /backup/tokman.head)\"")]
    Audit(Lazy<AuditArgs>),
    /// Show the store's settings, or change them with `settings set`
    #[command(after_help = "Examples:\n  \
        tokman settings\n  \
        tokman settings --json\n  \
        tokman settings set --max-lifetime 90d --default-rate-limit 60/min\n  \
        tokman settings set --notify-command 'logger -t tokman' --audit-retention 730d")]
    Settings(Lazy<SettingsArgs>),
    /// Show what and where the store is, with counts
    #[command(after_help = "Examples:\n  \
        tokman info\n  \
        tokman info --store postgres://tokman@db.internal/tokman --json")]
    Info(Lazy<InfoArgs>),
    /// Write a consistent SQLite copy of the store, taken while it is in use
    #[command(after_help = "Examples:\n  \
        tokman backup /var/backups/tokman/store-$(date +%F).db\n  \
        # crontab: every night at 02:00\n  \
        0 2 * * * TOKMAN_KEY_FILE=/etc/tokman/cron.key tokman backup /var/backups/tokman/$(date +\\%F).db")]
    Backup(Lazy<BackupArgs>),
    /// Copy the whole store into a new store, SQLite or PostgreSQL
    #[command(after_help = "Examples:\n  \
        PGPASSWORD=… tokman copy --to 'postgres://tokman@db.internal/tokman?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem'\n  \
        tokman copy --store postgres://tokman@db.internal/tokman --to /var/lib/tokman/store.db --yes")]
    Copy(Lazy<CopyArgs>),
    /// Find tokens in files, directories, stdin or staged changes; say whose and whether live
    #[command(after_help = "Examples:\n  \
        tokman scan .                          # every file under ., honouring .gitignore\n  \
        tokman scan --staged                   # what a commit would add (a pre-commit hook)\n  \
        kubectl logs deploy/api | tokman scan -\n  \
        tokman scan --sarif . > tokman.sarif   # for GitHub code scanning\n  \
        TOKMAN_KEY_FILE=/etc/tokman/cron.key tokman scan /srv/www --revoke --yes\n\n\
        Exit codes:\n  \
        0   no token found (with a store: none live)\n  \
        1   a live token found (with no store: any token found)\n  \
        2   usage error\n  \
        10  the store, given, cannot be opened\n  \
        11  a key or passphrase was given and does not unlock it")]
    Scan(Lazy<ScanArgs>),
    /// Answer auth requests over HTTP, for reverse proxies and services
    #[command(after_help = "Examples:\n  \
        TOKMAN_KEY_FILE=/etc/tokman/serve.key tokman serve\n  \
        tokman serve --listen unix:/run/tokman/serve.sock --socket-group www-data\n  \
        tokman serve --listen 127.0.0.1:7070 --trusted-proxy 127.0.0.1/32 --limited-status 429\n\n\
        Endpoints: /auth (any method), POST /introspect, GET /healthz, GET /metrics.\n\
        /auth answers 200 (valid), 401 (missing, malformed, unknown, expired, revoked), 403\n\
        (denied; rate limited, with Retry-After) or 503 (the store cannot be used).")]
    Serve(Lazy<ServeArgs>),
    /// Manage the ways to unlock the store
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        tokman key list\n  \
        tokman key add-file /etc/tokman/cron.key --label cron\n  \
        tokman key remove 2 --yes"
    )]
    Key(KeyCommand),
    /// Print tokman's version (as `tokman --version` does)
    #[command(hide = true, after_help = "Example:\n  tokman version")]
    Version,
    /// Print a shell completion script
    #[command(after_help = "Examples:\n  \
        tokman completions bash > /etc/bash_completion.d/tokman\n  \
        tokman completions zsh > \"${fpath[1]}/_tokman\"\n  \
        tokman completions fish > ~/.config/fish/completions/tokman.fish")]
    Completions {
        /// The shell to generate for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Token prefix: a lower-case letter, then up to 15 lower-case letters or digits
    #[arg(long, value_name = "P", value_hint = ValueHint::Other, default_value = "tm", value_parser = parse_prefix)]
    pub prefix: Prefix,
    /// Maximum (and default) token lifetime; at most 180d
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, default_value = "180d", value_parser = parse_span)]
    pub max_lifetime: Span,
    /// Rate limit for tokens generated without --rate-limit or --no-rate-limit (repeatable)
    #[arg(long, value_name = "N/UNIT", value_hint = ValueHint::Other, value_parser = parse_rate)]
    pub default_rate_limit: Vec<RateLimit>,
    /// Create a new key file (mode 0600) and unlock the store with it instead of a passphrase
    #[arg(long, value_name = "PATH")]
    pub new_key_file: Option<PathBuf>,
    /// Run this with `sh -c` after every change (tokens, settings, keys, purge, reminders), the event as JSON on stdin
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
    /// How long the audit log keeps events before `purge` drops them
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, default_value = "400d", value_parser = parse_span)]
    pub audit_retention: Span,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Who the token is for (any text up to 256 bytes, compared exactly)
    #[arg(value_name = "USER", value_hint = ValueHint::Other, value_parser = parse_user)]
    pub user: String,
    /// A short name for the token
    #[arg(long, value_name = "N", value_hint = ValueHint::Other, value_parser = parse_name)]
    pub name: Option<String>,
    /// What the token is for
    #[arg(long, value_name = "D", value_hint = ValueHint::Other, value_parser = parse_description)]
    pub description: Option<String>,
    /// Grant a scope, like posts:read or posts:* (repeatable)
    #[arg(long, value_name = "S", value_hint = ValueHint::Other, value_parser = parse_scope)]
    pub scope: Vec<Scope>,
    /// Expire sooner than the store's maximum lifetime (90s, 15m, 12h, 30d, 2w)
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub expires_in: Option<Span>,
    /// Limit uses, like 60/min or 10000/day; units s, m/min, h, d/day, w/week (repeatable)
    #[arg(long, value_name = "N/UNIT", value_hint = ValueHint::Other, value_parser = parse_rate, conflicts_with = "no_rate_limit")]
    pub rate_limit: Vec<RateLimit>,
    /// No rate limit, even if the store has default limits
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Accept the token only from this address or CIDR (repeatable)
    #[arg(long, value_name = "CIDR", value_hint = ValueHint::Other, value_parser = parse_ip_allow)]
    pub allow_ip: Vec<IpAllow>,
    /// Accept the token only from this origin, scheme://host[:port] (repeatable)
    #[arg(long, value_name = "ORIGIN", value_hint = ValueHint::Other, value_parser = parse_origin)]
    pub allow_origin: Vec<Origin>,
    /// Accept at most N valid verifies in the token's life (1: a one-time token)
    #[arg(long, value_name = "N", value_hint = ValueHint::Other, value_parser = parse_max_uses)]
    pub max_uses: Option<u64>,
    /// Print the token record plus "token" as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Active,
    /// Rotated, still valid until its grace ends
    Rotating,
    Expired,
    Revoked,
    All,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this user's tokens
    #[arg(long, value_name = "U", value_hint = ValueHint::Other, value_parser = parse_user)]
    pub user: Option<String>,
    /// Only tokens with this status
    #[arg(long, value_enum, default_value = "all")]
    pub status: StatusFilter,
    /// Only active tokens that expire within this time
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub expiring_within: Option<Span>,
    /// Only tokens never used, or last used longer ago than this
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub unused_for: Option<Span>,
    /// The order to show them in; ties go by creation time, then id
    #[arg(long, value_enum, default_value = "created")]
    pub sort: SortKey,
    /// Show only the first N tokens, in the --sort order
    #[arg(long, value_name = "N", value_hint = ValueHint::Other, value_parser = parse_limit)]
    pub limit: Option<usize>,
    /// Print an array of token records as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    /// Oldest first
    Created,
    /// Soonest expiry first
    Expires,
    /// Most recently used first, never used last
    LastUsed,
    /// By user name, ignoring case
    User,
}

/// A token given by public id, or `-` for a whole token on stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id(TokenId),
    Stdin,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token's id (tm_4f7k2m9q0xyz), or - to read the whole token from stdin
    #[arg(value_name = "ID", value_hint = ValueHint::Other)]
    pub target: String,
    /// Print the token record as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["ids", "user"])))]
pub struct RevokeArgs {
    /// The tokens' ids: all are revoked, or (if one is not found) none
    #[arg(value_name = "ID", value_hint = ValueHint::Other)]
    pub ids: Vec<String>,
    /// Revoke this user's active token
    #[arg(long, value_name = "U", value_parser = parse_user, value_hint = ValueHint::Other)]
    pub user: Option<String>,
    /// Why, for the record
    #[arg(long, value_name = "R", value_hint = ValueHint::Other, value_parser = parse_reason)]
    pub reason: Option<String>,
    /// Do not ask to confirm (required without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the revoked token's record as JSON (an array of records for several ids)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "user"])))]
pub struct RotateArgs {
    /// The token's id
    #[arg(value_name = "ID", value_hint = ValueHint::Other)]
    pub id: Option<String>,
    /// Rotate this user's active token
    #[arg(long, value_name = "U", value_hint = ValueHint::Other, value_parser = parse_user)]
    pub user: Option<String>,
    /// Lifetime of the successor (default: the original's, within the store's maximum)
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub expires_in: Option<Span>,
    /// Keep the old token valid this much longer (at most 24h and its remaining life)
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub grace: Option<Span>,
    #[command(flatten)]
    pub settings: SettingArgs,
    /// Do not ask to confirm (required without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the new token's record plus "token" as JSON
    #[arg(long)]
    pub json: bool,
}

/// The settings `update` changes and `rotate` changes for the successor.
#[derive(Debug, Args)]
#[command(next_help_heading = "Setting options")]
pub struct SettingArgs {
    /// A new short name for the token
    #[arg(long, value_name = "N", value_hint = ValueHint::Other, value_parser = parse_name)]
    pub name: Option<String>,
    /// A new description
    #[arg(long, value_name = "D", value_hint = ValueHint::Other, value_parser = parse_description)]
    pub description: Option<String>,
    /// Replace the scopes with these (repeatable)
    #[arg(long, value_name = "S", value_hint = ValueHint::Other, value_parser = parse_scope, conflicts_with_all = ["add_scope", "remove_scope"])]
    pub scope: Vec<Scope>,
    /// Add a scope (repeatable)
    #[arg(long, value_name = "S", value_hint = ValueHint::Other, value_parser = parse_scope)]
    pub add_scope: Vec<Scope>,
    /// Remove a scope the token has (repeatable)
    #[arg(long, value_name = "S", value_hint = ValueHint::Other, value_parser = parse_scope)]
    pub remove_scope: Vec<Scope>,
    /// Replace the rate limits, like 60/min or 10000/day (repeatable)
    #[arg(long, value_name = "N/UNIT", value_hint = ValueHint::Other, value_parser = parse_rate, conflicts_with = "no_rate_limit")]
    pub rate_limit: Vec<RateLimit>,
    /// Remove every rate limit
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Replace the IP allow-list with these addresses or CIDRs (repeatable)
    #[arg(long, value_name = "CIDR", value_hint = ValueHint::Other, value_parser = parse_ip_allow, conflicts_with = "clear_allow_ip")]
    pub allow_ip: Vec<IpAllow>,
    /// Remove the IP allow-list: any address may use the token
    #[arg(long)]
    pub clear_allow_ip: bool,
    /// Replace the origin allow-list with these origins (repeatable)
    #[arg(long, value_name = "O", value_hint = ValueHint::Other, value_parser = parse_origin, conflicts_with = "clear_allow_origin")]
    pub allow_origin: Vec<Origin>,
    /// Remove the origin allow-list: any origin may use the token
    #[arg(long)]
    pub clear_allow_origin: bool,
    /// Accept at most N valid verifies in the token's life, counting those so far
    #[arg(long, value_name = "N", value_hint = ValueHint::Other, value_parser = parse_max_uses)]
    pub max_uses: Option<u64>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "user"])))]
pub struct UpdateArgs {
    /// The token's id
    #[arg(value_name = "ID", value_hint = ValueHint::Other)]
    pub id: Option<String>,
    /// Change this user's active token
    #[arg(long, value_name = "U", value_hint = ValueHint::Other, value_parser = parse_user)]
    pub user: Option<String>,
    /// Expire this long from now; only ever sooner than the token's expiry
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub expires_in: Option<Span>,
    #[command(flatten)]
    pub settings: SettingArgs,
    /// Do not ask to confirm a change that widens access (required for one without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the changed token's record as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemindArgs {
    /// Remind this long before expiry (repeatable; default 7d and 1d)
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub within: Vec<Span>,
    /// Print the reminders as an array of audit events in JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token, or - (the default) to read it from stdin; in argv it is visible to `ps`
    #[arg(value_name = "TOKEN", value_hint = ValueHint::Other, conflicts_with = "stream")]
    pub token: Option<String>,
    /// Require this scope (repeatable; all are required)
    #[arg(long, value_name = "S", value_hint = ValueHint::Other, value_parser = parse_scope)]
    pub scope: Vec<Scope>,
    /// The caller's address, checked against the token's IP allow-list
    #[arg(long, value_name = "ADDR", value_hint = ValueHint::Other, value_parser = parse_ip)]
    pub ip: Option<std::net::IpAddr>,
    /// The caller's origin, checked against the token's origin allow-list
    #[arg(long, value_name = "O", value_hint = ValueHint::Other, value_parser = parse_origin)]
    pub origin: Option<Origin>,
    /// Require the token to belong to this user
    #[arg(long, value_name = "U", value_hint = ValueHint::Other, value_parser = parse_user, conflicts_with = "stream")]
    pub user: Option<String>,
    /// Print nothing; the exit code says it all
    #[arg(long, short = 'q', conflicts_with_all = ["json", "stream"])]
    pub quiet: bool,
    /// Print one JSON document, whatever the outcome
    #[arg(long, conflicts_with = "stream")]
    pub json: bool,
    /// Check many tokens, one per line on stdin; one JSON line per token on stdout
    #[arg(long)]
    pub stream: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new SQLite file (never an existing one); created mode 0600
    #[arg(value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The new store: a path (or sqlite:PATH) for a new SQLite file, or a postgres:// URL of a
    /// database that holds no tokman store yet
    #[arg(long, value_name = "STORE", value_hint = ValueHint::Other)]
    pub to: std::ffi::OsString,
    /// Copy without asking (on a terminal, copy asks first)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("format").args(["json", "sarif"])))]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively, honouring .gitignore; binary
    /// files in them are skipped), or - for stdin [default: .]
    #[arg(value_name = "PATH", value_hint = ValueHint::AnyPath, conflicts_with = "staged")]
    pub paths: Vec<PathBuf>,
    /// Scan what is staged in the git repository here (what a commit would add)
    #[arg(long)]
    pub staged: bool,
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
    /// Print SARIF 2.1.0 (for GitHub code scanning and editors)
    #[arg(long)]
    pub sarif: bool,
    /// Revoke every live token found, with the reason `leaked in FILE`, in one transaction
    #[arg(long)]
    pub revoke: bool,
    /// Revoke without asking (required with --revoke when there is no terminal)
    #[arg(long, short = 'y', requires = "revoke")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Also delete revoked tokens
    #[arg(long)]
    pub revoked: bool,
    /// Say what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print nothing unless something was purged or went wrong
    #[arg(long, short = 'q', conflicts_with = "json")]
    pub quiet: bool,
    /// Print {"purged": N, "ids": [...], "dry_run": false}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events since then: a duration back from now (7d), a date (2026-11-01, UTC) or an
    /// RFC 3339 time
    #[arg(long, value_name = "DUR|DATE", value_hint = ValueHint::Other, value_parser = parse_since, conflicts_with = "check")]
    pub since: Option<Since>,
    /// Only events of this kind (repeatable: any of them)
    #[arg(
        long = "event",
        value_name = "KIND",
        value_enum,
        conflicts_with = "check"
    )]
    pub events: Vec<EventKind>,
    /// Only events about this user
    #[arg(long, value_name = "U", value_hint = ValueHint::Other, value_parser = parse_user, conflicts_with = "check")]
    pub user: Option<String>,
    /// Only events about this token id
    #[arg(long, value_name = "ID", value_hint = ValueHint::Other, conflicts_with = "check")]
    pub id: Option<String>,
    /// Print the events as a JSON array
    #[arg(long)]
    pub json: bool,
    /// Verify the log is intact and print its head (64 hex digits)
    #[arg(long)]
    pub check: bool,
    /// With --check: fail (exit 12) unless this head, noted earlier, is the log's head or an earlier head of it
    #[arg(long, value_name = "H", value_hint = ValueHint::Other, requires = "check", value_parser = parse_head)]
    pub expect_head: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SettingsArgs {
    #[command(subcommand)]
    pub set: Option<SettingsCommand>,
    /// Print the settings as one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Change settings; the maximum token lifetime can only be shortened
    #[command(after_help = "Examples:\n  \
        tokman settings set --max-lifetime 30d   # tokens issued before keep their expiry\n  \
        tokman settings set --default-rate-limit 60/min --default-rate-limit 10000/day\n  \
        tokman settings set --no-default-rate-limit --no-notify-command")]
    Set(SettingsSetArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true).args([
    "max_lifetime",
    "default_rate_limit",
    "no_default_rate_limit",
    "notify_command",
    "no_notify_command",
    "audit_retention",
])))]
pub struct SettingsSetArgs {
    /// A shorter maximum (and default) token lifetime; tokens issued before keep their expiry
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub max_lifetime: Option<Span>,
    /// Replace the rate limits of tokens generated without --rate-limit (repeatable)
    #[arg(long, value_name = "N/UNIT", value_hint = ValueHint::Other, value_parser = parse_rate, conflicts_with = "no_default_rate_limit")]
    pub default_rate_limit: Vec<RateLimit>,
    /// Generate tokens without a rate limit unless --rate-limit is given
    #[arg(long)]
    pub no_default_rate_limit: bool,
    /// Run this with `sh -c` after every change, the event as JSON on stdin
    #[arg(long, value_name = "CMD", conflicts_with = "no_notify_command")]
    pub notify_command: Option<String>,
    /// Run no notify command
    #[arg(long)]
    pub no_notify_command: bool,
    /// How long the audit log keeps events before `purge` drops them
    #[arg(long, value_name = "DUR", value_hint = ValueHint::Other, value_parser = parse_span)]
    pub audit_retention: Option<Span>,
}

/// Where `audit --since` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(Span),
    /// This instant (Unix seconds).
    At(tokman::lifecycle::Timestamp),
}

fn parse_since(s: &str) -> Result<Since, Error> {
    let t = s.trim();
    if t.starts_with(|c: char| c.is_ascii_digit()) && !t.contains('-') {
        return Span::parse(t).map(Since::Ago);
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp());
        if let Some(at) = midnight {
            return Ok(Since::At(at));
        }
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| Since::At(d.timestamp()))
        .map_err(|_| {
            Error::usage_hint(
                format!("`{}` is neither a duration nor a date", tokman::text::escape(t)),
                "give a duration back from now (7d, 12h), a date (2026-11-01) or an RFC 3339 time (2026-11-01T09:30:00Z)",
            )
        })
}

/// An audit event kind, as `audit --event` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum EventKind {
    Init,
    Generate,
    Rotate,
    Revoke,
    Purge,
    KeyAdd,
    KeyRemove,
    KeyPassphrase,
    VerifyRefused,
    Update,
    Expiring,
    Settings,
    Rekey,
    Upgrade,
    Copy,
}

impl EventKind {
    pub fn kind(self) -> tokman::audit::Kind {
        use tokman::audit::Kind;
        match self {
            EventKind::Init => Kind::Init,
            EventKind::Generate => Kind::Generate,
            EventKind::Rotate => Kind::Rotate,
            EventKind::Revoke => Kind::Revoke,
            EventKind::Purge => Kind::Purge,
            EventKind::KeyAdd => Kind::KeyAdd,
            EventKind::KeyRemove => Kind::KeyRemove,
            EventKind::KeyPassphrase => Kind::KeyPassphrase,
            EventKind::VerifyRefused => Kind::VerifyRefused,
            EventKind::Update => Kind::Update,
            EventKind::Expiring => Kind::Expiring,
            EventKind::Settings => Kind::Settings,
            EventKind::Rekey => Kind::Rekey,
            EventKind::Upgrade => Kind::Upgrade,
            EventKind::Copy => Kind::Copy,
        }
    }
}

/// Where `serve` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen on ADDR:PORT (port 0 picks a free one), or on a Unix socket with unix:PATH
    /// (mode 0600, or 0660 with --socket-group)
    #[arg(long, value_name = "ADDR", value_hint = ValueHint::Other, default_value = "127.0.0.1:7070", value_parser = parse_listen)]
    pub listen: Listen,
    /// Take the client address from X-Forwarded-For or X-Real-IP when the peer is in this
    /// network (repeatable; a bare address is one host)
    #[arg(long, value_name = "CIDR", value_hint = ValueHint::Other, value_parser = parse_cidr)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// Give the Unix socket to this group, mode 0660 (the proxy's group)
    #[arg(long, value_name = "G", value_hint = ValueHint::Other)]
    pub socket_group: Option<String>,
    /// The status for a rate-limited token: 403 (what nginx auth_request accepts) or 429
    #[arg(long, value_name = "CODE", default_value = "403", value_parser = ["403", "429"])]
    pub limited_status: String,
    /// No request log on stderr
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_listen(s: &str) -> Result<Listen, Error> {
    if let Some(path) = s.strip_prefix("unix:") {
        if path.is_empty() {
            return Err(Error::usage(
                "unix: needs a socket path, as in unix:/run/tokman.sock",
            ));
        }
        return Ok(Listen::Unix(PathBuf::from(path)));
    }
    s.parse().map(Listen::Tcp).map_err(|_| {
        Error::usage(format!(
            "{s} is not an address to listen on: give ADDR:PORT (127.0.0.1:7070, [::1]:7070) or unix:PATH"
        ))
    })
}

fn parse_cidr(s: &str) -> Result<ipnet::IpNet, Error> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            Error::usage(format!(
                "{s} is not a network: give a CIDR (10.0.0.0/8) or an address"
            ))
        })
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new key file (mode 0600) and add a slot that it unlocks
    #[command(after_help = "Example:\n  tokman key add-file /etc/tokman/cron.key --label cron")]
    AddFile {
        /// Where to write the key file; it must not exist
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// A label to recognise the slot by
        #[arg(long, value_name = "L", value_hint = ValueHint::Other, value_parser = parse_label)]
        label: Option<String>,
    },
    /// Add the passphrase slot, or change its passphrase (from TOKMAN_NEW_PASSPHRASE or a prompt)
    #[command(
        after_help = "Example:\n  TOKMAN_NEW_PASSPHRASE=… tokman key passphrase --key-file admin.key"
    )]
    Passphrase,
    /// List the slots (never key material)
    #[command(after_help = "Example:\n  tokman key list --json")]
    List {
        /// Print the slots as JSON
        #[arg(long)]
        json: bool,
    },
    /// Remove a slot; its key file or passphrase no longer unlocks the store (asks first)
    #[command(after_help = "Examples:\n  \
        tokman key remove 2\n  \
        tokman key remove 2 --yes   # in a script: there is nobody to ask")]
    Remove {
        /// The slot number, as `tokman key list` shows it
        #[arg(value_name = "SLOT", value_hint = ValueHint::Other)]
        slot: i64,
        /// Do not ask to confirm (required without a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Replace the master key: seal everything again, keep only this slot (asks first)
    #[command(after_help = "Examples:\n  \
        tokman key rekey --key-file admin.key --new-key-file /etc/tokman/cron.key\n  \
        tokman key rekey --yes   # in a script: there is nobody to ask\n\n\
        Every slot but the one that unlocked the store (and the new key file's) is removed: no\n\
        removed key file or passphrase, and no old copy of a key, opens this store any more.\n\
        Tokens keep verifying. A copy of the store made before still opens with the old keys.")]
    Rekey {
        /// Also write a new key file (mode 0600) that unlocks the rekeyed store
        #[arg(long, value_name = "PATH")]
        new_key_file: Option<PathBuf>,
        /// Do not ask to confirm (required without a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// A path from a flag. Empty is allowed here and means "not set", as an empty variable does
/// (`--key-file "$KEY"` with `KEY` unset is not a usage error); `Config` drops it.
/// Any path but an empty one: `--store "$UNSET"` in a script is a mistake to report, never a
/// quiet fall back to the environment or the default store (an empty variable does count as
/// unset).
fn any_path(s: &str) -> Result<PathBuf, Error> {
    if s.is_empty() {
        return Err(Error::usage(
            "the path is empty; leave the flag out to use the environment or the default",
        ));
    }
    Ok(PathBuf::from(s))
}

fn parse_span(s: &str) -> Result<Span, Error> {
    Span::parse(s)
}

fn parse_prefix(s: &str) -> Result<Prefix, Error> {
    Prefix::parse(s)
}

fn parse_rate(s: &str) -> Result<RateLimit, Error> {
    RateLimit::parse(s)
}

fn parse_scope(s: &str) -> Result<Scope, Error> {
    Scope::parse(s)
}

fn parse_ip_allow(s: &str) -> Result<IpAllow, Error> {
    IpAllow::parse(s)
}

fn parse_ip(s: &str) -> Result<std::net::IpAddr, Error> {
    tokman::policy::parse_ip(s)
}

fn parse_origin(s: &str) -> Result<Origin, Error> {
    Origin::parse(s)
}

fn parse_user(s: &str) -> Result<String, Error> {
    tokman::policy::normalize_user(s)
}

fn parse_name(s: &str) -> Result<String, Error> {
    tokman::policy::normalize_text("name", s, 256, TextKind::Name)
}

fn parse_label(s: &str) -> Result<String, Error> {
    tokman::policy::normalize_text("label", s, 256, TextKind::Name)
}

fn parse_description(s: &str) -> Result<String, Error> {
    tokman::policy::normalize_text("description", s, 4096, TextKind::Free)
}

fn parse_reason(s: &str) -> Result<String, Error> {
    tokman::policy::normalize_text("reason", s, 1024, TextKind::Name)
}

fn parse_limit(s: &str) -> Result<usize, Error> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Error::usage("expected a whole number of at least 1")),
    }
}

fn parse_max_uses(s: &str) -> Result<u64, Error> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Error::usage(
            "expected a whole number of uses, at least 1 (1 makes a one-time token)",
        )),
    }
}

fn parse_head(s: &str) -> Result<String, Error> {
    let s = s.trim();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(Error::usage(
            "expected 64 hex digits, as `tokman audit --check` prints",
        ))
    }
}

/// A token id argument. A whole token pasted where an id belongs is refused without echoing
/// it, since error messages end up in terminals and logs; that is why ID arguments reach the
/// commands as plain strings and are checked there, not by clap (whose message quotes them).
pub fn parse_id(s: &str) -> Result<TokenId, Error> {
    if token::parse(s).is_ok() {
        return Err(Error::usage_hint(
            "that is a whole token, not a token id",
            "a token id is its first part, like tm_4f7k2m9q0xyz; to look a whole token up, pipe it to `tokman inspect -`",
        ));
    }
    if s.len() > 40 {
        return Err(Error::usage_hint(
            "not a token id",
            "a token id looks like tm_4f7k2m9q0xyz",
        ));
    }
    TokenId::parse(s)
}

pub fn parse_target(s: &str) -> Result<Target, Error> {
    if s == "-" {
        Ok(Target::Stdin)
    } else {
        parse_id(s).map(Target::Id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn audit_event_takes_every_kind_by_its_name() {
        let kinds: Vec<tokman::audit::Kind> = EventKind::value_variants()
            .iter()
            .map(|k| {
                let name = k.to_possible_value().unwrap().get_name().to_owned();
                assert_eq!(name, k.kind().as_str());
                k.kind()
            })
            .collect();
        assert_eq!(kinds, tokman::audit::Kind::ALL);
    }

    #[test]
    fn since_is_a_duration_a_date_or_a_time() {
        assert_eq!(
            parse_since("7d").unwrap(),
            Since::Ago(Span::from_secs(7 * 86400))
        );
        assert_eq!(parse_since("2026-11-01").unwrap(), Since::At(1_793_491_200));
        assert_eq!(
            parse_since("2026-11-01T01:00:00+01:00").unwrap(),
            Since::At(1_793_491_200)
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "0d",
            "7",
            "2026-11-01T25:00:00Z",
            "",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn long_help_lists_every_exit_code_and_variable() {
        let help = Cli::command().render_long_help().to_string();
        for code in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 70, 74] {
            assert!(
                help.contains(&format!("\n  {code:<3} ")),
                "exit code {code} missing"
            );
        }
        for var in [
            "TOKMAN_STORE",
            "TOKMAN_KEY_FILE",
            "TOKMAN_PASSPHRASE_FILE",
            "TOKMAN_PASSPHRASE",
            "TOKMAN_NEW_PASSPHRASE",
            "NO_COLOR",
        ] {
            assert!(help.contains(var), "{var} missing");
        }
    }
}
