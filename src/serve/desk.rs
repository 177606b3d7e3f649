//! The store desk: the only owner of the server's [`Service`] (a task on the HTTP runtime's
//! thread for SQLite, a thread of its own for PostgreSQL). Request handlers hand it a [`Job`]
//! and wait for its [`Reply`]; it takes every job waiting (up to [`MAX_BATCH`]) and answers
//! them all from ONE write transaction (group commit), then replies to each. A reply is only
//! ever sent after its transaction committed, so every answered request is counted. Within a
//! batch a token presented many times is read and written once ([`Service::probe_batch`]).
//!
//! Nothing is cached between batches: each is a new transaction, so a revocation committed by
//! another process is honoured by the next batch. A batch that fails (a store moved away, a
//! lost database connection) is answered as a failure, and the store is opened again, with the
//! keys kept in memory, before the next one.

use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

use crate::cmd::{now, say};
use tokman::error::{Error, ErrorKind};
use tokman::lifecycle::{Check, Record, Usage};
use tokman::service::{Probe, Probed, Service, Verdict};
use tokman::store::{Durability, Location};
use tokman::token::{self, Presented};

/// The most requests one transaction answers: a bound on how long the first of them waits
/// behind the others, and on how much one failure fails.
pub const MAX_BATCH: usize = 512;

/// How many requests may wait for the store before handlers wait to hand theirs over.
const QUEUE: usize = 4096;

/// What a request asks of the store. Tokens are well-formed (checked by the handler).
pub enum Job {
    /// `/auth`: check and count.
    Verify {
        token: Zeroizing<String>,
        check: Check,
    },
    /// `/introspect`: check and count the caller's token, look the other up without counting.
    /// `target` is `None` when it is malformed (inactive without a look).
    Introspect {
        caller: Zeroizing<String>,
        check: Check,
        target: Option<Zeroizing<String>>,
    },
    /// `/healthz`: does the store answer?
    Ping,
}

/// The answer to a [`Job`].
pub enum Reply {
    Verdict(Verdict),
    Introspected {
        caller: Verdict,
        target: Option<Box<(Record, Usage)>>,
    },
    Pong,
    /// The store could not answer: nothing of this batch was counted.
    Failed(ErrorKind),
}

enum Msg {
    Work(Job, oneshot::Sender<Reply>),
    /// Answer everything queued before this, then end.
    Stop,
}

/// The handlers' side of the store (cheap to clone).
#[derive(Clone)]
pub struct Desk {
    tx: mpsc::Sender<Msg>,
}

/// The store's side: what it answers from.
pub struct Inbox {
    rx: mpsc::Receiver<Msg>,
}

/// A new desk and its inbox.
pub fn desk() -> (Desk, Inbox) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (Desk { tx }, Inbox { rx })
}

impl Desk {
    /// Hand `job` to the store and wait for its answer. A store that has stopped
    /// answers nothing: that is a failure, never a success.
    pub async fn ask(&self, job: Job) -> Reply {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Msg::Work(job, reply)).await.is_err() {
            return Reply::Failed(ErrorKind::StoreUnavailable);
        }
        answer
            .await
            .unwrap_or(Reply::Failed(ErrorKind::StoreUnavailable))
    }

    /// Let the store answer what was handed over before now, then end.
    pub async fn stop(&self) {
        let _ = self.tx.send(Msg::Stop).await;
    }

    /// [`Desk::stop`], from outside the runtime.
    pub fn stop_blocking(&self) {
        let _ = self.tx.blocking_send(Msg::Stop);
    }
}

impl Inbox {
    /// Answer jobs until [`Desk::stop`] (or every desk is gone), as a task of the runtime
    /// that serves HTTP: each batch runs on the runtime's one thread while the handlers wait,
    /// so a request goes from its connection to the store and back without a thread switch,
    /// and the batch holds every request the handlers took in since the last one. For SQLite,
    /// whose transactions never wait on a network. `batches` observes each batch's size.
    pub async fn run(self, service: Service, batches: Histogram) {
        let mut owner = Owner::new(service, batches);
        let mut rx = self.rx;
        while let Some(Msg::Work(job, reply)) = rx.recv().await {
            if !owner.batch((job, reply), &mut rx) {
                return;
            }
        }
    }

    /// [`Inbox::run`] on a thread of its own, outside any runtime (for PostgreSQL: its client
    /// drives a runtime of its own, and its round trips must not hold up the HTTP thread).
    pub fn run_blocking(self, service: Service, batches: Histogram) {
        let mut owner = Owner::new(service, batches);
        let mut rx = self.rx;
        while let Some(Msg::Work(job, reply)) = rx.blocking_recv() {
            if !owner.batch((job, reply), &mut rx) {
                return;
            }
        }
    }
}

/// The service and what is known about the store's health.
struct Owner {
    service: Service,
    batches: Histogram,
    /// The last batch failed: open the store again before the next.
    broken: bool,
    /// The SQLite file opened (device and inode): a file moved away, or replaced, under the
    /// open connection must not go on answering from the old one.
    file: Option<(u64, u64)>,
}

