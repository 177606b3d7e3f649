//! The one door to an unlocked store for every front end: [`Service`] owns the open [`Store`]
//! and its keys, and has one method per operation, each one transaction, with `now` passed in.
//!
//! This is where `lifecycle`'s decisions meet `store`'s rows: read what the rule needs, ask the
//! rule, write what it returns, append the audit event, commit. Nothing is printed here, and a
//! new token's secret leaves this module only after its transaction has committed. Front ends
//! (the command line, a server) get a store with [`Store::open`] or [`Store::create`] and
//! [`Store::unlock`], and do everything else through a [`Service`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::audit::{Entry, Event, Intact, Kind};
use crate::crypto::{KeyFileKey, Passphrase};
use crate::duration::Span;
use crate::error::{Error, Result};
use crate::lifecycle::Settings;
use crate::lifecycle::{
    self, Changed, Changes, Check, Decision, Holder, Missing, Outcome, Record, Request, Revocation,
    Status, Timestamp, Usage,
};
use crate::scan::Liveness;
use crate::store::{
    Copied, Durability, Location, NewSlot, SlotInfo, Store, Stored, Tx, Unlock, Unlocked,
};
use crate::token::{self, Presented, Token, TokenId};

/// A token picked by id or by its user (the user's active token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    Id(TokenId),
    User(String),
}

/// A newly issued token, committed. The only value that holds a secret.
#[derive(Debug)]
pub struct Issued {
    pub token: Token,
    pub record: Record,
    pub entry: Entry,
}

/// An unlocked store and the operations on it: the only way a front end reads or changes it.
pub struct Service {
    store: Store,
    unlocked: Unlocked,
}

impl Service {
    /// The service over `store`, unlocked by `unlocked` (from [`Store::unlock`]).
    pub fn new(store: Store, unlocked: Unlocked) -> Service {
        Service { store, unlocked }
    }

    /// Close the store for a process that exits right after: the keys are wiped as on any
    /// drop, and what only frees memory is left to the exit (a `verify`'s last step).
    pub fn close_before_exit(self) {
        let Service { store, unlocked } = self;
        drop(unlocked);
        store.close_before_exit();
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        self.store.location()
    }

    /// The slot whose key unlocked the store.
    pub fn unlocked_slot(&self) -> i64 {
        self.unlocked.slot
    }

    /// Bring a store made by an older tokman to this version (see [`Store::upgrade`]); whether
    /// it was upgraded.
    pub fn upgrade(&mut self, now: Timestamp) -> Result<bool> {
        self.store.upgrade(&self.unlocked, now)
    }

    /// Issue a token for `request.user`, refusing if the user already has an active one.
    pub fn generate(&mut self, request: Request, now: Timestamp) -> Result<Issued> {
        let prefix = self.store.prefix().clone();
        let mut tx = self.store.write(&self.unlocked)?;
        let settings = tx.settings()?;
        let existing = tx.active_for_user(&request.user)?;
        if let Holder::Retire = lifecycle::may_issue(existing.as_ref().map(|s| &s.record), now)?
            && let Some(old) = &existing
        {
            // An expired token gives up its user's active place to the new one.
            tx.update(old, true)?;
        }
        let token = new_token(&tx, &prefix)?;
        let record = lifecycle::issue(&settings, request, token.id(), now)?;
        tx.insert(&record, &tx.keys().secret_mac(token.expose()))?;
        let mut detail = format!("expires {}", crate::text::rfc3339(record.expires_at));
        if !record.scopes.is_empty() {
            let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
            detail.push_str(&format!("; scopes {}", scopes.join(" ")));
        }
        let entry = tx.append(
            Event::new(Kind::Generate)
                .token(&record.id, &record.user)
                .detail(detail),
            now,
        )?;
        tx.touch_slot(now)?;
        tx.commit()?;
        Ok(Issued {
            token,
            record,
            entry,
        })
    }

    /// Look a token up without changing anything (for the confirmation prompt, `inspect`).
    pub fn lookup(&mut self, which: &Which, now: Timestamp) -> Result<Stored> {
        let tx = self.store.read(&self.unlocked)?;
        find(&tx, which, now)
    }

    /// The token `rotate` would replace, without changing anything (for the confirmation).
    pub fn rotation_target(&mut self, which: &Which, now: Timestamp) -> Result<Stored> {
        let tx = self.store.read(&self.unlocked)?;
        find_for_rotation(&tx, which, now)
    }

    /// Revoke now. Revoking a revoked token changes nothing and says so.
    pub fn revoke(
        &mut self,
        which: &Which,
        reason: Option<String>,
        now: Timestamp,
    ) -> Result<(Stored, Revocation, Option<Entry>)> {
        let mut all = self.revoke_all(std::slice::from_ref(which), reason, now)?;
        all.pop()
            .ok_or_else(|| Error::internal("revoke returned no token"))
    }

    /// Revoke several tokens in one transaction: all of them, or (when one is not found) none.
    /// Each revoked token has its own event; an already revoked one is left as it is.
    pub fn revoke_all(
        &mut self,
        targets: &[Which],
        reason: Option<String>,
        now: Timestamp,
    ) -> Result<Vec<(Stored, Revocation, Option<Entry>)>> {
        let each: Vec<(Which, Option<String>)> = targets
            .iter()
            .map(|w| (w.clone(), reason.clone()))
            .collect();
        self.revoke_each(&each, now)
    }

