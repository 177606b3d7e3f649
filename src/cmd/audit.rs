//! `tokman audit`: show the event log, or check that it is intact.

use super::{Ctx, now, out, out_json, say};
use crate::cli::AuditArgs;
use crate::render;
use tokman::error::{Error, Result};
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: AuditArgs) -> Result<i32> {
    let (mut store, unlocked, _) = ctx.unlock(Durability::Full)?;
    super::note_slot_used(&mut store, &unlocked);
    let tx = store.read(&unlocked)?;
    if a.check {
        let intact = tx.check_chain()?;
        let tokens = tx.check_state()?;
        if let Some(expected) = &a.expect_head
            && !intact.descends_from(expected)
        {
            return Err(Error::corrupt(format!(
                "the audit log's head is {}, and {expected} is not in its history: the store was rolled back or replaced",
                intact.head
            )));
        }
        if a.json {
            out_json(&serde_json::json!({
                "intact": true,
                "events": intact.events,
                "tokens": tokens,
                "head": intact.head,
            }))?;
        } else {
            out(&format!("{}\n", intact.head))?;
            say(format_args!(
                "{} events, intact; {tokens} token{}, intact",
                intact.events,
                if tokens == 1 { "" } else { "s" }
            ));
        }
        return Ok(0);
    }
    let now = now();
    let since = a.since.map(|s| now.saturating_sub(s.as_secs()));
    let entries = tx.events(since)?;
    if a.json {
        return out_json(&serde_json::Value::Array(
            entries.iter().map(render::entry_json).collect(),
        ))
        .map(|()| 0);
    }
    if entries.is_empty() {
        // Only a person is told; a cron job stays quiet when there is nothing.
        if ctx.cfg.terminal.stdout {
            say("no events");
        }
        return Ok(0);
    }
    out(&format!(
        "{}\n",
        render::audit_table(&entries, now, ctx.style())
    ))?;
    Ok(0)
}
