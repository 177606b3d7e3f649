//! `tokman key`: manage the ways to unlock the store. Every slot wraps the same master key, so
//! adding or removing one never re-encrypts a token.

use super::{Ctx, note_slot_used, now, out, out_json, require_yes, say};
use crate::cli::KeyCommand;
use crate::render;
use tokman::audit::Kind;
use tokman::crypto::KeyFileKey;
use tokman::error::Result;
use tokman::key_file;
use tokman::ops;
use tokman::store::{Durability, NewSlot, Store, Unlocked};

pub fn run(ctx: &Ctx<'_>, cmd: KeyCommand) -> Result<i32> {
    match cmd {
        KeyCommand::AddFile { path, label } => {
            // Before asking for a passphrase: a taken path is refused at once.
            key_file::ensure_absent(&path)?;
            let (mut store, unlocked, how) = ctx.unlock(Durability::Full)?;
            let key = KeyFileKey::generate();
            // The key waits under a temporary name (removed if anything below fails) and gets
            // its name only once its slot has committed: a kill never leaves a key file that
            // unlocks nothing at `path`.
            let staged = key_file::stage(&path, &key)?;
            let now = now();
            let mut tx = store.write(&unlocked)?;
            let slot = tx.add_slot(&how, NewSlot::KeyFile(&key), label.as_deref(), now)?;
            ops::key_event(&mut tx, Kind::KeyAdd, format!("slot {slot}: key file"), now)?;
            tx.commit()?;
            staged.publish(format_args!("slot {slot}"))?;
            say(format_args!(
                "added slot {slot}: the key file {} unlocks this store",
                path.display()
            ));
        }
        KeyCommand::Passphrase => {
            let (mut store, unlocked, how) = ctx.unlock(Durability::Full)?;
            let pass = ctx.cfg.new_passphrase(ctx.prompter)?;
            let now = now();
            let mut tx = store.write(&unlocked)?;
            let old = tx.passphrase_slot()?;
            // The new slot takes over the old one's label: a changed passphrase is the same
            // way in, and the label is how the operator knows it.
            let label = match old {
                Some(old) => tx
                    .slots()?
                    .into_iter()
                    .find(|s| s.slot == old)
                    .and_then(|s| s.label),
                None => Some("passphrase".to_owned()),
            };
            let slot = tx.add_slot(&how, NewSlot::Passphrase(&pass), label.as_deref(), now)?;
            if let Some(old) = old {
                tx.remove_slot(old)?;
            }
            let detail = match old {
                Some(old) => format!("slot {slot}: passphrase changed (replaces slot {old})"),
                None => format!("slot {slot}: passphrase added"),
            };
            ops::key_event(&mut tx, Kind::KeyPassphrase, detail.clone(), now)?;
            tx.commit()?;
            say(detail);
        }
        KeyCommand::List { json } => {
            let (mut store, unlocked, _) = ctx.unlock(Durability::Full)?;
            note_slot_used(&mut store, &unlocked);
            let tx = store.read(&unlocked)?;
            let slots = tx.slots()?;
            if json {
                out_json(&serde_json::Value::Array(
                    slots.iter().map(render::slot_json).collect(),
                ))?;
            } else {
                out(&format!(
                    "{}\n",
                    render::slot_table(&slots, now(), ctx.style())
                ))?;
            }
        }
        KeyCommand::Remove { slot, yes } => {
            require_yes(ctx.cfg, yes, "key remove")?;
            let (mut store, unlocked, _) = ctx.unlock(Durability::Full)?;
            if !yes {
                confirm_remove(ctx, &mut store, &unlocked, slot)?;
            }
            let now = now();
            let mut tx = store.write(&unlocked)?;
            let info = tx.remove_slot(slot)?;
            ops::key_event(
                &mut tx,
                Kind::KeyRemove,
                format!("slot {slot}: {}", info.kind),
                now,
            )?;
            tx.commit()?;
            say(format_args!("removed slot {slot} ({})", info.kind));
        }
    }
    Ok(0)
}

/// Ask before removing a slot, naming it. The question is asked outside any write transaction,
/// so nobody waits on the lock while a person reads it; the removal then checks the slot again.
/// No question for a slot that is not there or is the last one: the removal refuses those.
fn confirm_remove(ctx: &Ctx<'_>, store: &mut Store, unlocked: &Unlocked, slot: i64) -> Result<()> {
    let slots = store.read(unlocked)?.slots()?;
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
    let used = if slot == unlocked.slot {
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