    /// [`Service::revoke_all`], each token with its own reason (`scan --revoke`: where it
    /// leaked).
    pub fn revoke_each(
        &mut self,
        targets: &[(Which, Option<String>)],
        now: Timestamp,
    ) -> Result<Vec<(Stored, Revocation, Option<Entry>)>> {
        let mut tx = self.store.write(&self.unlocked)?;
        let mut done: Vec<(Stored, Revocation, Option<Entry>)> = Vec::new();
        for (which, reason) in targets {
            let mut stored = find(&tx, which, now)?;
            if done.iter().any(|(s, _, _)| s.record.id == stored.record.id) {
                continue;
            }
            let outcome = lifecycle::revoke(&mut stored.record, reason.clone(), now);
            if outcome == Revocation::AlreadyRevoked {
                done.push((stored, outcome, None));
                continue;
            }
            tx.update(&stored, false)?;
            let mut event = Event::new(Kind::Revoke).token(&stored.record.id, &stored.record.user);
            event.detail.clone_from(reason);
            let entry = tx.append(event, now)?;
            done.push((stored, outcome, Some(entry)));
        }
        if done.iter().any(|(_, _, e)| e.is_some()) {
            tx.touch_slot(now)?;
            tx.commit()?;
        }
        Ok(done)
    }

    /// Whose each found token is and whether it is live, in one read: a token whose id this
    /// store does not hold, or whose secret does not match, is unknown to it.
    pub fn scan_status(
        &mut self,
        found: &[(&TokenId, &str)],
        now: Timestamp,
    ) -> Result<Vec<(Liveness, Option<String>)>> {
        let tx = self.store.read(&self.unlocked)?;
        let mut out = Vec::with_capacity(found.len());
        for (id, text) in found {
            let status = match tx.token(id)? {
                Some(s) if tx.secret_matches(&s, text) => {
                    let live = match s.record.status(now) {
                        Status::Active | Status::Rotating => Liveness::Live,
                        Status::Expired => Liveness::Expired,
                        Status::Revoked => Liveness::Revoked,
                    };
                    (live, Some(s.record.user))
                }
                _ => (Liveness::Unknown, None),
            };
            out.push(status);
        }
        Ok(out)
    }

    /// Retire a token and issue its successor in one transaction: if anything fails, the old
    /// token stays valid and no new one exists. The successor has the old token's settings,
    /// changed by `changes`; with `grace` the old token stays valid (`rotating`) until it ends.
    pub fn rotate(
        &mut self,
        which: &Which,
        rotation: &Rotation,
        now: Timestamp,
    ) -> Result<(Record, Issued)> {
        let prefix = self.store.prefix().clone();
        let mut tx = self.store.write(&self.unlocked)?;
        let settings = tx.settings()?;
        let mut old = find_for_rotation(&tx, which, now)?;
        let before = old.record.clone();
        let token = new_token(&tx, &prefix)?;
        let new = lifecycle::rotate(
            &settings,
            &mut old.record,
            token.id(),
            &rotation.changes,
            rotation.expires_in,
            rotation.grace,
            now,
        )?;
        tx.update(&old, false)?;
        tx.insert(&new, &tx.keys().secret_mac(token.expose()))?;
        let mut detail = format!("replaces {}", old.record.id);
        if let Some(until) = old.record.grace_until {
            detail.push_str(&format!(
                "; it stays valid until {}",
                crate::text::rfc3339(until)
            ));
        }
        // The successor's expiry is new by nature: only the settings asked for count as changed.
        let changed = Changed {
            fields: lifecycle::changed_fields(&before, &new)
                .into_iter()
                .filter(|f| *f != "expires_at")
                .collect(),
            widened: lifecycle::widening(&before, &new),
        };
        if !changed.fields.is_empty() {
            detail.push_str("; ");
            detail.push_str(&changed.detail());
        }
        let event = Event::new(Kind::Rotate)
            .token(&new.id, &new.user)
            .detail(detail);
        let entry = tx.append(event, now)?;
        tx.touch_slot(now)?;
        tx.commit()?;
        Ok((
            old.record,
            Issued {
                token,
                record: new,
                entry,
            },
        ))
    }

    /// What [`Service::update`] would do to a token, without changing anything (for the
    /// confirmation of a change that widens access).
    pub fn plan_update(
        &mut self,
        which: &Which,
        changes: &Changes,
        now: Timestamp,
    ) -> Result<(Record, Changed)> {
        let tx = self.store.read(&self.unlocked)?;
        let stored = find_for_rotation(&tx, which, now)?;
        let settings = tx.settings()?;
        let (after, _, changed) =
            lifecycle::update(&settings, &stored.record, &stored.usage, changes, now)?;
        Ok((after, changed))
    }

