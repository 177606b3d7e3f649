//! `tokman verify`: check a token; the exit code is the answer. The hot path: a key file, one
//! indexed lookup, one small write; no Argon2, no table formatting, no terminal probing beyond
//! start-up.

use std::io::{self, BufRead, Write};

use serde_json::{Value, json};

use super::{Ctx, now, out, read_token_stdin, say, warn};
use crate::cli::VerifyArgs;
use crate::error::Result;
use crate::lifecycle::{Check, Outcome};
use crate::ops::{self, Verdict};
use crate::render;
use crate::store::{Durability, Store, Unlocked};
use crate::token;

pub fn run(ctx: &Ctx<'_>, a: VerifyArgs) -> Result<i32> {
    let check = Check {
        scopes: a.scope,
        ip: a.ip,
        origin: a.origin,
        user: a.user,
    };
    if a.stream {
        return stream(ctx, &check);
    }
    let text = match a.token.as_deref() {
        None | Some("-") => read_token_stdin(ctx.cfg)?,
        Some(t) => {
            warn(
                "a token on the command line is visible to other users (ps, shell history); pipe it on stdin instead",
            );
            t.to_owned()
        }
    };
    // A malformed token is refused before the store is opened or unlocked.
    let verdict = match token::parse(&text) {
        Err(m) => Verdict::malformed(m.0),
        Ok(presented) => {
            let (mut store, unlocked, _) = ctx.unlock(Durability::Normal)?;
            ops::verify(&mut store, &unlocked, &presented, &check, now())?
        }
    };
    if a.json {
        out(&format!("{}\n", verdict_json(&verdict)))?;
    } else if !a.quiet {
        match (&verdict.outcome, &verdict.record) {
            (Outcome::Valid, Some(r)) => {
                out(&format!("valid: {} ({})\n", r.id, render::escape(&r.user)))?
            }
            _ => say(format_args!(
                "{}: {}",
                verdict.outcome.as_str(),
                verdict.reason
            )),
        }
    }
    Ok(verdict.outcome.exit_code())
}

/// The `verify --json` document, whatever the outcome.
pub fn verdict_json(v: &Verdict) -> Value {
    let r = v.record.as_ref();
    json!({
        "valid": v.outcome == Outcome::Valid,
        "outcome": v.outcome.as_str(),
        "reason": v.reason,
        "id": r.map(|r| &r.id),
        "user": r.map(|r| &r.user),
        "scopes": r.map(|r| &r.scopes),
        "expires_at": r.map(|r| render::rfc3339(r.expires_at)),
    })
}

/// Many tokens, one per line; one JSON line per token, in order, flushed per line. Each check
/// is its own transaction, so usage counts stay exact beside other `verify` processes.
fn stream(ctx: &Ctx<'_>, check: &Check) -> Result<i32> {
    let mut session: Option<(Store, Unlocked)> = None;
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let stdout = io::stdout();
    let mut output = stdout.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = std::str::from_utf8(&line).unwrap_or("\u{0}");
        let verdict = match token::parse(text) {
            Err(m) => Verdict::malformed(m.0),
            Ok(presented) => {
                if session.is_none() {
                    let (store, unlocked, _) = ctx.unlock(Durability::Normal)?;
                    session = Some((store, unlocked));
                }
                let (store, unlocked) = session.as_mut().expect("opened above");
                ops::verify(store, unlocked, &presented, check, now())?
            }
        };
        serde_json::to_writer(&mut output, &verdict_json(&verdict))?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(0)
}
