//! `tokman list`: the tokens, never a secret.

use std::io::{self, BufWriter, Write};

use super::{Ctx, now, out, say};
use crate::cli::{ListArgs, StatusFilter};
use crate::error::Result;
use crate::lifecycle::Status;
use crate::lifecycle::Timestamp;
use crate::ops::{self, Filter};
use crate::render;
use crate::store::{Durability, Store, Unlocked};

pub fn run(ctx: &Ctx<'_>, a: ListArgs) -> Result<i32> {
    let filter = Filter {
        user: a.user,
        status: match a.status {
            StatusFilter::All => None,
            StatusFilter::Active => Some(Status::Active),
            StatusFilter::Expired => Some(Status::Expired),
            StatusFilter::Revoked => Some(Status::Revoked),
        },
        expiring_within: a.expiring_within,
        unused_for: a.unused_for,
    };
    let (mut store, unlocked, _) = ctx.unlock(Durability::Full)?;
    super::note_slot_used(&mut store, &unlocked);
    let now = now();
    if a.json {
        return json(&mut store, &unlocked, &filter, now).map(|()| 0);
    }
    let rows = ops::list(&mut store, &unlocked, &filter, now)?;
    if rows.is_empty() {
        // Only a person is told; a cron job mails nothing when nothing matches.
        if ctx.cfg.terminal.stdout {
            say("no tokens match");
        }
        return Ok(0);
    }
    out(&format!(
        "{}\n",
        render::token_table(&rows, now, ctx.style())
    ))?;
    Ok(0)
}

/// The JSON array, written as each token is rendered, byte for byte what pretty-printing the
/// whole array at once gives: memory stays flat however many tokens there are.
fn json(
    store: &mut Store,
    unlocked: &Unlocked,
    filter: &ops::Filter,
    now: Timestamp,
) -> Result<()> {
    let mut o = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut first = true;
    ops::list_each(store, unlocked, filter, now, |r, u| {
        let doc = serde_json::to_string_pretty(&render::record_json(&r, Some(&u), now))?;
        o.write_all(if first { b"[\n  " } else { b",\n  " })?;
        first = false;
        // One level deeper: every line of the document indented by two more spaces.
        o.write_all(doc.replace('\n', "\n  ").as_bytes())?;
        Ok(())
    })?;
    o.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
    o.flush()?;
    Ok(())
}
