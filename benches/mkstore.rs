//! Fast store builder for `benches/compare.sh`: fills a store made by `tokman init
//! --new-key-file` with N tokens through the library's own `Service::generate` (one transaction per
//! token, exactly what `tokman generate` does), in one process instead of N.
//!
//! Usage: `mkstore STORE KEY_FILE N TOKENS_OUT [EXPIRED_PERCENT [REVOKED_PERCENT]]`
//!
//! The first EXPIRED_PERCENT of the tokens are issued 200 days in the past, so they have expired
//! (the lifetime is at most 180 days) and `purge` has work to do; REVOKED_PERCENT of the rest are
//! revoked. Every token's text is written to TOKENS_OUT, one per line, as
//! `STATUS TOKEN` (`expired`, `revoked` or `active`). The store is written with
//! `synchronous=NORMAL` to save an fsync per token; its contents are identical.
//!
//! Built by `cargo bench --no-run --bench mkstore`; not part of `cargo test`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use tokman::lifecycle::Request;
use tokman::service::{Service, Which};
use tokman::store::{self, Durability, Location, Store, Unlock};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` runs every bench target with `--bench`: nothing to do then.
    if args.is_empty() || args[0].starts_with("--") {
        eprintln!("usage: mkstore STORE KEY_FILE N TOKENS_OUT [EXPIRED_PERCENT [REVOKED_PERCENT]]");
        return;
    }
    let path = Path::new(&args[0]);
    let key = store::read_key_file(Path::new(&args[1])).expect("key file");
    let n: u64 = args[2].parse().expect("N");
    let out_path = &args[3];
    let expired_pct: u64 = args
        .get(4)
        .map_or(0, |s| s.parse().expect("EXPIRED_PERCENT"));
    let revoked_pct: u64 = args
        .get(5)
        .map_or(0, |s| s.parse().expect("REVOKED_PERCENT"));

    let mut store =
        Store::open(&Location::Sqlite(path.to_path_buf()), Durability::Normal).expect("open store");
    let unlocked = store.unlock(&Unlock::KeyFile(key)).expect("unlock");
    let mut service = Service::new(store, unlocked);
    let mut out = std::io::BufWriter::new(std::fs::File::create(out_path).expect("tokens file"));
    let now = chrono::Utc::now().timestamp();
    let expired = n * expired_pct / 100;
    let revoke_every = 100u64.checked_div(revoked_pct).unwrap_or(0);
    let started = Instant::now();
    for i in 0..n {
        let (at, status) = if i < expired {
            (now - 200 * 86_400 + i as i64, "expired")
        } else {
            (now, "active")
        };
        let request = Request {
            user: format!("user-{i:06}"),
            name: Some(format!("service {i}")),
            ..Request::default()
        };
        let issued = service.generate(request, at).expect("generate");
        let status = if status == "active" && revoke_every > 0 && i % revoke_every == 0 {
            service
                .revoke(
                    &Which::Id(issued.record.id.clone()),
                    Some("bench".into()),
                    now,
                )
                .expect("revoke");
            "revoked"
        } else {
            status
        };
        writeln!(out, "{status} {}", issued.token.expose()).expect("write tokens");
    }
    out.flush().expect("write tokens");
    eprintln!(
        "mkstore: {n} tokens in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
