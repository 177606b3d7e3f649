//! The rules through the library against a real store, with the clock injected: expiry at
//! the exact instant, one active token per user, rotation, purge and audit retention, without
//! sleeping and without any time-travel option in the binary.

use tokman::audit::Kind;
use tokman::crypto::KeyFileKey;
use tokman::duration::Span;
use tokman::error::ErrorKind;
use tokman::lifecycle::{Check, Outcome, Request, Settings, Status};
use tokman::service::{Filter, Rotation, Service, Which};
use tokman::store::{Durability, Location, NewSlot, Store, Unlock};
use tokman::token::{self, Prefix};

const T0: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

struct Fixture {
    _dir: tempfile::TempDir,
    service: Service,
}

/// A new SQLite store in a temporary directory, unlocked by the key file returned.
fn new_store(settings: &Settings) -> (tempfile::TempDir, Location, KeyFileKey) {
    let dir = tempfile::tempdir().unwrap();
    let at = Location::Sqlite(dir.path().join("store.db"));
    let key = KeyFileKey::generate();
    Store::create(
        &at,
        &Prefix::default(),
        settings,
        NewSlot::KeyFile(&key),
        None,
        T0,
    )
    .unwrap();
    (dir, at, key)
}

fn fixture(settings: Settings) -> Fixture {
    let (dir, at, key) = new_store(&settings);
    let mut store = Store::open(&at, Durability::Full).unwrap();
    let unlocked = store.unlock(&Unlock::KeyFile(key)).unwrap();
    Fixture {
        _dir: dir,
        service: Service::new(store, unlocked),
    }
}

fn request(user: &str) -> Request {
    Request {
        user: user.into(),
        ..Request::default()
    }
}

impl Fixture {
    fn verify(&mut self, token: &str, now: i64) -> Outcome {
        let presented = token::parse(token).unwrap();
        self.service
            .verify(&presented, &Check::default(), now)
            .unwrap()
            .outcome
    }
}

#[test]
fn a_token_expires_at_the_instant_and_then_steps_aside() {
    let mut f = fixture(Settings::default());
    let issued = f.service.generate(request("alice"), T0).unwrap();
    let token = issued.token.expose().to_owned();
    assert_eq!(issued.record.expires_at, T0 + 180 * DAY);
    assert_eq!(f.verify(&token, T0 + 180 * DAY - 1), Outcome::Valid);
    assert_eq!(f.verify(&token, T0 + 180 * DAY), Outcome::Expired);
    // While active it blocks a second token; once expired it does not.
    let err = f.service.generate(request("alice"), T0 + DAY).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let next = f
        .service
        .generate(request("alice"), T0 + 180 * DAY)
        .unwrap();
    assert_eq!(
        f.verify(next.token.expose(), T0 + 180 * DAY + 1),
        Outcome::Valid
    );
    assert_eq!(f.verify(&token, T0 + 180 * DAY + 1), Outcome::Expired);
}

#[test]
fn a_shorter_store_maximum_is_the_default_and_the_ceiling() {
    let settings = Settings {
        max_lifetime: Span::from_secs(7 * DAY),
        ..Settings::default()
    };
    let mut f = fixture(settings);
    let issued = f.service.generate(request("a"), T0).unwrap();
    assert_eq!(issued.record.expires_at, T0 + 7 * DAY);
    let mut long = request("b");
    long.expires_in = Some(Span::from_secs(8 * DAY));
    assert_eq!(
        f.service.generate(long, T0).unwrap_err().kind(),
        ErrorKind::Usage
    );
}