    /// Change a live token's settings, keeping its secret, in one transaction; the event names
    /// the fields changed. A change that changes nothing writes nothing (`entry` is `None`).
    pub fn update(&mut self, which: &Which, changes: &Changes, now: Timestamp) -> Result<Updated> {
        let mut tx = self.store.write(&self.unlocked)?;
        let mut stored = find_for_rotation(&tx, which, now)?;
        let settings = tx.settings()?;
        let (after, usage, changed) =
            lifecycle::update(&settings, &stored.record, &stored.usage, changes, now)?;
        if changed.fields.is_empty() {
            return Ok(Updated {
                record: after,
                usage,
                changed,
                entry: None,
            });
        }
        stored.record = after;
        tx.update(&stored, false)?;
        if usage != stored.usage {
            tx.set_usage(&stored.record.id, &usage)?;
        }
        let event = Event::new(Kind::Update)
            .token(&stored.record.id, &stored.record.user)
            .detail(changed.detail());
        let entry = tx.append(event, now)?;
        tx.touch_slot(now)?;
        tx.commit()?;
        Ok(Updated {
            record: stored.record,
            usage,
            changed,
            entry: Some(entry),
        })
    }

    /// Add an `expiring` event for each active token whose expiry is within one of
    /// `thresholds` and that was not yet reminded for it, in one transaction: run from cron
    /// (and concurrently), each reminder is given once. The events, oldest first.
    pub fn remind(&mut self, thresholds: &[Span], now: Timestamp) -> Result<Vec<Reminded>> {
        let mut tx = self.store.write(&self.unlocked)?;
        let mut due = Vec::new();
        tx.each_token(None, |s| {
            if let Some(reminder) = lifecycle::reminder_due(&s.record, thresholds, now) {
                due.push((s, reminder));
            }
            Ok(())
        })?;
        // The same order on every run: soonest expiry first, then id.
        due.sort_by(|(a, _), (b, _)| {
            (a.record.expires_at, &a.record.id).cmp(&(b.record.expires_at, &b.record.id))
        });
        let mut entries = Vec::with_capacity(due.len());
        for (mut stored, (reminder, marked)) in due {
            stored.record.reminded = marked;
            tx.update(&stored, false)?;
            let detail = format!(
                "expires {} (reminder {} ahead)",
                crate::text::rfc3339(stored.record.expires_at),
                reminder.within
            );
            let event = Event::new(Kind::Expiring)
                .token(&stored.record.id, &stored.record.user)
                .detail(detail);
            entries.push(Reminded {
                entry: tx.append(event, now)?,
                expires_at: stored.record.expires_at,
                within: reminder.within,
            });
        }
        if !entries.is_empty() {
            tx.touch_slot(now)?;
            tx.commit()?;
        }
        Ok(entries)
    }

    /// Check a presented token. A valid use is counted (use count, last use, rate-limit windows);
    /// a refused attempt on a known id is recorded in the audit log and counts toward nothing.
    pub fn verify(
        &mut self,
        presented: &Presented<'_>,
        check: &Check,
        now: Timestamp,
    ) -> Result<Verdict> {
        let mut tx = self.store.write(&self.unlocked)?;
        let verdict = verify_in(&mut tx, presented, check, now)?;
        tx.commit()?;
        Ok(verdict)
    }

    /// The token whose secret is `presented` (for `inspect -`), or an invalid-token error.
    pub fn identify(&mut self, presented: &Presented<'_>) -> Result<Stored> {
        let tx = self.store.read(&self.unlocked)?;
        match tx.token(presented.id())? {
            Some(s) if tx.secret_matches(&s, presented.text()) => Ok(s),
            _ => Err(Error::InvalidToken(
                "unknown token: it is not a token of this store".into(),
            )),
        }
    }

    /// Tokens matching `filter`, in its order and up to its limit.
    pub fn list(&mut self, filter: &Filter, now: Timestamp) -> Result<Vec<(Record, Usage)>> {
        let mut rows = Vec::new();
        self.list_each(filter, now, |r, u| {
            rows.push((r, u));
            Ok(())
        })?;
        Ok(rows)
    }

    /// [`Service::list`], handing each token to `f` in order instead of collecting them, and
    /// returning how many matched (before the limit). Every row is opened (and checked) before
    /// the first one reaches `f`, all in one read snapshot. The first [`LIST_KEPT`] matches are
    /// kept as opened, and only the rest are opened again once sorted: memory stays bounded
    /// however large the store (beyond them only each match's sort key, creation time and id are
    /// held), and a store of up to that many tokens has each row opened once.
    pub fn list_each(
        &mut self,
        filter: &Filter,
        now: Timestamp,
        mut f: impl FnMut(Record, Usage) -> Result<()>,
    ) -> Result<usize> {
        // Boxed, so that sorting the matches moves only small entries.
        let make = |r, u| Ok(Box::new((r, u)));
        self.list_each_keeping(filter, now, LIST_KEPT, make, |b| f(b.0, b.1))
    }

    /// [`Service::list_each`], handing `f` what `make` made of each token instead of the token:
    /// `make` runs where the token is opened, on the scan's threads beside the reading (e.g. a
    /// front end's rendering of it), and what it made is kept for the first [`LIST_KEPT`]
    /// matches. A failure of `make` stops the list as any other error does.
    pub fn list_each_made<T: Send>(
        &mut self,
        filter: &Filter,
        now: Timestamp,
        make: impl Fn(Record, Usage) -> Result<T> + Sync,
        f: impl FnMut(T) -> Result<()>,
    ) -> Result<usize> {
        self.list_each_keeping(filter, now, LIST_KEPT, make, f)
    }

