//! Micro-benchmarks of the pieces of `verify`'s hot path: token parse, key-file unlock, secret
//! MAC, seal/open of a record-sized value, and the policy decision.
//!
//! Run: `cargo bench --bench micro` (a minute or two). Not part of `cargo test`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokman::crypto::{KeyFileKey, MasterKey};
use tokman::lifecycle::{self, Check, Request, Settings, Usage};
use tokman::policy::Scope;
use tokman::store::{Durability, Location, NewSlot, Store, Unlock};
use tokman::token::{self, Prefix, Token};

const NOW: i64 = 1_750_000_000;

fn token_parse(c: &mut Criterion) {
    let t = Token::generate(&Prefix::default(), &mut rand::rng());
    let text = format!("{}\n", t.expose());
    c.bench_function("token_parse", |b| {
        b.iter(|| token::parse(black_box(&text)).is_ok())
    });
}

fn unlock_key_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let key = KeyFileKey::generate();
    Store::create(
        &Location::Sqlite(path.clone()),
        &Prefix::default(),
        &Settings::default(),
        NewSlot::KeyFile(&key),
        None,
        NOW,
    )
    .expect("create store");
    let mut store =
        Store::open(&Location::Sqlite(path.clone()), Durability::Normal).expect("open store");
    let how = Unlock::KeyFile(key);
    c.bench_function("unlock_key_file", |b| {
        b.iter(|| store.unlock(black_box(&how)).expect("unlock").slot)
    });
    c.bench_function("open_and_unlock_key_file", |b| {
        b.iter(|| {
            let mut store = Store::open(&Location::Sqlite(path.clone()), Durability::Normal)
                .expect("open store");
            store.unlock(black_box(&how)).expect("unlock").slot
        })
    });
}

fn keyed_crypto(c: &mut Criterion) {
    let keys = MasterKey::generate().derive();
    let t = Token::generate(&Prefix::default(), &mut rand::rng());
    c.bench_function("secret_mac", |b| {
        b.iter(|| keys.secret_mac(black_box(t.expose())))
    });
    // About the size of a sealed token record.
    let plain = vec![b'x'; 400];
    let ad = b"tokman v1 token tm_0123456789ab";
    c.bench_function("seal_400b", |b| {
        b.iter(|| keys.seal(black_box(ad), black_box(&plain)))
    });
    let sealed = keys.seal(ad, &plain);
    c.bench_function("open_400b", |b| {
        b.iter(|| keys.open(black_box(ad), black_box(&sealed)).is_ok())
    });
}

fn decide(c: &mut Criterion) {
    let id = Token::generate(&Prefix::default(), &mut rand::rng()).id();
    let settings = Settings::default();
    let request = Request {
        user: "alice".into(),
        scopes: vec!["posts:*".parse::<Scope>().expect("scope")],
        rate_limits: Some(vec![
            "60/min".parse().expect("rate"),
            "10000/day".parse().expect("rate"),
        ]),
        ..Request::default()
    };
    let record = lifecycle::issue(&settings, request, id, NOW).expect("issue");
    let usage = Usage::default();
    let check = Check {
        scopes: vec!["posts:read".parse().expect("scope")],
        ..Check::default()
    };
    c.bench_function("decide", |b| {
        b.iter(|| lifecycle::decide(black_box(&record), black_box(&usage), &check, NOW + 1))
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = token_parse, unlock_key_file, keyed_crypto, decide
}
criterion_main!(benches);
