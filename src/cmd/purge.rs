//! `tokman purge`: delete expired (and with `--revoked`, revoked) tokens. Made for cron: with
//! `--quiet` it prints nothing unless something was purged.

use super::{Ctx, now, out, out_json};
use crate::cli::PurgeArgs;
use tokman::error::Result;
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: PurgeArgs) -> Result<i32> {
    let (mut service, _) = ctx.unlock(Durability::Full)?;
    let purged = service.purge(a.revoked, a.dry_run, now())?;
    let n = purged.ids.len();
    let printed = if a.json {
        out_json(&crate::views::Purge {
            purged: n,
            ids: &purged.ids,
            dry_run: a.dry_run,
        })
    } else if !a.quiet || n > 0 {
        let noun = if n == 1 { "token" } else { "tokens" };
        let verb = if a.dry_run { "would purge" } else { "purged" };
        let mut text = format!("{verb} {n} {noun}\n");
        for id in &purged.ids {
            text.push_str(&format!("  {id}\n"));
        }
        out(&text)
    } else {
        Ok(())
    };
    // The purge has committed: tell the notify command even if stdout is gone.
    if let Some(entry) = &purged.entry {
        super::notify::run(&mut service, entry);
    }
    printed?;
    Ok(0)
}
