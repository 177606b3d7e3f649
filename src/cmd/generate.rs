//! `tokman generate`: issue a token and show it, the one time it is ever shown.

use super::{Ctx, now, out, out_json, say};
use crate::cli::GenerateArgs;
use crate::config::UnlockSource;
use crate::render;
use tokman::crypto::Passphrase;
use tokman::error::{Error, Result};
use tokman::lifecycle::{MAX_LIFETIME, Request, Settings};
use tokman::service::{Issued, Service};
use tokman::store::{Durability, NewSlot, Store, Unlock};
use tokman::token::{Prefix, TokenId};

pub fn run(ctx: &Ctx<'_>, a: GenerateArgs) -> Result<i32> {
    if let Some(span) = a.expires_in
        && span > MAX_LIFETIME
    {
        return Err(Error::usage(format!(
            "--expires-in {span} is longer than the maximum token lifetime of {MAX_LIFETIME}"
        )));
    }
    let request = Request {
        user: a.user,
        name: a.name,
        description: a.description,
        scopes: a.scope,
        expires_in: a.expires_in,
        rate_limits: if a.no_rate_limit {
            Some(Vec::new())
        } else if a.rate_limit.is_empty() {
            None
        } else {
            Some(a.rate_limit)
        },
        allowed_ips: a.allow_ip,
        allowed_origins: a.allow_origin,
        max_uses: a.max_uses,
    };
    let mut service = match create_if_missing(ctx)? {
        // Just created with this passphrase: unlock with it rather than asking again.
        Some(pass) => {
            let mut store = Store::open(&ctx.cfg.store, Durability::Full)?;
            let unlocked = store.unlock(&Unlock::Passphrase(pass))?;
            Service::new(store, unlocked)
        }
        None => ctx.unlock(Durability::Full)?.0,
    };
    let issued = service.generate(request, now())?;
    let shown = show_issued(ctx, &issued, "generated", a.json);
    // The token is committed: notify even if it could not be shown.
    super::notify::run(&mut service, &issued.entry);
    shown.map_err(|e| unprinted(&issued.record.id, e))?;
    Ok(0)
}

/// `generate` on a missing store creates it, as `init` with defaults would, and returns the
/// passphrase it was created with (`None` when the store already existed).
fn create_if_missing(ctx: &Ctx<'_>) -> Result<Option<Passphrase>> {
    let location = &ctx.cfg.store;
    // Only a SQLite file is made on first use: a database is created on purpose, by `init`.
    match location.path() {
        Some(path) if !path.exists() => {}
        _ => return Ok(None),
    }
    if let UnlockSource::KeyFile(_) = ctx.cfg.unlock {
        return Err(Error::StoreMissing {
            store: location.to_string(),
            hint: "a key file cannot create a store; create one unlocked by a new key file with `tokman init --new-key-file PATH`".into(),
        });
    }
    let pass = ctx.cfg.passphrase_for_new_store(ctx.prompter)?;
    match Store::create(
        location,
        &Prefix::default(),
        &Settings::default(),
        NewSlot::Passphrase(&pass),
        Some("init"),
        now(),
    ) {
        Ok(()) => {
            say(format_args!("created a new store at {location}"));
            Ok(Some(pass))
        }
        // Another command created it first: use that one, with the same passphrase.
        Err(Error::Conflict { .. }) => Ok(Some(pass)),
        Err(e) => Err(e),
    }
}

/// A new token that could not be printed: it exists, nobody has it, and it cannot be shown
/// again, so say so loudly (exit 74), never a silent success on a closed pipe.
pub fn unprinted(id: &TokenId, e: Error) -> Error {
    let cause = match e {
        Error::BrokenPipe => "stdout was closed".to_owned(),
        other => other.to_string(),
    };
    Error::Unprinted {
        message: format!("token {id} was issued but could not be printed: {cause}"),
        hint: format!(
            "it can never be shown again: revoke it with `tokman revoke {id} --yes` and issue a new one"
        ),
    }
}

/// Print a new token: JSON, a box on a terminal, or exactly the token on a pipe.
pub fn show_issued(ctx: &Ctx<'_>, issued: &Issued, verb: &str, json: bool) -> Result<()> {
    let now = issued.record.created_at;
    if json {
        out_json(&crate::views::NewToken {
            record: crate::views::TokenRecord::new(&issued.record, None, now),
            token: issued.token.expose(),
        })
    } else if ctx.cfg.terminal.stdout {
        out(&render::token_box(
            issued.token.expose(),
            &issued.record,
            now,
            ctx.style().width,
        ))
    } else {
        out(&format!("{}\n", issued.token.expose()))?;
        say(render::issued_summary(verb, &issued.record, now));
        Ok(())
    }
}
