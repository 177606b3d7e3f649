//! `tokman list`: the tokens, never a secret.
//!
//! stdout is only data: the table, or with `--json` the array. How many there are goes to
//! stderr, for a person: after the table on a terminal, and whenever `--limit` left some out
//! ("showing 50 of 2,000 tokens"), so that a script or a cron mail knows its list is partial.

use std::io::{self, BufWriter, Write};

use super::{Ctx, now, out, say, unwritten};
use crate::cli::{ListArgs, SortKey, StatusFilter};
use crate::render;
use tokman::error::Result;
use tokman::lifecycle::Status;
use tokman::lifecycle::Timestamp;
use tokman::service::{Filter, Service, Sort};

pub fn run(ctx: &Ctx<'_>, a: ListArgs) -> Result<i32> {
    let filter = Filter {
        user: a.user,
        status: match a.status {
            StatusFilter::All => None,
            StatusFilter::Active => Some(Status::Active),
            StatusFilter::Rotating => Some(Status::Rotating),
            StatusFilter::Expired => Some(Status::Expired),
            StatusFilter::Revoked => Some(Status::Revoked),
        },
        expiring_within: a.expiring_within,
        unused_for: a.unused_for,
        sort: match a.sort {
            SortKey::Created => Sort::Created,
            SortKey::Expires => Sort::Expires,
            SortKey::LastUsed => Sort::LastUsed,
            SortKey::User => Sort::User,
        },
        limit: a.limit,
    };
    let (mut service, _) = ctx.unlock_to_read()?;
    let now = now();
    service.note_slot_used(now);
    if a.json {
        let (shown, matched) = json(&mut service, &filter, now)?;
        if shown < matched {
            say(render::count_line(shown, matched));
        }
        return Ok(0);
    }
    let mut rows = Vec::new();
    let matched = service.list_each(&filter, now, |r, u| {
        rows.push((r, u));
        Ok(())
    })?;
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
    if ctx.cfg.terminal.stdout || rows.len() < matched {
        say(render::count_line(rows.len(), matched));
    }
    Ok(0)
}

/// The JSON array, written as each token is rendered, byte for byte what pretty-printing the
/// whole array at once gives: memory stays flat however many tokens there are. How many were
/// written, and how many matched.
fn json(service: &mut Service, filter: &Filter, now: Timestamp) -> Result<(usize, usize)> {
    use serde::ser::{SerializeSeq, Serializer as _};
    let o = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut ser = serde_json::Serializer::pretty(o);
    // serde_json hands back a write error wrapped; unwrapped, it is reported as one.
    let mut seq = ser.serialize_seq(None).map_err(|e| unwritten(e.into()))?;
    let mut shown = 0;
    let matched = service.list_each(filter, now, |r, u| {
        seq.serialize_element(&crate::views::TokenRecord::new(&r, Some(&u), now))
            .map_err(|e| unwritten(e.into()))?;
        shown += 1;
        Ok(())
    })?;
    seq.end().map_err(|e| unwritten(e.into()))?;
    let mut o = ser.into_inner();
    o.write_all(b"\n").map_err(unwritten)?;
    o.flush().map_err(unwritten)?;
    Ok((shown, matched))
}
