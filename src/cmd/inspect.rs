//! `tokman inspect`: every field of one token, by id or from the whole token on stdin.

use super::{Ctx, now, out, out_json, read_token_stdin};
use crate::cli::{InspectArgs, Target};
use crate::render;
use tokman::error::{Error, Result};
use tokman::service::Which;
use tokman::token;

pub fn run(ctx: &Ctx<'_>, a: InspectArgs) -> Result<i32> {
    let target = crate::cli::parse_target(&a.target)?;
    let input = match target {
        Target::Stdin => Some(read_token_stdin(ctx.cfg)?),
        Target::Id(_) => None,
    };
    // A malformed token is refused before the store is opened.
    let invalid = |m: token::Malformed| Error::InvalidToken(m.to_string());
    let presented = match &input {
        Some(Ok(text)) => Some(token::parse(text).map_err(invalid)?),
        Some(Err(m)) => return Err(invalid(m.clone())),
        None => None,
    };
    let (mut service, _) = ctx.unlock_to_read()?;
    let now = now();
    service.note_slot_used(now);
    let stored = match (&target, &presented) {
        (Target::Id(id), _) => service.lookup(&Which::Id(id.clone()), now)?,
        (Target::Stdin, Some(p)) => service.identify(p)?,
        (Target::Stdin, None) => unreachable!("stdin was read above"),
    };
    if a.json {
        out_json(&crate::views::TokenRecord::new(
            &stored.record,
            Some(&stored.usage),
            now,
        ))?;
    } else {
        out(&render::token_details(
            &stored.record,
            &stored.usage,
            now,
            ctx.style().width,
        ))?;
    }
    Ok(0)
}
