//! `tokman remind`: an `expiring` event for each token about to expire, once per threshold.

use super::{Ctx, now, out, out_json};
use crate::cli::RemindArgs;
use crate::render;
use tokman::duration::Span;
use tokman::error::Result;
use tokman::store::Durability;

/// The thresholds when none is given: a week ahead and a day ahead.
const DEFAULT_WITHIN: [Span; 2] = [Span::from_secs(7 * 24 * 3600), Span::from_secs(24 * 3600)];

pub fn run(ctx: &Ctx<'_>, a: RemindArgs) -> Result<i32> {
    let within = if a.within.is_empty() {
        DEFAULT_WITHIN.to_vec()
    } else {
        a.within
    };
    let (mut service, _) = ctx.unlock(Durability::Full)?;
    let now = now();
    let entries = service.remind(&within, now)?;
    // Quiet when there is nothing to say: cron mails any output.
    let printed = if a.json {
        let events: Vec<_> = entries
            .iter()
            .map(|r| crate::views::Event::new(&r.entry))
            .collect();
        out_json(&events)
    } else {
        let mut text = String::new();
        for r in &entries {
            let e = &r.entry.event;
            let id = e.id.as_ref().map_or("-", |i| i.as_str());
            text.push_str(&format!(
                "{id} of {} expires {} ({}; reminder {} ahead)\n",
                render::escape(e.user.as_deref().unwrap_or("-")),
                render::relative(r.expires_at, now),
                tokman::text::rfc3339(r.expires_at),
                r.within
            ));
        }
        if text.is_empty() { Ok(()) } else { out(&text) }
    };
    for r in &entries {
        super::notify::run(&mut service, &r.entry);
    }
    printed?;
    Ok(0)
}