#[test]
fn rotate_is_atomic_and_revocation_sticks() {
    let mut f = fixture(Settings::default());
    let old = f.service.generate(request("alice"), T0).unwrap();
    let (prev, new) = f
        .service
        .rotate(&Which::User("alice".into()), &Rotation::default(), T0 + 10)
        .unwrap();
    assert_eq!(prev.id, old.record.id);
    assert_eq!(f.verify(old.token.expose(), T0 + 11), Outcome::Revoked);
    assert_eq!(f.verify(new.token.expose(), T0 + 11), Outcome::Valid);
    assert_eq!(new.record.expires_at, T0 + 10 + 180 * DAY);
    // A failed rotate (expires-in over the maximum) leaves the current token valid.
    let too_long = Some(Span::from_secs(365 * DAY));
    let err = f
        .service
        .rotate(
            &Which::Id(new.record.id.clone()),
            &Rotation {
                expires_in: too_long,
                ..Rotation::default()
            },
            T0 + 20,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert_eq!(f.verify(new.token.expose(), T0 + 21), Outcome::Valid);
    let rows = f.service.list(&Filter::default(), T0 + 21).unwrap();
    assert_eq!(rows.len(), 2);
}

#[test]
fn purge_deletes_what_expired_and_revoked_tokens_stay_dead() {
    let mut f = fixture(Settings::default());
    let mut short = request("a");
    short.expires_in = Some(Span::from_secs(60));
    let a = f.service.generate(short, T0).unwrap();
    let b = f.service.generate(request("b"), T0).unwrap();
    f.service
        .revoke(&Which::Id(b.record.id.clone()), None, T0 + 1)
        .unwrap();
    let c = f.service.generate(request("c"), T0).unwrap();
    let dry = f.service.purge(true, true, T0 + 59).unwrap();
    assert_eq!(dry.ids, vec![b.record.id.clone()]);
    let done = f.service.purge(true, false, T0 + 60).unwrap();
    let mut expected = vec![a.record.id.clone(), b.record.id.clone()];
    expected.sort();
    assert_eq!(done.ids, expected);
    assert_eq!(f.verify(b.token.expose(), T0 + 61), Outcome::Invalid);
    assert_eq!(f.verify(c.token.expose(), T0 + 61), Outcome::Valid);
    let left = f.service.list(&Filter::default(), T0 + 61).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0.status(T0 + 61), Status::Active);
}

#[test]
fn purge_drops_old_audit_events_and_the_chain_stays_checkable() {
    let settings = Settings {
        audit_retention: Span::from_secs(30 * DAY),
        ..Settings::default()
    };
    let mut f = fixture(settings);
    for (i, user) in ["a", "b", "c"].iter().enumerate() {
        f.service.generate(request(user), T0 + i as i64).unwrap();
    }
    let purged = f.service.purge(false, false, T0 + 40 * DAY).unwrap();
    assert_eq!(purged.events_dropped, 4, "init and three generates");
    let checked = f.service.check(None).unwrap();
    assert_eq!(checked.intact.events, 1);
    let events = f.service.events(None).unwrap();
    assert_eq!(events[0].event.event, Kind::Purge);
    assert!(
        events[0]
            .event
            .detail
            .as_deref()
            .unwrap()
            .contains("dropped 4 audit events")
    );
}

#[test]
fn list_filters_use_the_given_now() {
    let mut f = fixture(Settings::default());
    let a = f.service.generate(request("a"), T0).unwrap();
    let mut soon = request("b");
    soon.expires_in = Some(Span::from_secs(5 * DAY));
    f.service.generate(soon, T0).unwrap();
    f.verify(a.token.expose(), T0 + DAY);
    let expiring = Filter {
        expiring_within: Some(Span::from_secs(7 * DAY)),
        ..Filter::default()
    };
    let rows = f.service.list(&expiring, T0 + DAY).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0.user.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    let unused = Filter {
        unused_for: Some(Span::from_secs(10 * DAY)),
        ..Filter::default()
    };
    let rows = f.service.list(&unused, T0 + 5 * DAY).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0.user.as_str()).collect::<Vec<_>>(),
        ["b"],
        "a was used 4 days ago"
    );
    let rows = f.service.list(&unused, T0 + 12 * DAY).unwrap();
    assert_eq!(rows.len(), 2, "a's last use is now 11 days old");
}

