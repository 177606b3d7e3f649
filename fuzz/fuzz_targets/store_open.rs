//! Opening a damaged or tampered store file.
//!
//! A seed store is built once with the library (a key-file slot; an active token with scopes,
//! limits and allow-lists, a revoked one, a rotated pair, an expired one), together with an
//! older copy of the same store taken before the revocation and rotation. Each input is a
//! list of edits to the seed file's bytes (see `mutate`); the edited file is written to a
//! private temporary directory and then opened, unlocked with the key, listed, its tokens looked
//! up and verified, and its audit chain checked; then a purge and a new token are written into
//! it and the chain is checked again. Whatever the edits:
//! - nothing panics or hangs (run.sh passes `-timeout`);
//! - every error is one the contract gives a damaged store: 10 (not a tokman store,
//!   unreadable), 11 (the key no longer unlocks it) or 12 (corrupt, tampered); never 70;
//! - with `TOKMAN_FUZZ_REVIVAL=1`, also: the revoked and the rotated-out token never verify
//!   again, whatever mix of the older copy and the current file the edits make.
//!
//! The seed is random (keys, ids), so an input reproduces only against the same seed:
//! `TOKMAN_FUZZ_SEED_DIR=DIR` keeps it in DIR (built there on first use, reused after); run.sh
//! uses `fuzz/work/store_open-seed`. `TOKMAN_FUZZ_ALLOW_INTERNAL=1` lets exit-70 errors pass
//! (counted and the first few printed) to look for other findings behind a known one.
//!
//! Only the public API that tests/library.rs uses, so it adapts to a new store schema easily.
#![no_main]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use tokman::crypto::KeyFileKey;
use tokman::duration::Span;
use tokman::error::ErrorKind;
use tokman::lifecycle::{Check, Outcome, Request, Settings};
use tokman::policy::{IpAllow, Origin, RateLimit, Scope};
use tokman::service::{Filter, Service, Which};
use tokman::store::{Durability, Location, NewSlot, Store, Unlock};
use tokman::token;

const T0: i64 = 1_800_000_000;
/// When the damaged store is used: after every seed event, the short-lived token expired.
const NOW: i64 = T0 + 1_000;

struct Seed {
    current: Vec<u8>,
    older: Vec<u8>,
    key: String,
    /// (token text, may it verify after any edit?)
    tokens: Vec<(String, bool)>,
    /// Where each input's file is written.
    work: PathBuf,
    revival: bool,
    allow_internal: bool,
    stats: bool,
}