    /// [`Service::list_each_made`], keeping at most `keep` matches made (for tests of the
    /// second reading, which only a store of more than [`LIST_KEPT`] tokens needs otherwise).
    #[doc(hidden)]
    pub fn list_each_keeping<T: Send>(
        &mut self,
        filter: &Filter,
        now: Timestamp,
        keep: usize,
        make: impl Fn(Record, Usage) -> Result<T> + Sync,
        mut f: impl FnMut(T) -> Result<()>,
    ) -> Result<usize> {
        let tx = self.store.read(&self.unlocked)?;
        let mut order: Vec<Listed<T>> = Vec::new();
        // The first `keep` matches opened are made as they are opened; the others are made
        // again from the store once the order is known.
        let made = AtomicUsize::new(0);
        tx.each_token_where(
            filter.user.as_deref(),
            |s| {
                if !matches(filter, &s, now) {
                    return Ok(None);
                }
                let key = sort_key(filter.sort, &s);
                let (created, id) = (s.record.created_at, s.record.id.clone());
                let kept = if made.fetch_add(1, Ordering::Relaxed) < keep {
                    Some(make(s.record, s.usage)?)
                } else {
                    None
                };
                Ok(Some(Listed(key, created, id, kept)))
            },
            |listed| {
                order.push(listed);
                Ok(())
            },
        )?;
        let matched = order.len();
        // Ids are unique, so no two entries are equal and an unstable sort is a stable order.
        if let Some(n) = filter.limit.filter(|&n| n < matched) {
            order.select_nth_unstable_by(n, Listed::order);
            order.truncate(n);
        }
        order.sort_unstable_by(Listed::order);
        for Listed(_, _, id, kept) in order {
            let made = match kept {
                Some(made) => made,
                None => {
                    let s = tx.token(&id)?.ok_or_else(|| {
                        Error::internal("a token vanished inside a read transaction")
                    })?;
                    make(s.record, s.usage)?
                }
            };
            f(made)?;
        }
        Ok(matched)
    }

    /// Delete expired tokens (and revoked ones with `revoked`), and audit events older than the
    /// store's retention. Refused (exit 12, nothing deleted) when the audit chain is not intact.
    pub fn purge(&mut self, revoked: bool, dry_run: bool, now: Timestamp) -> Result<Purged> {
        let mut tx = self.store.write(&self.unlocked)?;
        // Nothing is deleted from a store that does not check out: retention reads event times,
        // and those are only trusted from an intact chain.
        let intact = tx.check_chain()?;
        let settings = tx.settings()?;
        let mut ids: Vec<TokenId> = Vec::new();
        // By the record alone: each row's usage stays sealed.
        tx.each_record_where(
            |record| {
                let purge = match record.status(now) {
                    Status::Expired => true,
                    Status::Revoked => revoked,
                    Status::Active | Status::Rotating => false,
                };
                Ok(purge.then_some(record.id))
            },
            |id| {
                ids.push(id);
                Ok(())
            },
        )?;
        ids.sort();
        if dry_run {
            return Ok(Purged {
                ids,
                events_dropped: 0,
                entry: None,
            });
        }
        for id in &ids {
            tx.delete(id)?;
        }
        let events_dropped = tx.drop_events_before(
            &intact,
            now.saturating_sub(settings.audit_retention.as_secs()),
        )?;
        if ids.is_empty() && events_dropped == 0 {
            // Nothing happened: cron runs this nightly, and an empty event a night is noise.
            return Ok(Purged {
                ids,
                events_dropped,
                entry: None,
            });
        }
        let mut detail = format!(
            "purged {} token{}",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        );
        if events_dropped > 0 {
            detail.push_str(&format!(
                "; dropped {events_dropped} audit event{} older than {}",
                if events_dropped == 1 { "" } else { "s" },
                settings.audit_retention
            ));
        }
        let entry = tx.append(Event::new(Kind::Purge).detail(detail), now)?;
        tx.touch_slot(now)?;
        tx.commit()?;
        Ok(Purged {
            ids,
            events_dropped,
            entry: Some(entry),
        })
    }

