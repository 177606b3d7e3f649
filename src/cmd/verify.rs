//! `tokman verify`: check a token; the exit code is the answer. The hot path: a key file, one
//! indexed lookup, one small write; no Argon2, no table formatting, no terminal probing beyond
//! start-up.

use std::io::{self, BufRead, Read, Write};

use crate::views::VerifyResult;

use super::{Ctx, now, out, read_token_stdin, say, unwritten, warn};
use crate::cli::VerifyArgs;
use crate::render;
use tokman::error::{Error, Result};
use tokman::lifecycle::{Check, Missing, Outcome};
use tokman::service::{Service, Verdict};
use tokman::store::Durability;
use tokman::token::{self, Malformed};

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
            if !a.quiet {
                warn(
                    "a token on the command line is visible to other users (ps, shell history); pipe it on stdin instead",
                );
            }
            Ok(t.to_owned())
        }
    };
    // A malformed token is refused before the store is opened or unlocked.
    let parsed = match &text {
        Ok(t) => token::parse(t),
        Err(m) => Err(m.clone()),
    };
    let verdict = match parsed {
        Err(m) => Verdict::malformed(m.0),
        Ok(presented) => {
            let checked = ctx.unlock(Durability::Normal).and_then(|(mut service, _)| {
                let verdict = service.verify(&presented, &check, now());
                service.close_before_exit();
                verdict
            });
            match checked {
                Ok(verdict) => verdict,
                // A script asked for a document: it gets one, with the error's exit code.
                Err(e) if a.json => {
                    let doc = serde_json::to_string(&VerifyResult::error(e.to_string()))?;
                    if let Err(out_err) = out(&format!("{doc}\n"))
                        && !matches!(out_err, Error::BrokenPipe)
                    {
                        warn(format_args!("could not print the result: {out_err}"));
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
    };
    let printed = if a.json {
        out(&format!(
            "{}\n",
            serde_json::to_string(&VerifyResult::new(&verdict, reason(&verdict)))?
        ))
    } else if a.quiet {
        Ok(())
    } else {
        match (&verdict.outcome, &verdict.record) {
            (Outcome::Valid, Some(r)) => {
                out(&format!("valid: {} ({})\n", r.id, render::escape(&r.user)))
            }
            _ => {
                say(format_args!(
                    "{}: {}",
                    verdict.outcome.as_str(),
                    reason(&verdict)
                ));
                Ok(())
            }
        }
    };
    // The exit code is the answer: a closed or full stdout must never turn a refusal into 0.
    match printed {
        Ok(()) | Err(Error::BrokenPipe) => {}
        Err(e) => warn(format_args!("could not print the result: {e}")),
    }
    Ok(crate::exit::of_outcome(verdict.outcome))
}

/// The verdict's reason, saying which flag gives what the request left out.
fn reason(v: &Verdict) -> String {
    match v.missing {
        Some(Missing::Ip) => format!("{}; pass --ip", v.reason),
        Some(Missing::Origin) => format!("{}; pass --origin", v.reason),
        None => v.reason.clone(),
    }
}

/// The longest line `verify --stream` keeps; the rest of a longer line is skipped.
const MAX_LINE: u64 = 4096;

/// Most lines checked in one transaction: enough to amortise a commit, few enough that the
/// write lock is held for a millisecond or two, not long enough to stall other commands.
const MAX_BATCH: usize = 64;

/// Read one line, at most [`MAX_LINE`] bytes kept; `None` at end of input. A longer line is
/// consumed whole and answered as too long.
fn read_line(
    input: &mut impl BufRead,
) -> io::Result<Option<std::result::Result<String, Malformed>>> {
    let mut line = Vec::new();
    let n = input.by_ref().take(MAX_LINE).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if n as u64 == MAX_LINE && line.last() != Some(&b'\n') {
        input.skip_until(b'\n')?;
        return Ok(Some(Err(Malformed("not a token: too long"))));
    }
    Ok(Some(String::from_utf8(line).map_err(|_| {
        Malformed("not a token: unexpected characters")
    })))
}

/// Many tokens, one per line; one JSON line per token, in order. A line is answered as soon
/// as it has been checked: the lines already waiting in the input are checked together in one
/// transaction and their answers flushed together, so a caller sending one line at a time gets
/// each answer at once, and a bulk job does not pay a transaction per line. Usage counts and
/// rate limits stay exact beside other `verify` processes: a batch holds the write lock.
fn stream(ctx: &Ctx<'_>, check: &Check) -> Result<i32> {
    let mut session: Option<Service> = None;
    let mut input = io::BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let mut output = io::BufWriter::new(io::stdout().lock());
    while let Some(first) = read_line(&mut input)? {
        let mut lines = vec![first];
        while lines.len() < MAX_BATCH && input.buffer().contains(&b'\n') {
            match read_line(&mut input)? {
                Some(line) => lines.push(line),
                None => break,
            }
        }
        for verdict in check_lines(ctx, &mut session, &lines, check)? {
            serde_json::to_writer(&mut output, &VerifyResult::new(&verdict, reason(&verdict)))
                .map_err(|e| unwritten(e.into()))?;
            output.write_all(b"\n").map_err(unwritten)?;
        }
        output.flush().map_err(unwritten)?;
    }
    Ok(0)
}

/// The verdicts for a batch of lines, the well-formed ones checked in one transaction.
fn check_lines(
    ctx: &Ctx<'_>,
    session: &mut Option<Service>,
    lines: &[std::result::Result<String, Malformed>],
    check: &Check,
) -> Result<Vec<Verdict>> {
    let parsed: Vec<_> = lines
        .iter()
        .map(|l| {
            l.as_ref()
                .map_err(Clone::clone)
                .and_then(|t| token::parse(t))
        })
        .collect();
    if !parsed.iter().any(|p| p.is_ok()) {
        return Ok(parsed
            .iter()
            .map(|p| Verdict::malformed(p.as_ref().err().map_or("", |m| m.0)))
            .collect());
    }
    if session.is_none() {
        *session = Some(ctx.unlock(Durability::Normal)?.0);
    }
    let service = session.as_mut().expect("opened above");
    let well_formed: Vec<_> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let mut checked = service
        .verify_batch(&well_formed, check, now())?
        .into_iter();
    parsed
        .iter()
        .map(|p| match p {
            Err(m) => Ok(Verdict::malformed(m.0)),
            Ok(_) => checked
                .next()
                .ok_or_else(|| Error::internal("a batch verdict went missing")),
        })
        .collect()
}
