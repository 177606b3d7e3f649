//! `tokman init`: create a store, unlocked by a passphrase or a new key file, and suggest a
//! second way to unlock it.

use super::{Ctx, now, say};
use crate::cli::InitArgs;
use tokman::crypto::KeyFileKey;
use tokman::error::{Error, Result};
use tokman::key_file;
use tokman::lifecycle::Settings;
use tokman::store::{NewSlot, Store};

/// Why a store wants a second slot: nothing (not even tokman) can open it without one of its keys.
const LOSING_EVERY_KEY: &str = "if every key is lost the store cannot be opened";

pub fn run(ctx: &Ctx<'_>, a: InitArgs) -> Result<i32> {
    let settings = Settings {
        max_lifetime: a.max_lifetime,
        default_rate_limits: a.default_rate_limit,
        notify_command: a.notify_command,
        audit_retention: a.audit_retention,
    };
    settings.check()?;
    let path = &ctx.cfg.store;
    // Refused before a passphrase is asked for (a database is checked by the create itself).
    if path.path().is_some_and(|p| p.exists()) {
        return Err(Error::conflict(
            format!("a store already exists at {path}"),
            "use it, or pass --store PATH to create another",
        ));
    }
    // The store's own refusal (a database, or a file made meanwhile), with this flag's words.
    let exists = |e: Error| match e {
        Error::Conflict { message, .. } => Error::conflict(
            message,
            if path.path().is_some() {
                "use it, or pass --store PATH to create another"
            } else {
                "use it, or pass --store with another database"
            },
        ),
        other => other,
    };
    match &a.new_key_file {
        Some(key_path) => {
            // The key waits under a temporary name until the store it opens exists: a failed or
            // killed init never leaves a key file in the way of the next try.
            let key = KeyFileKey::generate();
            let staged = key_file::stage(key_path, &key)?;
            Store::create(
                path,
                &a.prefix,
                &settings,
                NewSlot::KeyFile(&key),
                Some("init"),
                now(),
            )
            .map_err(exists)?;
            staged.publish(format_args!("the new store at {path}"))?;
            say(format_args!(
                "created a store at {}, unlocked by the key file {}",
                path,
                key_path.display()
            ));
            say(format_args!(
                "tip: add a passphrase too with `tokman key passphrase --key-file {}` — {LOSING_EVERY_KEY}",
                key_path.display()
            ));
        }
        None => {
            let pass = ctx.cfg.passphrase_for_new_store(ctx.prompter)?;
            Store::create(
                path,
                &a.prefix,
                &settings,
                NewSlot::Passphrase(&pass),
                Some("init"),
                now(),
            )
            .map_err(exists)?;
            say(format_args!("created a store at {}", path));
            say(format_args!(
                "tip: add a second way to unlock with `tokman key add-file PATH` — {LOSING_EVERY_KEY}"
            ));
        }
    }
    Ok(0)
}
