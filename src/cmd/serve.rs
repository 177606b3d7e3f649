//! `tokman serve`: unlock the store once, then hand it to the HTTP front end in `crate::serve`.
//! The passphrase or key file is dropped as soon as the store is unlocked: only the derived
//! keys stay in memory, for the life of the server.

use super::Ctx;
use crate::cli::ServeArgs;
use crate::serve::{Limited, Options};
use tokman::error::Result;
use tokman::store::Durability;

pub fn run(ctx: &Ctx<'_>, a: ServeArgs) -> Result<i32> {
    let options = Options {
        listen: a.listen,
        trusted: a.trusted_proxy,
        socket_group: a.socket_group,
        limited: if a.limited_status == "429" {
            Limited::TooManyRequests
        } else {
            Limited::Forbidden
        },
        quiet: a.quiet,
    };
    // Checked before the store is unlocked: a flag that cannot work is a usage error (exit 2).
    options.check()?;
    let (service, how) = ctx.unlock(Durability::Normal)?;
    drop(how);
    crate::serve::run(service, options)?;
    Ok(0)
}
