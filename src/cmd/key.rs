//! `tokman key`: manage the ways to unlock the store. Every slot wraps the same master key, so
//! adding or removing one never re-encrypts a token; `key rekey` replaces that key.

use super::{Ctx, now, out, out_json, require_yes, say};
use crate::cli::KeyCommand;
use crate::render;
use tokman::crypto::KeyFileKey;
use tokman::error::Result;
use tokman::key_file;
use tokman::service::Service;
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, cmd: KeyCommand) -> Result<i32> {
    match cmd {
        KeyCommand::AddFile { path, label } => {
            // Before asking for a passphrase: a taken path is refused at once.
            key_file::ensure_absent(&path)?;
            let (mut service, how) = ctx.unlock(Durability::Full)?;
            let key = KeyFileKey::generate();
            // The key waits under a temporary name (removed if anything below fails) and gets
            // its name only once its slot has committed: a kill never leaves a key file that
            // unlocks nothing at `path`.
            let staged = key_file::stage(&path, &key)?;
            let notify = super::notify::command(&mut service);
            let (slot, entry) = service.add_key_file(&how, &key, label.as_deref(), now())?;
            // Committed: the event is notified even when the key file cannot get its name (the
            // error then says where the key was kept).
            let published = staged.publish(format_args!("slot {slot}"));
            super::notify::send(&notify, &entry);
            published?;
            say(format_args!(
                "added slot {slot}: the key file {} unlocks this store",
                path.display()
            ));
        }
        KeyCommand::Passphrase => {
            let (mut service, how) = ctx.unlock(Durability::Full)?;
            let pass = ctx.cfg.new_passphrase(ctx.prompter)?;
            // Read first: the passphrase's new slot replaces the one that unlocked the store.
            let notify = super::notify::command(&mut service);
            let entry = service.set_passphrase(&how, &pass, now())?;
            say(entry.event.detail.as_deref().unwrap_or_default());
            super::notify::send(&notify, &entry);
        }
        KeyCommand::List { json } => {
            let (mut service, _) = ctx.unlock_to_read()?;
            service.note_slot_used(now());
            let slots = service.slots()?;
            if json {
                out_json(
                    &(slots
                        .iter()
                        .map(crate::views::Slot::new)
                        .collect::<Vec<_>>()),
                )?;
            } else {
                out(&format!(
                    "{}\n",
                    render::slot_table(&slots, now(), ctx.style())
                ))?;
            }
        }
        KeyCommand::Remove { slot, yes } => {
            require_yes(ctx.cfg, yes, "key remove")?;
            let (mut service, _) = ctx.unlock(Durability::Full)?;
            if !yes {
                confirm_remove(ctx, &mut service, slot)?;
            }
            // Read first: the slot removed may be the one that unlocked the store.
            let notify = super::notify::command(&mut service);
            let (info, entry) = service.remove_slot(slot, now())?;
            say(format_args!("removed slot {slot} ({})", info.kind));
            super::notify::send(&notify, &entry);
        }
        KeyCommand::Rekey { new_key_file, yes } => rekey(ctx, new_key_file, yes)?,
    }
    Ok(0)
}

/// Ask before removing a slot, naming it. The question is asked outside any write transaction,
/// so nobody waits on the lock while a person reads it; the removal then checks the slot again.
/// No question for a slot that is not there or is the last one: the removal refuses those.
fn confirm_remove(ctx: &Ctx<'_>, service: &mut Service, slot: i64) -> Result<()> {
    let slots = service.slots()?;
    let Some(info) = slots.iter().find(|s| s.slot == slot) else {
        return Ok(());
    };
    if slots.len() == 1 {
        return Ok(());
    }
    let what = if info.kind == "passphrase" {
        "passphrase"
    } else {
        "key file"
    };
    let label = info
        .label
        .as_deref()
        .map_or_else(String::new, |l| format!(", {}", render::escape(l)));
    let used = if slot == service.unlocked_slot() {
        ", the one that unlocked it just now,"
    } else {
        ""
    };
    ctx.confirm(
        false,
        &format!(
            "Remove slot {slot} ({what}{label})? Its {what}{used} will no longer unlock this store"
        ),
    )
}

/// `key rekey`: a new master key, everything sealed again, only the unlocking slot (and the new
/// key file's) kept. The new key file waits under a temporary name until the rekey commits.
fn rekey(ctx: &Ctx<'_>, new_key_file: Option<std::path::PathBuf>, yes: bool) -> Result<()> {
    require_yes(ctx.cfg, yes, "key rekey")?;
    if let Some(path) = &new_key_file {
        key_file::ensure_absent(path)?;
    }
    let (mut service, how) = ctx.unlock(Durability::Full)?;
    if !yes {
        confirm_rekey(ctx, &mut service)?;
    }
    let key = new_key_file.as_ref().map(|_| KeyFileKey::generate());
    let staged = match (&new_key_file, &key) {
        (Some(path), Some(key)) => Some(key_file::stage(path, key)?),
        _ => None,
    };
    let done = service.rekey(&how, key.as_ref(), now())?;
    // Committed: whatever follows, the summary is said and the event notified; a key file that
    // could not get its name is reported last (its message says where the key was kept).
    let published = match (staged, done.added) {
        (Some(staged), Some(slot)) => {
            staged.publish(format_args!("slot {slot} of the rekeyed store"))
        }
        _ => Ok(()),
    };
    say(format_args!(
        "replaced the master key: {} token{} and {} audit event{} sealed again, every token still verifies",
        done.tokens,
        if done.tokens == 1 { "" } else { "s" },
        done.events,
        if done.events == 1 { "" } else { "s" },
    ));
    say(format_args!(
        "kept slot {} ({}), the one that unlocked it",
        done.kept.slot, done.kept.kind
    ));
    for removed in &done.removed {
        say(format_args!(
            "removed slot {} ({}): it no longer unlocks this store",
            removed.slot, removed.kind
        ));
    }
    if let (Some(slot), Some(path), Ok(())) = (done.added, &new_key_file, &published) {
        say(format_args!(
            "added slot {slot}: the key file {} unlocks this store",
            path.display()
        ));
    }
    if !done.scrubbed && service.location().path().is_some() {
        super::warn(
            "the store file could not be compacted (another process has it open): until it is, it may still hold old sealed values; run `tokman key rekey` again later to be sure",
        );
    }
    say(
        "note: a copy of the store made before (a backup) still opens with the old keys; the audit heads noted before stay valid",
    );
    super::notify::run(&mut service, &done.entry);
    published
}

/// Ask before a rekey, naming the slots it removes.
fn confirm_rekey(ctx: &Ctx<'_>, service: &mut Service) -> Result<()> {
    let used = service.unlocked_slot();
    let others: Vec<String> = service
        .slots()?
        .iter()
        .filter(|s| s.slot != used)
        .map(|s| {
            let label = s
                .label
                .as_deref()
                .map_or_else(String::new, |l| format!(", {}", render::escape(l)));
            format!("{} ({}{label})", s.slot, s.kind)
        })
        .collect();
    let removing = if others.is_empty() {
        String::new()
    } else {
        format!(
            " and remove slot {}: their keys will no longer unlock this store",
            others.join(", ")
        )
    };
    ctx.confirm(
        false,
        &format!(
            "Replace the master key, keeping slot {used} (the one that unlocked it just now){removing}?"
        ),
    )
}