    /// Check the verdicts of several presented tokens in one transaction, in order: a stream
    /// of them pays one commit a batch, and counts stay exact beside other processes. A token
    /// presented several times in the batch is read, checked and opened once, and its usage
    /// written once, after the batch's last use of it.
    pub fn verify_batch(
        &mut self,
        presented: &[&Presented<'_>],
        check: &Check,
        now: Timestamp,
    ) -> Result<Vec<Verdict>> {
        let mut tx = self.store.write(&self.unlocked)?;
        let mut seen = Seen::default();
        let mut verdicts = Vec::with_capacity(presented.len());
        for p in presented {
            verdicts.push(seen.verify(&mut tx, p, check, now)?);
        }
        seen.write_back(&tx, now)?;
        tx.commit()?;
        Ok(verdicts)
    }

    /// Answer a batch of server requests in one write transaction, in order: each verify with
    /// its own check (counted as [`Service::verify`] counts it), each look-up counting nothing.
    /// A server pays one commit a batch however many requests wait (and one read and one
    /// usage write per token however often it is presented), and every count is exact
    /// beside other processes; an error fails the whole batch and changes nothing.
    pub fn probe_batch(&mut self, probes: &[Probe<'_>], now: Timestamp) -> Result<Vec<Probed>> {
        let mut tx = self.store.write(&self.unlocked)?;
        let mut seen = Seen::default();
        let mut answers = Vec::with_capacity(probes.len());
        for probe in probes {
            answers.push(match probe {
                Probe::Verify(presented, check) => {
                    Probed::Verdict(seen.verify(&mut tx, presented, check, now)?)
                }
                Probe::Look(presented) => Probed::Found(match seen.token(&tx, presented.id())? {
                    Some(s) if tx.secret_matches(s, presented.text()) => {
                        Some((s.record.clone(), s.usage.clone()))
                    }
                    _ => None,
                }),
                Probe::Ping => {
                    tx.settings()?;
                    Probed::Pong
                }
            });
        }
        seen.write_back(&tx, now)?;
        tx.commit()?;
        Ok(answers)
    }

    /// Open the store again at the same place, keeping the keys that unlocked it (a server
    /// after a lost database connection or a store file put back): no passphrase or key file
    /// is read again. A store that the keys do not open fails its next transaction.
    pub fn reopen(&mut self, durability: Durability) -> Result<()> {
        let location = self.store.location().clone();
        self.store = Store::open(&location, durability)?;
        Ok(())
    }

    /// The audit events, oldest first, from `since` on.
    pub fn events(&mut self, since: Option<Timestamp>) -> Result<Vec<Entry>> {
        self.store.read(&self.unlocked)?.events(since)
    }

    /// Check the audit chain and every token against the store's integrity root. With
    /// `expect_head` (a head noted earlier), also that the log only grew since: that head is
    /// its head or an earlier one it still holds; otherwise the store was rolled back.
    pub fn check(&mut self, expect_head: Option<&str>) -> Result<Checked> {
        let tx = self.store.read(&self.unlocked)?;
        let intact = tx.check_chain()?;
        let tokens = tx.check_state()?;
        if let Some(expected) = expect_head
            && !intact.descends_from(expected)
            && !tx.held_before_rekey(expected)?
        {
            return Err(Error::corrupt(format!(
                "the audit log's head is {}, and {expected} is not in its history: the store was rolled back or replaced",
                intact.head
            )));
        }
        Ok(Checked { intact, tokens })
    }

    /// How many tokens there are by status now, and the audit head (for `info`).
    pub fn counts(&mut self, now: Timestamp) -> Result<Counts> {
        let tx = self.store.read(&self.unlocked)?;
        let mut counts = Counts::default();
        tx.each_token(None, |s| {
            match s.record.status(now) {
                Status::Active => counts.active += 1,
                Status::Rotating => counts.rotating += 1,
                Status::Expired => counts.expired += 1,
                Status::Revoked => counts.revoked += 1,
            }
            Ok(())
        })?;
        counts.head = tx.audit_head();
        Ok(counts)
    }

    /// The store's settings.
    pub fn settings(&mut self) -> Result<Settings> {
        self.store.read(&self.unlocked)?.settings()
    }

    /// The unlock slots.
    pub fn slots(&mut self) -> Result<Vec<SlotInfo>> {
        self.store.read(&self.unlocked)?.slots()
    }

    /// Note that a read-only use (`list`, `inspect`, `audit`, `key list`) used its slot, as
    /// every write does in its own transaction: without it a key file used only to read looks
    /// unused. Written at most once a minute; a store that cannot be written (read-only, a
    /// lock held) never fails the read, so this never fails.
    pub fn note_slot_used(&mut self, now: Timestamp) {
        let touch = |svc: &mut Service| -> Result<()> {
            let tx = svc.store.write(&svc.unlocked)?;
            tx.touch_slot(now)?;
            tx.commit()
        };
        let _ = touch(self);
    }

    /// Add a key-file slot for `key`; `how` is what unlocked the store (the master key is
    /// recovered with it again). The new slot's number, once committed.
    pub fn add_key_file(
        &mut self,
        how: &Unlock,
        key: &KeyFileKey,
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<(i64, Entry)> {
        let mut tx = self.store.write(&self.unlocked)?;
        let slot = tx.add_slot(how, NewSlot::KeyFile(key), label, now)?;
        let entry = tx.append(
            Event::new(Kind::KeyAdd).detail(format!("slot {slot}: key file")),
            now,
        )?;
        tx.commit()?;
        Ok((slot, entry))
    }

    /// Set the store's passphrase: a new slot for `pass`, which replaces the passphrase slot
    /// there was (keeping its label). The audit entry says which slot replaced which.
    pub fn set_passphrase(
        &mut self,
        how: &Unlock,
        pass: &Passphrase,
        now: Timestamp,
    ) -> Result<Entry> {
        let mut tx = self.store.write(&self.unlocked)?;
        let old = tx.passphrase_slot()?;
        // The new slot takes over the old one's label: a changed passphrase is the same way
        // in, and the label is how the operator knows it.
        let label = match old {
            Some(old) => tx
                .slots()?
                .into_iter()
                .find(|s| s.slot == old)
                .and_then(|s| s.label),
            None => Some("passphrase".to_owned()),
        };
        let slot = tx.add_slot(how, NewSlot::Passphrase(pass), label.as_deref(), now)?;
        if let Some(old) = old {
            tx.remove_slot(old)?;
        }
        let detail = match old {
            Some(old) => format!("slot {slot}: passphrase changed (replaces slot {old})"),
            None => format!("slot {slot}: passphrase added"),
        };
        let entry = tx.append(Event::new(Kind::KeyPassphrase).detail(detail), now)?;
        tx.commit()?;
        Ok(entry)
    }

    /// Remove an unlock slot; never the last one.
    pub fn remove_slot(&mut self, slot: i64, now: Timestamp) -> Result<(SlotInfo, Entry)> {
        let mut tx = self.store.write(&self.unlocked)?;
        let info = tx.remove_slot(slot)?;
        let entry = tx.append(
            Event::new(Kind::KeyRemove).detail(format!("slot {slot}: {}", info.kind)),
            now,
        )?;
        tx.commit()?;
        Ok((info, entry))
    }

    /// A consistent SQLite copy of the store at `dest`, from a read snapshot; the store is not
    /// changed. `how` unlocks the copy's slots.
    pub fn backup(&mut self, how: &Unlock, dest: &Location, now: Timestamp) -> Result<Copied> {
        self.store.copy_to(&self.unlocked, how, dest, None, now)
    }

    /// The whole store into the new, empty store at `dest`, either backend; both record a
    /// `copy` event, so both have the same audit head.
    pub fn copy(&mut self, how: &Unlock, dest: &Location, now: Timestamp) -> Result<Copied> {
        let event = Event::new(Kind::Copy).detail(format!("copied to {dest}"));
        self.store
            .copy_to(&self.unlocked, how, dest, Some(event), now)
    }
}

impl Service {
    /// Change the store's settings in one transaction (see [`crate::settings::apply`]). A
    /// change to the values they already have writes nothing (`entry` is `None`).
    pub fn set_settings(
        &mut self,
        change: &crate::settings::Change,
        now: Timestamp,
    ) -> Result<SettingsChanged> {
        let mut tx = self.store.write(&self.unlocked)?;
        let before = tx.settings()?;
        let (after, changed) = crate::settings::apply(&before, change)?;
        if changed.is_empty() {
            return Ok(SettingsChanged {
                settings: after,
                changed,
                entry: None,
            });
        }
        tx.set_settings(&after)?;
        let entry = tx.append(Event::new(Kind::Settings).detail(changed.join("; ")), now)?;
        tx.touch_slot(now)?;
        tx.commit()?;
        Ok(SettingsChanged {
            settings: after,
            changed,
            entry: Some(entry),
        })
    }
}

impl Service {
    /// The audit events `filter` picks, oldest first, from a chain checked whole first.
    pub fn events_matching(&mut self, filter: &crate::audit::Filter) -> Result<Vec<Entry>> {
        let mut entries = self.events(filter.since)?;
        entries.retain(|e| filter.matches(e));
        Ok(entries)
    }
}

impl Service {
    /// Replace the master key (see [`Store::rekey`]); `how` is what unlocked the store, and
    /// its slot is the one kept. From then on this service uses the new keys.
    pub fn rekey(
        &mut self,
        how: &Unlock,
        new_file: Option<&KeyFileKey>,
        now: Timestamp,
    ) -> Result<crate::store::Rekeyed> {
        let (unlocked, done) = self.store.rekey(&self.unlocked, how, new_file, now)?;
        self.unlocked = unlocked;
        Ok(done)
    }
}

/// What [`Service::set_settings`] did.
#[derive(Debug, Clone)]
pub struct SettingsChanged {
    /// The settings now.
    pub settings: Settings,
    /// One line per setting changed (`field old → new`); empty when nothing changed.
    pub changed: Vec<String>,
    /// The `settings` event, when anything changed.
    pub entry: Option<Entry>,
}

/// One request of a [`Service::probe_batch`].
pub enum Probe<'a> {
    /// Check a token as `verify` does, counting a valid use.
    Verify(&'a Presented<'a>, &'a Check),
    /// Find the token whose secret this is, counting nothing (for introspection).
    Look(&'a Presented<'a>),
    /// Read the store's settings: does the store answer?
    Ping,
}

/// The answer to one [`Probe`], in its order.
#[derive(Debug)]
pub enum Probed {
    Verdict(Verdict),
    /// The token's record and usage when the secret matched a token of this store.
    Found(Option<(Record, Usage)>),
    Pong,
}

/// What [`Service::check`] found intact.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The audit chain: how many events, and its head.
    pub intact: Intact,
    /// How many tokens checked out against the root.
    pub tokens: u64,
}

/// Tokens by status, and the audit head, for [`Service::counts`].
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub active: u64,
    pub rotating: u64,
    pub expired: u64,
    pub revoked: u64,
    pub head: String,
}

fn new_token(tx: &Tx<'_>, store_prefix: &token::Prefix) -> Result<Token> {
    // 12 random base36 characters: a collision is astronomically unlikely, but an id must be
    // unique forever (a purged revoked token's id stays blocked), so check.
    for _ in 0..8 {
        let t = Token::generate(store_prefix, &mut rand::rng());
        if !tx.id_taken(&t.id())? {
            return Ok(t);
        }
    }
    Err(Error::internal("could not draw an unused token id"))
}

fn find(tx: &Tx<'_>, which: &Which, now: Timestamp) -> Result<Stored> {
    match which {
        Which::Id(id) => tx
            .token(id)?
            .ok_or_else(|| Error::NotFound(format!("no token {id} in this store"))),
        Which::User(user) => match tx.active_for_user(user)? {
            Some(s) if s.record.status(now) == Status::Active => Ok(s),
            _ => Err(Error::NotFound(format!(
                "{} has no active token",
                crate::text::escape(user)
            ))),
        },
    }
}

/// The token `rotate` would replace, or `update` change. By user: the token holding the
/// user's place, even if it has expired since, so the rule can say "expired, use generate"
/// (exit 3), not "not found"; by id any token, which the rule refuses with its own exit code
/// when it is dead.
fn find_for_rotation(tx: &Tx<'_>, which: &Which, now: Timestamp) -> Result<Stored> {
    match which {
        Which::User(user) => tx.active_for_user(user)?.ok_or_else(|| {
            Error::NotFound(format!("{} has no active token", crate::text::escape(user)))
        }),
        Which::Id(_) => find(tx, which, now),
    }
}

/// The answer to `verify`, whatever it is.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reason: String,
    /// The token's record once it is identified (its secret matched).
    pub record: Option<Record>,
    /// When a rate-limited token may be used again.
    pub retry_at: Option<Timestamp>,
    /// For a denial because the request gave no address or origin: which.
    pub missing: Option<Missing>,
    /// Valid verifies left under the token's use limit (after this one, if it counted).
    pub uses_left: Option<u64>,
}

