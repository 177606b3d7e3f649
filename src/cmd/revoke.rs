//! `tokman revoke`: revoke a token now, irreversibly.

use super::{Ctx, now, out_json, require_yes, say};
use crate::cli::RevokeArgs;
use crate::error::Result;
use crate::lifecycle::Revocation;
use crate::ops::{self, Which};
use crate::render;
use crate::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: RevokeArgs) -> Result<i32> {
    require_yes(ctx.cfg, a.yes, "revoke")?;
    let mut which = which(
        a.id.as_deref().map(crate::cli::parse_id).transpose()?,
        a.user,
    );
    let (mut store, unlocked, _) = ctx.unlock(Durability::Full)?;
    if !a.yes {
        let found = ops::lookup(&mut store, &unlocked, &which, now())?;
        // Revoking a revoked token changes nothing: no need to ask.
        if found.record.revoked_at.is_none() {
            ctx.confirm(
                false,
                &format!(
                    "Revoke {} of {}? This cannot be undone",
                    found.record.id,
                    render::escape(&found.record.user)
                ),
            )?;
        }
        // Act on the token that was confirmed, even if the user's token changed meanwhile.
        which = Which::Id(found.record.id);
    }
    let now = now();
    let (stored, outcome, entry) = ops::revoke(&mut store, &unlocked, &which, a.reason, now)?;
    let r = &stored.record;
    match outcome {
        Revocation::Revoked => say(format_args!(
            "revoked {} of {}",
            r.id,
            render::escape(&r.user)
        )),
        Revocation::AlreadyRevoked => say(format_args!(
            "{} was already revoked {}; nothing changed",
            r.id,
            render::relative(r.revoked_at.unwrap_or(now), now)
        )),
    }
    let printed = if a.json {
        out_json(&render::record_json(r, Some(&stored.usage), now))
    } else {
        Ok(())
    };
    if let Some(entry) = entry {
        super::notify::run(&mut store, &unlocked, &entry);
    }
    printed?;
    Ok(0)
}

/// The token picked by the `ID` argument or `--user` (clap makes exactly one be given).
pub fn which(id: Option<crate::token::TokenId>, user: Option<String>) -> Which {
    match (id, user) {
        (Some(id), _) => Which::Id(id),
        (None, Some(user)) => Which::User(user),
        (None, None) => unreachable!("clap requires ID or --user"),
    }
}
