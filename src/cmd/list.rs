//! `tokman list`: the tokens, never a secret.
//!
//! stdout is only data: the table, or with `--json` the array. How many there are goes to
//! stderr, for a person: after the table on a terminal, and whenever `--limit` left some out
//! ("showing 50 of 2,000 tokens"), so that a script or a cron mail knows its list is partial.

use std::io::{self, BufWriter, Write};

use super::{Ctx, now, out, say, unwritten};
use crate::cli::{ListArgs, SortKey, StatusFilter};
use crate::render;
use crate::views::TokenRecord;
use tokman::error::{Error, Result};
use tokman::lifecycle::{Record, Status, Timestamp, Usage};
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

/// The JSON array, written as each token comes, byte for byte what pretty-printing the whole
/// array at once gives: memory stays flat however many tokens there are. How many were
/// written, and how many matched.
fn json(service: &mut Service, filter: &Filter, now: Timestamp) -> Result<(usize, usize)> {
    // Each token is rendered where it is opened, beside the reading of the next ones. A
    // one-token array pretty-printed is "[\n", the token as the whole array indents it, "\n]".
    let render = |r: Record, u: Usage| -> Result<Vec<u8>> {
        let mut text = Vec::with_capacity(1024);
        serde_json::to_writer_pretty(&mut text, &[TokenRecord::new(&r, Some(&u), now)])
            .map_err(|e| Error::internal(format!("rendering token {}: {e}", r.id)))?;
        // Kept in as many bytes as it needs (as many tokens are kept as a list can hold).
        text.strip_prefix(b"[\n")
            .and_then(|t| t.strip_suffix(b"\n]"))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::internal("a token rendered as no one-element array"))
    };
    let mut o = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut shown = 0;
    let matched = service.list_each_made(filter, now, render, |text| {
        o.write_all(if shown == 0 { b"[\n" } else { b",\n" })
            .and_then(|()| o.write_all(&text))
            .map_err(unwritten)?;
        shown += 1;
        Ok(())
    })?;
    o.write_all(if shown == 0 { b"[]\n" } else { b"\n]\n" })
        .and_then(|()| o.flush())
        .map_err(unwritten)?;
    Ok((shown, matched))
}
