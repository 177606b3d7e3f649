//! `tokman key`: manage the ways to unlock the store. Every slot wraps the same master key, so
//! adding or removing one never re-encrypts a token.

use super::{Ctx, now, out, out_json, say};
use crate::audit::Kind;
use crate::cli::KeyCommand;
use crate::crypto::KeyFileKey;
use crate::error::Result;
use crate::ops;
use crate::render;
use crate::store::{self, Durability, NewSlot};

pub fn run(ctx: &Ctx<'_>, cmd: KeyCommand) -> Result<i32> {
    match cmd {
        KeyCommand::AddFile { path, label } => {
            let (mut store, unlocked, how) = ctx.unlock(Durability::Full)?;
            let key = KeyFileKey::generate();
            store::write_key_file(&path, &key)?;
            let added = (|| {
                let now = now();
                let mut tx = store.write(&unlocked)?;
                let slot = tx.add_slot(&how, NewSlot::KeyFile(&key), label.as_deref(), now)?;
                ops::key_event(&mut tx, Kind::KeyAdd, format!("slot {slot}: key file"), now)?;
                tx.commit()?;
                Ok(slot)
            })();
            match added {
                Ok(slot) => say(format_args!(
                    "added slot {slot}: the key file {} unlocks this store",
                    path.display()
                )),
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
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