impl Owner {
    fn new(service: Service, batches: Histogram) -> Owner {
        let file = sqlite_file(service.location()).and_then(Result::ok);
        Owner {
            service,
            batches,
            broken: false,
            file,
        }
    }

    /// Answer `first` and every job waiting behind it (up to [`MAX_BATCH`]) as one batch;
    /// whether to go on (no [`Msg::Stop`] was among them).
    fn batch(
        &mut self,
        first: (Job, oneshot::Sender<Reply>),
        rx: &mut mpsc::Receiver<Msg>,
    ) -> bool {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        batch.push(first);
        let mut go_on = true;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Work(job, reply)) => batch.push((job, reply)),
                Ok(Msg::Stop) => {
                    go_on = false;
                    break;
                }
                Err(_) => break,
            }
        }
        self.batches.observe(batch.len() as f64);
        self.answer(&mut batch);
        go_on
    }

    /// Answer and empty `batch`: all from one transaction, or all failed.
    fn answer(&mut self, batch: &mut Vec<(Job, oneshot::Sender<Reply>)>) {
        let replies = match self.ready().and_then(|()| self.probe(batch)) {
            Ok(replies) => {
                if self.broken {
                    say("tokman serve: the store answers again");
                    self.broken = false;
                }
                replies
            }
            Err(e) => {
                if !self.broken {
                    say(format_args!("tokman serve: the store cannot be used: {e}"));
                }
                self.broken = true;
                let kind = e.kind();
                batch.iter().map(|_| Reply::Failed(kind)).collect()
            }
        };
        for ((_, reply), answer) in batch.drain(..).zip(replies) {
            // A handler that went away (its client hung up) still had its request counted.
            let _ = reply.send(answer);
        }
    }

    /// Make sure the service has the store that is there now, opening it again after a
    /// failure or when the SQLite file was moved or replaced.
    fn ready(&mut self) -> Result<(), Error> {
        let now_file = match sqlite_file(self.service.location()) {
            Some(Ok(file)) => Some(file),
            Some(Err(e)) => return Err(e),
            None => None,
        };
        if self.broken || now_file != self.file {
            self.service.reopen(Durability::Normal)?;
            self.file = now_file;
        }
        Ok(())
    }

    fn probe(&mut self, batch: &[(Job, oneshot::Sender<Reply>)]) -> Result<Vec<Reply>, Error> {
        // Every token of the batch, parsed once; the handlers sent well-formed ones only.
        let mut presented: Vec<Presented<'_>> = Vec::with_capacity(batch.len() + 1);
        for (job, _) in batch {
            match job {
                Job::Verify { token, .. } => presented.push(parse(token)?),
                Job::Introspect { caller, target, .. } => {
                    presented.push(parse(caller)?);
                    if let Some(t) = target {
                        presented.push(parse(t)?);
                    }
                }
                Job::Ping => {}
            }
        }
        let mut probes = Vec::with_capacity(presented.len() + 1);
        let mut next = presented.iter();
        let mut take = || {
            next.next()
                .ok_or_else(|| Error::internal("a batch token went missing"))
        };
        for (job, _) in batch {
            match job {
                Job::Verify { check, .. } => probes.push(Probe::Verify(take()?, check)),
                Job::Introspect { check, target, .. } => {
                    probes.push(Probe::Verify(take()?, check));
                    if target.is_some() {
                        probes.push(Probe::Look(take()?));
                    }
                }
                Job::Ping => probes.push(Probe::Ping),
            }
        }
        let mut answers = self.service.probe_batch(&probes, now())?.into_iter();
        let mut next = || {
            answers
                .next()
                .ok_or_else(|| Error::internal("a batch answer went missing"))
        };
        let mut replies = Vec::with_capacity(batch.len());
        for (job, _) in batch {
            replies.push(match (job, next()?) {
                (Job::Verify { .. }, Probed::Verdict(v)) => Reply::Verdict(v),
                (Job::Introspect { target, .. }, Probed::Verdict(caller)) => {
                    let target = match target {
                        Some(_) => match next()? {
                            Probed::Found(found) => found.map(Box::new),
                            _ => return Err(Error::internal("a look-up answered out of order")),
                        },
                        None => None,
                    };
                    Reply::Introspected { caller, target }
                }
                (Job::Ping, Probed::Pong) => Reply::Pong,
                _ => return Err(Error::internal("a batch answered out of order")),
            });
        }
        Ok(replies)
    }
}

fn parse(text: &str) -> Result<Presented<'_>, Error> {
    token::parse(text)
        .map_err(|m| Error::internal(format!("a malformed token reached the store: {m}")))
}

/// For a SQLite store, the file there now (device, inode), or why there is none usable.
fn sqlite_file(location: &Location) -> Option<Result<(u64, u64), Error>> {
    use std::os::unix::fs::MetadataExt;
    let Location::Sqlite(path) = location else {
        return None;
    };
    Some(match std::fs::metadata(path) {
        Ok(m) => Ok((m.dev(), m.ino())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::missing(path.display())),
        Err(e) => Err(Error::unavailable(
            format!("cannot read the store at {}: {e}", path.display()),
            None,
        )),
    })
}
