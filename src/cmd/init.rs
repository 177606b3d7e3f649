//! `tokman init`: create a store, unlocked by a passphrase or a new key file.

use super::{Ctx, now, say};
use crate::cli::InitArgs;
use crate::crypto::KeyFileKey;
use crate::error::{Error, Result};
use crate::key_file;
use crate::lifecycle::Settings;
use crate::store::{NewSlot, Store};

pub fn run(ctx: &Ctx<'_>, a: InitArgs) -> Result<i32> {
    let settings = Settings {
        max_lifetime: a.max_lifetime,
        default_rate_limits: a.default_rate_limit,
        notify_command: a.notify_command,
        audit_retention: a.audit_retention,
    };
    settings.check()?;
    let path = &ctx.cfg.store;
    if path.exists() {
        return Err(Error::conflict(
            format!("a store already exists at {}", path.display()),
            "use it, or pass --store PATH to create another",
        ));
    }
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
            )?;
            staged.publish(format_args!("the new store at {}", path.display()))?;
            say(format_args!(
                "created a store at {}, unlocked by the key file {}",
                path.display(),
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
            )?;
            say(format_args!("created a store at {}", path.display()));
        }
    }
    Ok(0)
}