impl Verdict {
    pub fn malformed(reason: &str) -> Verdict {
        Verdict::refused(Outcome::Malformed, reason.to_owned())
    }

    /// A refusal before the token is identified.
    fn refused(outcome: Outcome, reason: String) -> Verdict {
        Verdict {
            outcome,
            reason,
            record: None,
            retry_at: None,
            missing: None,
            uses_left: None,
        }
    }
}

/// [`Service::verify`] inside a transaction the caller commits.
fn verify_in(
    tx: &mut Tx<'_>,
    presented: &Presented<'_>,
    check: &Check,
    now: Timestamp,
) -> Result<Verdict> {
    let Some(stored) = tx.token(presented.id())? else {
        return Ok(unknown());
    };
    let (mut verdict, usage) = judge(tx, &stored, presented, check, now)?;
    if let Some(usage) = usage {
        tx.set_usage(&stored.record.id, &usage)?;
        tx.touch_slot(now)?;
    }
    if verdict.outcome != Outcome::Invalid {
        verdict.record = Some(stored.record);
    }
    Ok(verdict)
}

/// Unknown ids are not logged: a flood of garbage must cost no writes.
fn unknown() -> Verdict {
    Verdict::refused(Outcome::Invalid, "unknown token".into())
}

/// The tokens one batch has read (each read, checked and opened once, or found absent), with
/// the usage the batch's verifies have left them: written back once, when the batch is done.
/// Lives for one transaction only, so nothing is remembered between batches.
#[derive(Default)]
struct Seen {
    /// By id: the token and whether the batch counted a use of it, or `None` when the store
    /// has no such token.
    tokens: HashMap<String, Option<(Stored, bool)>>,
}