/// A well-formed token (shape and checksum) with the given public id and a wrong secret.
fn forged(id: &str) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let head = format!("{id}_{}", "Q".repeat(43));
    let mut n = crc32fast::hash(head.as_bytes());
    let mut check = [b'0'; 6];
    for c in check.iter_mut().rev() {
        *c = B62[(n % 62) as usize];
        n /= 62;
    }
    format!("{head}{}", std::str::from_utf8(&check).unwrap())
}

fn refusals(f: &mut Fixture) -> Vec<(i64, u64, String)> {
    f.service
        .events(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.event.event == Kind::VerifyRefused)
        .map(|e| (e.at, e.count, e.event.detail.unwrap_or_default()))
        .collect()
}

#[test]
fn repeated_refusals_within_a_minute_count_into_one_event() {
    let mut f = fixture(Settings::default());
    let issued = f.service.generate(request("a"), T0).unwrap();
    let id = issued.record.id.clone();
    // A forged secret for a known id: "invalid: wrong secret", logged against the id.
    let forged = forged(id.as_str());
    for i in 0..50 {
        assert_eq!(f.verify(&forged, T0 + 10 + i % 50), Outcome::Invalid);
    }
    assert_eq!(
        refusals(&mut f),
        vec![(T0 + 10, 50, "invalid: wrong secret".to_string())]
    );
    // The minute is counted from the event's first refusal: at +59 s it still counts in, at
    // +60 s a new event starts.
    assert_eq!(f.verify(&forged, T0 + 69), Outcome::Invalid);
    assert_eq!(f.verify(&forged, T0 + 70), Outcome::Invalid);
    let r = refusals(&mut f);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!((r[0].1, r[1].0, r[1].1), (51, T0 + 70, 1));
    // Another outcome of the same token is another event; a refusal after it starts afresh.
    f.service.revoke(&Which::Id(id), None, T0 + 71).unwrap();
    assert_eq!(f.verify(issued.token.expose(), T0 + 72), Outcome::Revoked);
    assert_eq!(f.verify(issued.token.expose(), T0 + 73), Outcome::Revoked);
    assert_eq!(f.verify(&forged, T0 + 74), Outcome::Invalid);
    let r = refusals(&mut f);
    assert_eq!(
        r.iter().map(|e| e.1).collect::<Vec<_>>(),
        [51, 1, 2, 1],
        "{r:?}"
    );
    // Counts are part of the chain: it checks out, and a pinned head stays in its history
    // while the count it ended with grows.
    let pinned = f.service.check(None).unwrap().intact.head;
    assert_eq!(f.verify(&forged, T0 + 75), Outcome::Invalid);
    f.service.check(Some(&pinned)).unwrap();
}

#[test]
fn a_clock_that_went_back_starts_a_new_refusal_event() {
    let mut f = fixture(Settings::default());
    let issued = f.service.generate(request("a"), T0).unwrap();
    f.service
        .revoke(&Which::Id(issued.record.id.clone()), None, T0)
        .unwrap();
    assert_eq!(f.verify(issued.token.expose(), T0 + 30), Outcome::Revoked);
    assert_eq!(f.verify(issued.token.expose(), T0 + 20), Outcome::Revoked);
    assert_eq!(
        refusals(&mut f).iter().map(|e| e.1).collect::<Vec<_>>(),
        [1, 1]
    );
}

