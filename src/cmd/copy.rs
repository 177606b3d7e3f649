//! `tokman info`, `tokman backup` and `tokman copy`: what a store is, and copies of it.

use super::{Ctx, now, out, out_json, say};
use crate::cli::{BackupArgs, CopyArgs, InfoArgs};
use crate::config::UnlockSource;
use tokman::error::{Error, Result};
use tokman::service::{Counts, Service};
use tokman::store::{Durability, Location, Store};

/// `info`: the public part needs no key; with a key file or passphrase given (never a prompt),
/// also the counts by status and the audit head.
pub fn info(ctx: &Ctx<'_>, a: InfoArgs) -> Result<i32> {
    let mut store = Store::open(&ctx.cfg.store, Durability::Full)?;
    let public = store.public_info()?;
    let unlockable = !matches!(ctx.cfg.unlock, UnlockSource::Prompt | UnlockSource::Nothing);
    let private = if unlockable {
        let (unlocked, _) = ctx.cfg.unlock(&mut store, ctx.prompter)?;
        let mut service = Service::new(store, unlocked);
        service.upgrade(now())?;
        let Counts {
            active,
            rotating,
            expired,
            revoked,
            head,
        } = service.counts(now())?;
        Some((active, rotating, expired, revoked, head))
    } else {
        None
    };
    let slot_kinds = |kind: &str| public.slots.iter().filter(|(_, k)| k == kind).count();
    if a.json {
        use crate::views::{ByStatus, Info, InfoSlot};
        return out_json(&Info {
            store: ctx.cfg.store.to_string(),
            backend: public.backend,
            schema_version: public.version,
            prefix: &public.prefix,
            tokens: public.tokens,
            tokens_by_status: private
                .as_ref()
                .map(|&(active, rotating, expired, revoked, _)| ByStatus {
                    active,
                    rotating,
                    expired,
                    revoked,
                }),
            slots: public
                .slots
                .iter()
                .map(|(slot, kind)| InfoSlot { slot: *slot, kind })
                .collect(),
            events: public.events,
            audit_head: private.as_ref().map(|p| p.4.as_str()),
        })
        .map(|()| 0);
    }
    let tokens = match &private {
        Some((active, rotating, expired, revoked, _)) => {
            let rotating = if *rotating > 0 {
                format!("{rotating} rotating, ")
            } else {
                String::new()
            };
            format!(
                "{} ({active} active, {rotating}{expired} expired, {revoked} revoked)",
                public.tokens
            )
        }
        None => format!(
            "{} (give a key file or passphrase to count them by status)",
            public.tokens
        ),
    };
    let mut text = String::new();
    let shown = |v: &str| crate::render::escape(v).into_owned();
    text.push_str(&format!("store    {}\n", shown(&ctx.cfg.store.to_string())));
    text.push_str(&format!(
        "backend  {} (store version {})\n",
        public.backend, public.version
    ));
    text.push_str(&format!("prefix   {}\n", shown(&public.prefix)));
    text.push_str(&format!("tokens   {tokens}\n"));
    text.push_str(&format!(
        "slots    {} ({} passphrase, {} key file)\n",
        public.slots.len(),
        slot_kinds("passphrase"),
        slot_kinds("keyfile")
    ));
    text.push_str(&format!("events   {}\n", public.events));
    if let Some((.., head)) = &private {
        text.push_str(&format!("head     {head}\n"));
    }
    out(&text)?;
    Ok(0)
}

/// `backup PATH`: a consistent SQLite copy, from a read snapshot; the store is not changed.
pub fn backup(ctx: &Ctx<'_>, a: BackupArgs) -> Result<i32> {
    let dest = Location::Sqlite(a.path);
    let (mut service, how) = ctx.unlock(Durability::Full)?;
    let copied = service.backup(&how, &dest, now()).map_err(|e| match e {
        Error::Conflict { message, .. } => Error::conflict(
            message,
            "a backup never replaces a file: choose a new path, or move the old one away",
        ),
        other => other,
    })?;
    say(format_args!(
        "backed up {} to {dest}: {} token{}, {} event{}, audit head {}",
        service.location(),
        copied.tokens,
        plural(copied.tokens),
        copied.events,
        plural(copied.events),
        copied.head
    ));
    service.note_slot_used(now());
    Ok(0)
}

/// `copy --to STORE`: the whole store into a new one of either backend; the source records a
/// `copy` event that the copy holds too, so both have the same audit head.
pub fn copy(ctx: &Ctx<'_>, a: CopyArgs) -> Result<i32> {
    let dest = Location::parse(&a.to)?;
    if let Location::Postgres(t) = &dest
        && t.url_has_password()
    {
        super::warn(
            "the --to URL holds a password, which every user can see in `ps`; put it in PGPASSWORD or ~/.pgpass instead",
        );
    }
    if dest.to_string() == ctx.cfg.store.to_string() {
        return Err(Error::usage("--to names the store being copied"));
    }
    let (mut service, how) = ctx.unlock(Durability::Full)?;
    // Nothing is lost by a copy (its target must be new): ask on a terminal, never require
    // --yes of a script.
    if ctx.cfg.terminal.stdin {
        ctx.confirm(
            a.yes,
            &format!("Copy the store at {} to {dest}?", service.location()),
        )?;
    }
    let copied = service.copy(&how, &dest, now()).map_err(|e| match e {
        Error::Conflict { message, .. } => Error::conflict(
            message,
            "a copy goes only into a new store: pass --to with another path or database",
        ),
        other => other,
    })?;
    say(format_args!(
        "copied {} to {dest}: {} token{}, {} event{}; both stores' audit head is {}",
        service.location(),
        copied.tokens,
        plural(copied.tokens),
        copied.events,
        plural(copied.events),
        copied.head
    ));
    if let Some(entry) = &copied.entry {
        super::notify::run(&mut service, entry);
    }
    Ok(0)
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