impl Seen {
    fn entry(&mut self, tx: &Tx<'_>, id: &TokenId) -> Result<Option<&mut (Stored, bool)>> {
        // The id is copied only the first time the batch meets it.
        if !self.tokens.contains_key(id.as_str()) {
            let found = tx.token(id)?.map(|s| (s, false));
            self.tokens.insert(id.as_str().to_owned(), found);
        }
        Ok(self.tokens.get_mut(id.as_str()).and_then(Option::as_mut))
    }

    fn token(&mut self, tx: &Tx<'_>, id: &TokenId) -> Result<Option<&Stored>> {
        Ok(self.entry(tx, id)?.map(|(s, _)| &*s))
    }

    /// [`verify_in`], counting into the batch's copy of the token.
    fn verify(
        &mut self,
        tx: &mut Tx<'_>,
        presented: &Presented<'_>,
        check: &Check,
        now: Timestamp,
    ) -> Result<Verdict> {
        let Some((stored, counted)) = self.entry(tx, presented.id())? else {
            return Ok(unknown());
        };
        let (mut verdict, usage) = judge(tx, stored, presented, check, now)?;
        if verdict.outcome != Outcome::Invalid {
            verdict.record = Some(stored.record.clone());
        }
        if let Some(usage) = usage {
            stored.usage = usage;
            *counted = true;
        }
        Ok(verdict)
    }

    /// Write back the usage of every token the batch counted.
    fn write_back(self, tx: &Tx<'_>, now: Timestamp) -> Result<()> {
        let mut any = false;
        for (stored, _) in self.tokens.values().flatten().filter(|(_, c)| *c) {
            tx.set_usage(&stored.record.id, &stored.usage)?;
            any = true;
        }
        if any {
            tx.touch_slot(now)?;
        }
        Ok(())
    }
}

