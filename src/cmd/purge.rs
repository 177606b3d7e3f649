//! `tokman purge`: delete expired (and with `--revoked`, revoked) tokens. Made for cron: with
//! `--quiet` it prints nothing unless something was purged. Also home of the notify hook that
//! every changing command runs after its commit.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{Ctx, now, out, out_json, warn};
use crate::audit::Entry;
use crate::cli::PurgeArgs;
use crate::error::Result;
use crate::ops;
use crate::render;
use crate::store::{Durability, Store, Unlocked};

pub fn run(ctx: &Ctx<'_>, a: PurgeArgs) -> Result<i32> {
    let (mut store, unlocked, _) = ctx.unlock(Durability::Full)?;
    let purged = ops::purge(&mut store, &unlocked, a.revoked, a.dry_run, now())?;
    let n = purged.ids.len();
    if a.json {
        out_json(&serde_json::json!({ "purged": n, "ids": purged.ids }))?;
    } else if !a.quiet || n > 0 {
        let noun = if n == 1 { "token" } else { "tokens" };
        let verb = if a.dry_run { "would purge" } else { "purged" };
        let mut text = format!("{verb} {n} {noun}\n");
        for id in &purged.ids {
            text.push_str(&format!("  {id}\n"));
        }
        out(&text)?;
    }
    if let Some(entry) = &purged.entry {
        notify(ctx, &mut store, &unlocked, entry);
    }
    Ok(0)
}

/// Run the store's `notify-command`, if any, with the event as JSON on its stdin. It runs after
/// the change has committed: its failure is reported and never undoes anything.
pub fn notify(_ctx: &Ctx<'_>, store: &mut Store, unlocked: &Unlocked, entry: &Entry) {
    let command = match store.read(unlocked).and_then(|tx| tx.settings()) {
        Ok(settings) => settings.notify_command,
        Err(e) => {
            warn(format_args!("could not read the notify command: {e}"));
            return;
        }
    };
    let Some(command) = command else { return };
    let payload = render::entry_json(entry).to_string();
    let result = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                // A command that does not read its stdin is fine.
                let _ = stdin
                    .write_all(payload.as_bytes())
                    .and_then(|()| stdin.write_all(b"\n"));
            }
            child.wait()
        });
    match result {
        Ok(status) if status.success() => {}
        Ok(status) => warn(format_args!(
            "the notify command failed ({status}); the change stands"
        )),
        Err(e) => warn(format_args!(
            "could not run the notify command: {e}; the change stands"
        )),
    }
}
