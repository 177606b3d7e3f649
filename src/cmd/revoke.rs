//! `tokman revoke`: revoke a token now, irreversibly.

use super::{Ctx, now, out_json, require_yes, say};
use crate::cli::RevokeArgs;
use crate::render;
use tokman::error::Result;
use tokman::lifecycle::Revocation;
use tokman::service::Which;
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: RevokeArgs) -> Result<i32> {
    require_yes(ctx.cfg, a.yes, "revoke")?;
    let mut targets: Vec<Which> = if a.ids.is_empty() {
        vec![which(None, a.user)]
    } else {
        a.ids
            .iter()
            .map(|id| crate::cli::parse_id(id).map(Which::Id))
            .collect::<Result<_>>()?
    };
    let (mut service, _) = ctx.unlock(Durability::Full)?;
    if !a.yes {
        let now = now();
        let mut found = Vec::new();
        for w in &targets {
            found.push(service.lookup(w, now)?);
        }
        // Revoking a revoked token changes nothing: no need to ask about it.
        let live: Vec<String> = found
            .iter()
            .filter(|s| s.record.status(now) != tokman::lifecycle::Status::Revoked)
            .map(|s| format!("{} of {}", s.record.id, render::escape(&s.record.user)))
            .collect();
        if !live.is_empty() {
            ctx.confirm(
                false,
                &format!("Revoke {}? This cannot be undone", live.join(", ")),
            )?;
        }
        // Act on the tokens that were confirmed, even if a user's token changed meanwhile.
        targets = found.into_iter().map(|s| Which::Id(s.record.id)).collect();
    }
    let now = now();
    let several = targets.len() > 1;
    let done = service.revoke_all(&targets, a.reason, now)?;
    for (stored, outcome, _) in &done {
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
    }
    let printed = if a.json {
        let records: Vec<_> = done
            .iter()
            .map(|(s, _, _)| crate::views::TokenRecord::new(&s.record, Some(&s.usage), now))
            .collect();
        match records.as_slice() {
            [one] if !several => out_json(one),
            all => out_json(&all),
        }
    } else {
        Ok(())
    };
    for (_, _, entry) in &done {
        if let Some(entry) = entry {
            super::notify::run(&mut service, entry);
        }
    }
    printed?;
    Ok(0)
}

/// The token picked by the `ID` argument or `--user` (clap makes exactly one be given).
pub fn which(id: Option<tokman::token::TokenId>, user: Option<String>) -> Which {
    match (id, user) {
        (Some(id), _) => Which::Id(id),
        (None, Some(user)) => Which::User(user),
        (None, None) => unreachable!("clap requires ID or --user"),
    }
}