#[test]
fn rate_limited_refusals_record_a_stable_reason_and_count_together() {
    let mut f = fixture(Settings::default());
    let mut req = request("a");
    req.rate_limits = Some(vec![tokman::policy::RateLimit::parse("1/min").unwrap()]);
    let issued = f.service.generate(req, T0).unwrap();
    let presented = token::parse(issued.token.expose()).unwrap();
    let check = Check::default();
    let first = f.service.verify(&presented, &check, T0 + 1).unwrap();
    assert_eq!(first.outcome, Outcome::Valid);
    for (now, left) in [(T0 + 2, 59), (T0 + 30, 31)] {
        let v = f.service.verify(&presented, &check, now).unwrap();
        assert_eq!(v.outcome, Outcome::RateLimited);
        assert_eq!(v.retry_at, Some(T0 + 61));
        assert!(
            v.reason.ends_with(&format!("it frees up in {left}s")),
            "{}",
            v.reason
        );
    }
    let r = refusals(&mut f);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].1, 2);
    assert!(
        !r[0].2.contains("frees up"),
        "a relative time in the log: {}",
        r[0].2
    );
    assert!(r[0].2.starts_with("rate_limited: "), "{}", r[0].2);
}

#[test]
fn grace_rotation_holds_one_active_and_ends_at_the_instant() {
    let mut f = fixture(Settings::default());
    let old = f.service.generate(request("gina"), T0).unwrap();
    let grace = Rotation {
        grace: Some(Span::from_secs(3600)),
        ..Rotation::default()
    };
    let (_, new) = f
        .service
        .rotate(&Which::User("gina".into()), &grace, T0 + 10)
        .unwrap();
    let end = T0 + 10 + 3600;
    assert_eq!(f.verify(old.token.expose(), end - 1), Outcome::Valid);
    assert_eq!(f.verify(new.token.expose(), end - 1), Outcome::Valid);
    assert_eq!(f.verify(old.token.expose(), end), Outcome::Revoked);
    // During the grace the successor holds the user's place.
    let err = f.service.generate(request("gina"), T0 + 20).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains(new.record.id.as_str()), "{err}");
    let found = f
        .service
        .lookup(&Which::User("gina".into()), T0 + 20)
        .unwrap();
    assert_eq!(found.record.id, new.record.id);
    let old_now = f
        .service
        .lookup(&Which::Id(old.record.id.clone()), T0 + 20)
        .unwrap();
    assert_eq!(old_now.record.status(T0 + 20), Status::Rotating);
    assert_eq!(old_now.record.status(end), Status::Revoked);
}

#[test]
fn remind_gives_each_threshold_once_as_the_clock_moves() {
    let mut f = fixture(Settings::default());
    let t = f.service.generate(request("rory"), T0).unwrap();
    let exp = t.record.expires_at;
    let th = [Span::from_secs(7 * DAY), Span::from_secs(DAY)];
    assert!(f.service.remind(&th, exp - 7 * DAY - 1).unwrap().is_empty());
    let r = f.service.remind(&th, exp - 7 * DAY).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].within, Span::from_secs(7 * DAY));
    assert_eq!(r[0].entry.event.event, Kind::Expiring);
    assert!(f.service.remind(&th, exp - 2 * DAY).unwrap().is_empty());
    let r = f.service.remind(&th, exp - DAY).unwrap();
    assert_eq!((r.len(), r[0].within), (1, Span::from_secs(DAY)));
    assert!(f.service.remind(&th, exp - 1).unwrap().is_empty());
    assert!(f.service.remind(&th, exp).unwrap().is_empty());
    let n = f
        .service
        .events(None)
        .unwrap()
        .iter()
        .filter(|e| e.event.event == Kind::Expiring)
        .count();
    assert_eq!(n, 2);
}