/// The answer for a token found in the store: the secret checked, the decision made, and a
/// refusal recorded; the usage to write back when the use is counted. The verdict's record is
/// left for the caller to fill in when the outcome is not `Invalid` (only a wrong secret is:
/// [`lifecycle::decide`] never answers it), so a single verify moves it instead of copying.
fn judge(
    tx: &mut Tx<'_>,
    stored: &Stored,
    presented: &Presented<'_>,
    check: &Check,
    now: Timestamp,
) -> Result<(Verdict, Option<Usage>)> {
    if !tx.secret_matches(stored, presented.text()) {
        let event = Event::new(Kind::VerifyRefused)
            .token(&stored.record.id, &stored.record.user)
            .detail("invalid: wrong secret");
        tx.append_refusal(event, now)?;
        return Ok((unknown(), None));
    }
    let Decision {
        outcome,
        reason,
        missing,
        usage,
        retry_at,
    } = lifecycle::decide(&stored.record, &stored.usage, check, now);
    let uses_left = stored
        .record
        .uses_left(usage.as_ref().unwrap_or(&stored.usage));
    if usage.is_none() {
        let event = Event::new(Kind::VerifyRefused)
            .token(&stored.record.id, &stored.record.user)
            .detail(format!("{}: {reason}", outcome.as_str()));
        tx.append_refusal(event, now)?;
    }
    // The event's detail is stable (no relative time), so repeats count into one event; the
    // answer says when to try again.
    let reason = match retry_at {
        Some(at) => format!("{reason}; it frees up in {}s", at.saturating_sub(now)),
        None => reason,
    };
    let verdict = Verdict {
        outcome,
        reason,
        // The caller's to fill in: moved on a single verify, copied from a batch's token.
        record: None,
        retry_at,
        missing,
        uses_left,
    };
    Ok((verdict, usage))
}

/// Which tokens `list` shows, in what order, and how many.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user: Option<String>,
    pub status: Option<Status>,
    pub expiring_within: Option<Span>,
    pub unused_for: Option<Span>,
    pub sort: Sort,
    /// Only the first this many, after sorting.
    pub limit: Option<usize>,
}

/// The order `list` shows tokens in. Ties (tokens created in the same second, never-used ones,
/// a user's several tokens) go by creation time, then by id, so the order is the same on every
/// run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Oldest first.
    #[default]
    Created,
    /// Soonest expiry first (so those already expired lead).
    Expires,
    /// Most recently used first; never-used tokens last, as the ones least recently used.
    LastUsed,
    /// By user name, ignoring case first (then exact, so `Alice` and `alice` never tie).
    User,
}

/// How many matches `list` keeps opened from its scan (about 350 bytes each, measured at
/// 100,000 tokens: some 45 MB at most); the rest are opened again, in order, after the sort.
/// Reading every row once made `list --json` of 100,000 tokens 0.96 s → 0.66 s.
const LIST_KEPT: usize = 131_072;

/// One match of `list`: what it sorts by, and the opened token when it was kept.
struct Listed<T>(Key, Timestamp, TokenId, Option<T>);

impl<T> Listed<T> {
    fn order(a: &Self, b: &Self) -> std::cmp::Ordering {
        (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2))
    }
}

/// What a token sorts by, before its creation time and id. Only one variant occurs in a list.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    None,
    Time(Timestamp),
    /// `Reverse(None)` sorts after every `Reverse(Some(_))`: never used comes last.
    Recent(std::cmp::Reverse<Option<Timestamp>>),
    User(String, String),
}

fn sort_key(sort: Sort, s: &Stored) -> Key {
    match sort {
        Sort::Created => Key::None,
        Sort::Expires => Key::Time(s.record.expires_at),
        Sort::LastUsed => Key::Recent(std::cmp::Reverse(s.usage.last_used_at)),
        Sort::User => Key::User(s.record.user.to_lowercase(), s.record.user.clone()),
    }
}

fn matches(filter: &Filter, s: &Stored, now: Timestamp) -> bool {
    let r = &s.record;
    let status = r.status(now);
    filter.status.is_none_or(|want| status == want)
        && filter.expiring_within.is_none_or(|w| {
            matches!(status, Status::Active | Status::Rotating)
                && r.expires_at <= now.saturating_add(w.as_secs())
        })
        && filter.unused_for.is_none_or(|w| {
            s.usage
                .last_used_at
                .is_none_or(|t| t <= now.saturating_sub(w.as_secs()))
        })
}

/// What `purge` did (or would do, with `dry_run`).
#[derive(Debug, Clone)]
pub struct Purged {
    pub ids: Vec<TokenId>,
    pub events_dropped: u64,
    pub entry: Option<Entry>,
}

/// How `rotate` replaces a token: the successor's settings changed by `changes`, its lifetime
/// (`None`: the original's), and a grace for the old token (`None`: revoked now).
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    pub changes: Changes,
    pub expires_in: Option<Span>,
    pub grace: Option<Span>,
}

/// What [`Service::update`] did.
#[derive(Debug, Clone)]
pub struct Updated {
    pub record: Record,
    pub usage: Usage,
    pub changed: Changed,
    /// The `update` event, when anything changed.
    pub entry: Option<Entry>,
}

/// One reminder [`Service::remind`] gave.
#[derive(Debug, Clone)]
pub struct Reminded {
    pub entry: Entry,
    pub expires_at: Timestamp,
    /// The threshold it was given for.
    pub within: Span,
}
