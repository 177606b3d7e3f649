//! `tokman rotate`: revoke a token and issue its successor, in one transaction.

use super::{Ctx, now, require_yes};
use crate::cli::RotateArgs;
use crate::render;
use tokman::error::{Error, Result};
use tokman::lifecycle::{MAX_GRACE, MAX_LIFETIME};
use tokman::service::{Rotation, Which};
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: RotateArgs) -> Result<i32> {
    if let Some(span) = a.expires_in
        && span > MAX_LIFETIME
    {
        return Err(Error::usage(format!(
            "--expires-in {span} is longer than the maximum token lifetime of {MAX_LIFETIME}"
        )));
    }
    if let Some(grace) = a.grace
        && grace > MAX_GRACE
    {
        return Err(Error::usage(format!(
            "--grace {grace} is longer than {MAX_GRACE}, the longest a rotation may give"
        )));
    }
    let rotation = Rotation {
        changes: super::update::changes(a.settings),
        expires_in: a.expires_in,
        grace: a.grace,
    };
    require_yes(ctx.cfg, a.yes, "rotate")?;
    let mut which = super::revoke::which(
        a.id.as_deref().map(crate::cli::parse_id).transpose()?,
        a.user,
    );
    let (mut service, _) = ctx.unlock(Durability::Full)?;
    if !a.yes {
        let found = service.rotation_target(&which, now())?;
        let when = match a.grace {
            Some(grace) => format!("It stays valid for {grace} more, then it is revoked"),
            None => "It is revoked now".to_owned(),
        };
        ctx.confirm(
            false,
            &format!(
                "Rotate {} of {}? {when}, and a new token replaces it",
                found.record.id,
                render::escape(&found.record.user)
            ),
        )?;
        // Act on the token that was confirmed, even if the user's token changed meanwhile.
        which = Which::Id(found.record.id);
    }
    let (old, issued) = service.rotate(&which, &rotation, now())?;
    let shown =
        super::generate::show_issued(ctx, &issued, &format!("rotated {} into", old.id), a.json);
    super::notify::run(&mut service, &issued.entry);
    shown.map_err(|e| super::generate::unprinted(&issued.record.id, e))?;
    Ok(0)
}