#[test]
fn a_batch_counts_a_token_presented_many_times_exactly_once_each() {
    use tokman::service::{Probe, Probed};
    let mut f = fixture(Settings::default());
    let mut req = request("a");
    req.rate_limits = Some(vec![tokman::policy::RateLimit::parse("5/min").unwrap()]);
    req.max_uses = Some(7);
    let issued = f.service.generate(req, T0).unwrap();
    let other = f.service.generate(request("b"), T0).unwrap();
    let a = token::parse(issued.token.expose()).unwrap();
    let b = token::parse(other.token.expose()).unwrap();
    let check = Check::default();

    // 8 uses of a and 2 of b in one batch, with a look-up of a after its fifth use: a's limit
    // of 5 a minute holds within the batch, and the look-up sees the batch's count so far.
    let mut probes = Vec::new();
    for i in 0..8 {
        probes.push(Probe::Verify(&a, &check));
        if i == 4 {
            probes.push(Probe::Look(&a));
        }
        if i % 4 == 0 {
            probes.push(Probe::Verify(&b, &check));
        }
    }
    let answers = f.service.probe_batch(&probes, T0 + 10).unwrap();
    let mut a_outcomes = Vec::new();
    let mut b_valid = 0;
    for (probe, answer) in probes.iter().zip(&answers) {
        match (probe, answer) {
            (Probe::Verify(p, _), Probed::Verdict(v)) if p.id() == a.id() => {
                a_outcomes.push(v.outcome)
            }
            (Probe::Verify(_, _), Probed::Verdict(v)) => {
                assert_eq!(v.outcome, Outcome::Valid);
                b_valid += 1;
            }
            (Probe::Look(_), Probed::Found(Some((_, usage)))) => assert_eq!(usage.use_count, 5),
            (_, other) => panic!("unexpected answer {other:?}"),
        }
    }
    let mut expected = vec![Outcome::Valid; 5];
    expected.extend([Outcome::RateLimited; 3]);
    assert_eq!(a_outcomes, expected);
    assert_eq!(b_valid, 2);

    // What the store holds after the commit, for the next batch and every other process.
    let held = |f: &mut Fixture, t: &token::Presented<'_>| {
        f.service
            .lookup(&Which::Id(t.id().clone()), T0 + 10)
            .unwrap()
            .usage
            .use_count
    };
    assert_eq!(held(&mut f, &a), 5);
    assert_eq!(held(&mut f, &b), 2);

    // A minute on, the next batch reads the stored count: two more uses reach the limit of 7.
    let probes: Vec<Probe<'_>> = (0..3).map(|_| Probe::Verify(&a, &check)).collect();
    let answers = f.service.probe_batch(&probes, T0 + 80).unwrap();
    let outcomes: Vec<Outcome> = answers
        .iter()
        .map(|p| match p {
            Probed::Verdict(v) => v.outcome,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        outcomes,
        [Outcome::Valid, Outcome::Valid, Outcome::UsageExceeded]
    );
    assert_eq!(held(&mut f, &a), 7);
}

#[test]
fn list_gives_the_same_rows_however_few_it_keeps_opened() {
    use tokman::service::Sort;
    let mut f = fixture(Settings::default());
    for i in 0..40 {
        let mut r = request(&format!("user{:02}", (i * 7) % 40));
        r.expires_in = Some(Span::from_secs((10 + i % 5) * DAY));
        let issued = f.service.generate(r, T0 + i).unwrap();
        if i % 3 == 0 {
            f.verify(issued.token.expose(), T0 + 100 + i);
        }
    }
    let rows = |f: &mut Fixture, filter: &Filter, keep: usize| {
        let mut out = Vec::new();
        let made = std::sync::atomic::AtomicUsize::new(0);
        let matched = f
            .service
            .list_each_keeping(
                filter,
                T0 + DAY,
                keep,
                |r, u| {
                    made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Ok((r, u))
                },
                |(r, u)| {
                    out.push((r.id.as_str().to_owned(), r.user, u.use_count, r.expires_at));
                    Ok(())
                },
            )
            .unwrap();
        // No token is made twice: those kept when opened, and the rest of those shown.
        let made = made.into_inner();
        assert!(made <= keep.min(matched) + out.len(), "{made} made");
        (matched, out)
    };
    for sort in [Sort::Created, Sort::Expires, Sort::LastUsed, Sort::User] {
        for limit in [None, Some(5), Some(39)] {
            let filter = Filter {
                sort,
                limit,
                ..Filter::default()
            };
            let all = rows(&mut f, &filter, usize::MAX);
            assert_eq!(all.0, 40);
            assert_eq!(all.1.len(), limit.unwrap_or(40));
            for keep in [0, 1, 7, 39] {
                assert_eq!(
                    rows(&mut f, &filter, keep),
                    all,
                    "{sort:?} {limit:?} keep {keep}"
                );
            }
        }
    }
}

