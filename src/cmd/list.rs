//! `tokman list`: the tokens, never a secret.

use super::{Ctx, now, out, out_json, say};
use crate::cli::{ListArgs, StatusFilter};
use crate::error::Result;
use crate::lifecycle::Status;
use crate::ops::{self, Filter};
use crate::render;
use crate::store::Durability;

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
    let now = now();
    let rows = ops::list(&mut store, &unlocked, &filter, now)?;
    if a.json {
        let docs: Vec<_> = rows
            .iter()
            .map(|(r, u)| render::record_json(r, Some(u), now))
            .collect();
        return out_json(&serde_json::Value::Array(docs)).map(|()| 0);
    }
    if rows.is_empty() {
        say("no tokens match");
        return Ok(0);
    }
    out(&format!(
        "{}\n",
        render::token_table(&rows, now, ctx.style())
    ))?;
    Ok(0)
}
