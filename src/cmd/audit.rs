//! `tokman audit`: show the event log, or check that it is intact.

use super::{Ctx, now, out, out_json, say};
use crate::cli::{AuditArgs, Since};
use crate::render;
use tokman::error::Result;
use tokman::service::Checked;

pub fn run(ctx: &Ctx<'_>, a: AuditArgs) -> Result<i32> {
    // Checked before the store is opened, like every argument.
    let id = a.id.as_deref().map(crate::cli::parse_id).transpose()?;
    let (mut service, _) = ctx.unlock_to_read()?;
    service.note_slot_used(now());
    if a.check {
        let Checked { intact, tokens } = service.check(a.expect_head.as_deref())?;
        if a.json {
            out_json(&crate::views::AuditCheck {
                intact: true,
                events: intact.events,
                tokens,
                head: &intact.head,
            })?;
        } else {
            out(&format!("{}\n", intact.head))?;
            say(format_args!(
                "{} events, intact; {tokens} token{}, intact",
                intact.events,
                if tokens == 1 { "" } else { "s" }
            ));
        }
        return Ok(0);
    }
    let now = now();
    let filter = tokman::audit::Filter {
        since: a.since.map(|s| match s {
            Since::Ago(span) => now.saturating_sub(span.as_secs()),
            Since::At(at) => at,
        }),
        kinds: a.events.iter().map(|k| k.kind()).collect(),
        user: a.user,
        id,
    };
    let entries = service.events_matching(&filter)?;
    if a.json {
        let events: Vec<_> = entries.iter().map(crate::views::Event::new).collect();
        return out_json(&events).map(|()| 0);
    }
    if entries.is_empty() {
        // Only a person is told; a cron job stays quiet when there is nothing.
        if ctx.cfg.terminal.stdout {
            say("no events");
        }
        return Ok(0);
    }
    out(&format!(
        "{}\n",
        render::audit_table(&entries, now, ctx.style())
    ))?;
    Ok(0)
}