#[test]
fn a_scan_of_many_batches_sees_every_row_once_and_refuses_a_damaged_one_anywhere() {
    // More rows than a few of the scan's batches, so that rows are opened on both threads.
    const N: i64 = 1_300;
    let (_dir, at, key) = new_store(&Settings::default());
    let Location::Sqlite(path) = &at else {
        unreachable!()
    };
    let open = |key: &KeyFileKey| {
        let mut store = Store::open(&at, Durability::Normal).unwrap();
        let key = KeyFileKey::decode(key.encode().as_bytes()).unwrap();
        let unlocked = store.unlock(&Unlock::KeyFile(key)).unwrap();
        Service::new(store, unlocked)
    };
    let mut service = open(&key);
    let (mut ids, mut short) = (Vec::new(), Vec::new());
    for i in 0..N {
        let mut r = request(&format!("user{i:04}"));
        // Every other token expires after a day.
        r.expires_in = Some(Span::from_secs(if i % 2 == 0 { DAY } else { 30 * DAY }));
        let id = service.generate(r, T0).unwrap().record.id;
        if i % 2 == 0 {
            short.push(id.clone());
        }
        ids.push(id);
    }
    ids.sort();
    short.sort();
    drop(service);

    let listed = |service: &mut Service| -> tokman::error::Result<Vec<String>> {
        let mut seen = Vec::new();
        service.list_each(&Filter::default(), T0 + 2 * DAY, |r, _| {
            seen.push(r.id.as_str().to_owned());
            Ok(())
        })?;
        seen.sort();
        Ok(seen)
    };
    let all: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
    assert_eq!(listed(&mut open(&key)).unwrap(), all);
    let counts = open(&key).counts(T0 + 2 * DAY).unwrap();
    assert_eq!((counts.active, counts.expired), (650, 650));

    // A damaged record early, in the middle and among the last rows: the scan refuses each,
    // whichever thread opens it, and purge deletes nothing.
    let db = rusqlite::Connection::open(path).unwrap();
    for at in [3, 700, N as usize - 2] {
        let id = ids[at].as_str();
        let record: Vec<u8> = db
            .query_row("SELECT record FROM tokens WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        let mut damaged = record.clone();
        damaged[30] ^= 1;
        let set = "UPDATE tokens SET record = ?1 WHERE id = ?2";
        db.execute(set, rusqlite::params![damaged, id]).unwrap();
        let err = listed(&mut open(&key)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "row {at}: {err}");
        assert!(err.to_string().contains(id), "row {at}: {err}");
        let err = open(&key).purge(false, false, T0 + 2 * DAY).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "row {at}: {err}");
        db.execute(set, rusqlite::params![record, id]).unwrap();
    }
    // A row gone is seen by the tree over every leaf, whichever thread read the others.
    let row: Vec<rusqlite::types::Value> = db
        .query_row(
            "SELECT * FROM tokens WHERE id = ?1",
            [ids[900].as_str()],
            |r| (0..8).map(|i| r.get(i)).collect(),
        )
        .unwrap();
    db.execute("DELETE FROM tokens WHERE id = ?1", [ids[900].as_str()])
        .unwrap();
    let err = listed(&mut open(&key)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    db.execute(
        "INSERT INTO tokens VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params_from_iter(row),
    )
    .unwrap();
    drop(db);

    // Whole again: purge deletes exactly the tokens that expired.
    let purged = open(&key).purge(false, false, T0 + 2 * DAY).unwrap();
    assert_eq!(purged.ids, short);
    let left = listed(&mut open(&key)).unwrap();
    assert_eq!(left.len(), 650);
    assert!(left.iter().all(|id| short.iter().all(|s| s.as_str() != id)));
}