fn build_seed(dir: &Path) {
    let tmp = dir.with_extension(format!("new-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    let path = tmp.join("store.db");
    let key = KeyFileKey::generate();
    let settings = Settings {
        default_rate_limits: vec![RateLimit::parse("100/min").unwrap()],
        ..Settings::default()
    };
    Store::create(
        &Location::Sqlite(path.clone()),
        &Default::default(),
        &settings,
        NewSlot::KeyFile(&key),
        None,
        T0,
    )
    .unwrap();
    let unlock = Unlock::KeyFile(KeyFileKey::decode(key.encode().as_bytes()).unwrap());
    let request = |user: &str| Request {
        user: user.into(),
        ..Request::default()
    };
    let mut lines = Vec::new();
    {
        let mut store = Store::open(&Location::Sqlite(path.clone()), Durability::Full).unwrap();
        let u = store.unlock(&unlock).unwrap();
        let mut service = Service::new(store, u);
        let mut alice = request("alice");
        alice.name = Some("deploy".into());
        alice.description = Some("ci deploys".into());
        alice.scopes = vec![
            Scope::parse("posts:read").unwrap(),
            Scope::parse("users:*").unwrap(),
        ];
        alice.rate_limits = Some(vec![RateLimit::parse("60/min").unwrap()]);
        alice.allowed_ips = vec![IpAllow::parse("10.0.0.0/8").unwrap()];
        alice.allowed_origins = vec![Origin::parse("https://app.example.com").unwrap()];
        let a = service.generate(alice, T0).unwrap();
        let b = service.generate(request("bob"), T0 + 1).unwrap();
        let c = service.generate(request("carol"), T0 + 2).unwrap();
        let mut dave = request("dave");
        dave.expires_in = Some(Span::parse("60s").unwrap());
        let d = service.generate(dave, T0 + 3).unwrap();
        lines.push(format!("{} live\n", a.token.expose()));
        lines.push(format!("{} dead\n", b.token.expose()));
        lines.push(format!("{} dead\n", c.token.expose()));
        lines.push(format!("{} dead\n", d.token.expose()));
    }
    // Closing the store checkpoints its WAL: the file alone is the whole state.
    fs::copy(&path, tmp.join("older.db")).unwrap();
    {
        let mut store = Store::open(&Location::Sqlite(path.clone()), Durability::Full).unwrap();
        let u = store.unlock(&unlock).unwrap();
        let mut service = Service::new(store, u);
        let (bob, carol) = (&lines[1], &lines[2]);
        let id = |line: &str| {
            token::parse(line.split(' ').next().unwrap())
                .unwrap()
                .id()
                .clone()
        };
        service
            .revoke(&Which::Id(id(bob)), Some("left".into()), T0 + 10)
            .unwrap();
        let (_, next) = service
            .rotate(&Which::Id(id(carol)), None, T0 + 20)
            .unwrap();
        lines.push(format!("{} live\n", next.token.expose()));
        service
            .verify(
                &token::parse(&lines[0][..65]).unwrap(),
                &Check::default(),
                T0 + 30,
            )
            .unwrap();
    }
    write_private(&tmp.join("key"), key.encode().as_bytes());
    write_private(&tmp.join("tokens"), lines.concat().as_bytes());
    // Another process may have built one meanwhile: keep whichever was first.
    if fs::rename(&tmp, dir).is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
}

fn private_dir() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("tokman-fuzz-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut b = fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir).unwrap();
    dir
}

fn seed() -> &'static Seed {
    static SEED: OnceLock<Seed> = OnceLock::new();
    SEED.get_or_init(|| {
        let (dir, _keep) = match std::env::var_os("TOKMAN_FUZZ_SEED_DIR") {
            Some(d) => (PathBuf::from(d), None),
            None => {
                let d = private_dir().join("seed");
                (d.clone(), Some(d))
            }
        };
        if !dir.join("tokens").is_file() {
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent).unwrap();
            }
            build_seed(&dir);
        }
        let read = |name: &str| fs::read(dir.join(name)).unwrap();
        let tokens = String::from_utf8(read("tokens")).unwrap();
        let tokens = tokens
            .lines()
            .map(|l| {
                let (t, state) = l.split_once(' ').unwrap();
                (t.to_owned(), state == "live")
            })
            .collect();
        let flag = |name: &str| std::env::var_os(name).is_some_and(|v| v == "1");
        Seed {
            current: read("store.db"),
            older: read("older.db"),
            key: String::from_utf8(read("key")).unwrap(),
            tokens,
            work: private_dir(),
            revival: flag("TOKMAN_FUZZ_REVIVAL"),
            allow_internal: flag("TOKMAN_FUZZ_ALLOW_INTERNAL"),
            stats: flag("TOKMAN_FUZZ_STATS"),
        }
    })
}

/// Reads the input front to back; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> usize {
        usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
    }
    fn u32(&mut self) -> usize {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]) as usize
    }
}

/// Edits, up to 16, each an opcode byte and its operands (offsets are taken modulo the file's
/// length, so every input means something):
/// 0 write 1..=16 bytes · 1 xor a byte · 2 copy a range inside the file · 3 put back a range
/// of the older copy · 4 truncate · 5 write a big-endian u16/u32 of interest (SQLite's header,
/// page numbers and cell pointers are big-endian) · 6 put back a whole 4096-byte page of the
/// older copy · 7 zero a range.
fn mutate(file: &mut Vec<u8>, older: &[u8], input: &mut Input<'_>) {
    for _ in 0..16 {
        if input.0.is_empty() || file.is_empty() {
            return;
        }
        let op = input.byte() % 8;
        let len = file.len();
        let off = input.u32() % len;
        match op {
            0 => {
                let n = usize::from(input.byte() % 16) + 1;
                for i in off..(off + n).min(len) {
                    file[i] = input.byte();
                }
            }
            1 => file[off] ^= input.byte().max(1),
            2 => {
                let dst = input.u32() % len;
                let n = (input.u16() % 4097).min(len - off).min(len - dst);
                file.copy_within(off..off + n, dst);
            }
            3 => {
                let n = (input.u16() % 4097)
                    .min(len - off)
                    .min(older.len().saturating_sub(off));
                file[off..off + n].copy_from_slice(&older[off..off + n]);
            }
            4 => file.truncate(off),
            5 => {
                const VALUES: [u32; 8] = [0, 1, 2, 0x7f, 0xff, 0x1000, 0x7fff_ffff, 0xffff_ffff];
                let v = VALUES[usize::from(input.byte() % 8)];
                let bytes = if input.byte() & 1 == 0 {
                    (v as u16).to_be_bytes().to_vec()
                } else {
                    v.to_be_bytes().to_vec()
                };
                let end = (off + bytes.len()).min(len);
                file[off..end].copy_from_slice(&bytes[..end - off]);
            }
            6 => {
                let start = off / 4096 * 4096;
                let end = (start + 4096).min(len).min(older.len());
                if start < end {
                    file[start..end].copy_from_slice(&older[start..end]);
                }
            }
            _ => {
                let n = (input.u16() % 4097).min(len - off);
                file[off..off + n].fill(0);
            }
        }
    }
}

