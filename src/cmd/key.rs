//! `tokman key`: manage the ways to unlock the store. Every slot wraps the same master key, so
//! adding or removing one never re-encrypts a token.

use super::{Ctx, now, out, out_json, say};
use crate::audit::Kind;
use crate::cli::KeyCommand;
use crate::crypto::KeyFileKey;
use crate::error::Result;
use crate::key_file;
use crate::ops;
use crate::render;
use crate::store::{Durability, NewSlot};

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
            let slot = tx.add_slot(&how, NewSlot::Passphrase(&pass), Some("passphrase"), now)?;
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
        KeyCommand::Remove { slot } => {
            let (mut store, unlocked, _) = ctx.unlock(Durability::Full)?;
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
