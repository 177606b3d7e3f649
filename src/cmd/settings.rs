//! `tokman settings`: show the store's settings, or change them with `settings set`.

use super::{Ctx, now, out, out_json, say};
use crate::cli::{SettingsArgs, SettingsCommand, SettingsSetArgs};
use tokman::error::{Error, Lifetime, Result};
use tokman::lifecycle::Settings;
use tokman::service::SettingsChanged;
use tokman::settings::Change;
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: SettingsArgs) -> Result<i32> {
    if let Some(SettingsCommand::Set(set)) = a.set {
        return set_settings(ctx, set);
    }
    let (mut service, _) = ctx.unlock_to_read()?;
    service.note_slot_used(now());
    let settings = service.settings()?;
    if a.json {
        out_json(&crate::views::Settings::new(&settings))?;
    } else {
        out(&shown(&settings))?;
    }
    Ok(0)
}

fn set_settings(ctx: &Ctx<'_>, a: SettingsSetArgs) -> Result<i32> {
    let change = Change {
        max_lifetime: a.max_lifetime,
        default_rate_limits: if a.no_default_rate_limit {
            Some(Vec::new())
        } else if a.default_rate_limit.is_empty() {
            None
        } else {
            Some(a.default_rate_limit)
        },
        notify_command: if a.no_notify_command {
            Some(None)
        } else {
            a.notify_command.map(Some)
        },
        audit_retention: a.audit_retention,
    };
    if change.is_empty() {
        // clap requires one flag; this is for an empty --default-rate-limit list and the like.
        return Err(Error::usage_hint(
            "nothing to change",
            "give at least one setting, as `tokman settings set --help` lists",
        ));
    }
    let (mut service, _) = ctx.unlock(Durability::Full)?;
    let SettingsChanged { changed, entry, .. } = service
        .set_settings(&change, now())
        .map_err(longer_maximum)?;
    let Some(entry) = entry else {
        say("the settings already have these values; nothing was changed");
        return Ok(0);
    };
    say(format_args!("changed {}", changed.join("; ")));
    if change.max_lifetime.is_some() && changed.iter().any(|c| c.starts_with("max_lifetime")) {
        say(
            "tokens issued before keep their expiry; `tokman update ID --expires-in DUR` shortens one",
        );
    }
    super::notify::run(&mut service, &entry);
    Ok(0)
}

/// A longer maximum, in the flag's words, naming the maximum it now is.
fn longer_maximum(e: Error) -> Error {
    match e {
        Error::TooLong {
            what: Lifetime::StoreMaximum,
            asked,
            max,
        } => Error::usage_hint(
            format!(
                "--max-lifetime {asked} is longer than this store's maximum token lifetime of {max}"
            ),
            format!("the maximum can only be shortened: give {max} or less"),
        ),
        other => other,
    }
}

/// The settings for people, one `name  value` line each, as `init` takes them.
fn shown(s: &Settings) -> String {
    let rates = if s.default_rate_limits.is_empty() {
        "none".to_owned()
    } else {
        let rates: Vec<String> = s
            .default_rate_limits
            .iter()
            .map(ToString::to_string)
            .collect();
        rates.join(" ")
    };
    let notify = s.notify_command.as_deref().map_or_else(
        || "none".to_owned(),
        |c| crate::render::escape(c).into_owned(),
    );
    format!(
        "max-lifetime        {}\ndefault-rate-limit  {rates}\nnotify-command      {notify}\naudit-retention     {}\n",
        s.max_lifetime, s.audit_retention
    )
}