static INTERNAL: AtomicU64 = AtomicU64::new(0);
static RUNS: AtomicU64 = AtomicU64::new(0);

/// With `TOKMAN_FUZZ_STATS=1`: how far inputs get and how they fail, printed now and then.
fn tally(seed: &Seed, outcome: String) {
    note(seed, outcome);
    let n = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    if seed.stats && n.is_power_of_two() && n >= 1024 {
        eprintln!(
            "store_open: after {n} runs: {:?}",
            note(seed, String::new())
        );
    }
}

/// Counts `outcome` (unless empty) and returns the counts so far.
fn note(seed: &Seed, outcome: String) -> std::collections::BTreeMap<String, u64> {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    static COUNTS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let mut counts = COUNTS.lock().unwrap();
    if seed.stats && !outcome.is_empty() {
        *counts.entry(outcome).or_default() += 1;
    }
    counts.clone()
}

/// An error a damaged store may give; a panic for any other.
fn expect_store_error(seed: &Seed, step: &str, e: &tokman::Error) {
    let kind = e.kind();
    tally(seed, format!("{step}: {kind:?}"));
    if kind == ErrorKind::Internal && seed.allow_internal {
        let n = INTERNAL.fetch_add(1, Ordering::Relaxed);
        if n < 5 || n.is_power_of_two() {
            eprintln!("store_open: internal error #{} at {step}: {e}", n + 1);
        }
        return;
    }
    assert!(
        matches!(
            kind,
            ErrorKind::StoreMissing
                | ErrorKind::StoreUnavailable
                | ErrorKind::Locked
                | ErrorKind::Corrupt
        ),
        "{step} on a damaged store gave {kind:?} ({e:?}); expected a store error (exit 10, 11 or 12)"
    );
}

fn write_private(path: &Path, bytes: &[u8]) {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path).unwrap().write_all(bytes).unwrap();
}

fn run(seed: &Seed, file: &[u8]) {
    let path = seed.work.join("store.db");
    for leftover in ["store.db-wal", "store.db-shm", "store.db-journal"] {
        let _ = fs::remove_file(seed.work.join(leftover));
    }
    write_private(&path, file);
    macro_rules! step {
        ($name:expr, $e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return expect_store_error(seed, $name, &e),
            }
        };
    }
    let mut store = step!(
        "open",
        Store::open(&Location::Sqlite(path.clone()), Durability::Full)
    );
    let key = KeyFileKey::decode(seed.key.as_bytes()).unwrap();
    let unlocked = step!("unlock", store.unlock(&Unlock::KeyFile(key)));
    let mut service = Service::new(store, unlocked);
    step!("list", service.list(&Filter::default(), NOW));
    for (text, live) in &seed.tokens {
        let presented = token::parse(text).unwrap();
        let which = Which::Id(presented.id().clone());
        // A row that is gone is "not found" (8); anything else is a store error.
        match service.lookup(&which, NOW) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return expect_store_error(seed, "lookup", &e),
        }
        let verdict = step!("verify", service.verify(&presented, &Check::default(), NOW));
        if !live && verdict.outcome == Outcome::Valid {
            note(seed, format!("dead token verifies ({})", presented.id()));
        }
        if seed.revival && !live {
            assert_ne!(
                verdict.outcome,
                Outcome::Valid,
                "a dead token verifies: {}",
                presented.id()
            );
        }
    }
    step!("tokens", service.list(&Filter::default(), NOW));
    step!("check", service.check(None));
    // Writes into the damaged file too: a purge (deleting rows, dropping old events) and a new
    // token, then the chain once more.
    step!("purge", service.purge(true, false, NOW + 400 * 86_400));
    let request = Request {
        user: "erin".into(),
        ..Request::default()
    };
    step!("generate", service.generate(request, NOW + 400 * 86_400));
    step!("check", service.check(None));
    tally(seed, "intact".into());
}

fuzz_target!(|data: &[u8]| {
    let seed = seed();
    let mut file = seed.current.clone();
    mutate(&mut file, &seed.older, &mut Input(data));
    run(seed, &file);
});
