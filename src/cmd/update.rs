//! `tokman update`: change a live token's settings, keeping its secret.

use super::{Ctx, now, out_json, say};
use crate::cli::{SettingArgs, UpdateArgs};
use crate::render;
use tokman::error::{Error, Result};
use tokman::lifecycle::Changes;
use tokman::service::Which;
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: UpdateArgs) -> Result<i32> {
    let mut changes = changes(a.settings);
    changes.expires_in = a.expires_in;
    if changes.is_empty() {
        return Err(Error::usage_hint(
            "nothing to change",
            "give at least one setting, like --add-scope S, --rate-limit N/UNIT or --expires-in DUR; see `tokman update --help`",
        ));
    }
    let mut which = super::revoke::which(
        a.id.as_deref().map(crate::cli::parse_id).transpose()?,
        a.user,
    );
    let (mut service, _) = ctx.unlock(Durability::Full)?;
    if !a.yes {
        let (after, changed) = service.plan_update(&which, &changes, now())?;
        if !changed.widened.is_empty() {
            // A change that lets the token do more is as consequential as a revoke: ask, and
            // without a terminal to ask on, insist on --yes.
            super::require_yes(ctx.cfg, false, "a change that widens access")?;
            ctx.confirm(
                false,
                &format!(
                    "Widen what {} of {} may do ({})?",
                    after.id,
                    render::escape(&after.user),
                    render::escape(&changed.widened.join("; "))
                ),
            )?;
        }
        // Act on the token that was looked at, even if the user's token changed meanwhile.
        which = Which::Id(after.id);
    }
    let now = now();
    let updated = service.update(&which, &changes, now)?;
    let r = &updated.record;
    match &updated.entry {
        Some(_) => say(format_args!(
            "updated {} of {}: {}",
            r.id,
            render::escape(&r.user),
            render::escape(&updated.changed.detail())
        )),
        None => say(format_args!(
            "{} already has these settings; nothing changed",
            r.id
        )),
    }
    let printed = if a.json {
        out_json(&crate::views::TokenRecord::new(
            r,
            Some(&updated.usage),
            now,
        ))
    } else {
        Ok(())
    };
    if let Some(entry) = &updated.entry {
        super::notify::run(&mut service, entry);
    }
    printed?;
    Ok(0)
}

/// The library's changes from the setting flags `update` and `rotate` share.
pub fn changes(s: SettingArgs) -> Changes {
    Changes {
        name: s.name,
        description: s.description,
        scopes: (!s.scope.is_empty()).then_some(s.scope),
        add_scopes: s.add_scope,
        remove_scopes: s.remove_scope,
        rate_limits: if s.no_rate_limit {
            Some(Vec::new())
        } else {
            (!s.rate_limit.is_empty()).then_some(s.rate_limit)
        },
        allowed_ips: if s.clear_allow_ip {
            Some(Vec::new())
        } else {
            (!s.allow_ip.is_empty()).then_some(s.allow_ip)
        },
        allowed_origins: if s.clear_allow_origin {
            Some(Vec::new())
        } else {
            (!s.allow_origin.is_empty()).then_some(s.allow_origin)
        },
        expires_in: None,
        max_uses: s.max_uses,
    }
}
