//! `tokman serve`: the HTTP front end, a second one beside the command line over the same
//! [`Service`]. axum on tokio (hyper underneath), HTTP/1.1 with keep-alive.
//!
//! - [`desk`]: the store desk, sole owner of the unlocked service, answering batches of
//!   requests from one transaction each (group commit);
//! - [`http`]: the endpoints and the status each outcome gets, the request log and metrics;
//! - [`peer`]: the peer of a connection and the client address a request is checked with;
//! - [`metrics`] writes `/metrics`.
//!
//! The store is opened and unlocked once, before this module runs; it never reads a key file
//! or passphrase. It never logs, caches or answers with a token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use ipnet::IpNet;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::Listen;
use crate::cmd::say;
use tokman::error::{Error, Result};
use tokman::service::Service;
use tokman::store::Location;

mod desk;
mod http;
mod metrics;
mod peer;

/// How long a stopping server waits for the requests in flight (and idle keep-alive
/// connections to be closed) before it stops waiting; every answered request is committed
/// before it is answered, so stopping early loses no count.
const GRACE: Duration = Duration::from_secs(10);

/// The status for a rate-limited token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// 403 with `Retry-After`: nginx's `auth_request` passes 401 and 403 only.
    Forbidden,
    /// 429 with `Retry-After`, for proxies that pass the answer through.
    TooManyRequests,
}

/// How to serve, from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: Listen,
    pub trusted: Vec<IpNet>,
    pub socket_group: Option<String>,
    pub limited: Limited,
    pub quiet: bool,
}

impl Options {
    /// Usage errors that can be told before the store is opened.
    pub fn check(&self) -> Result<()> {
        if let Some(group) = &self.socket_group {
            if !matches!(self.listen, Listen::Unix(_)) {
                return Err(Error::usage_hint(
                    "--socket-group is for a Unix socket",
                    "listen on one with --listen unix:PATH",
                ));
            }
            group_id(group)?;
        }
        Ok(())
    }
}

/// Serve until SIGTERM or SIGINT, then finish the requests in flight, commit their counts and
/// return. The service never leaves this thread. A SQLite store is served from one thread: the
/// HTTP runtime's, the store's group-committed batches running between its turns at the
/// connections (no thread switch between a request and its answer). A PostgreSQL store is
/// served from this thread and HTTP from another, as its client drives a runtime of its own.
pub fn run(service: Service, options: Options) -> Result<()> {
    raise_open_files_limit();
    // Bound here, before anything runs: a bad address is said at once, as a usage error.
    let listener = match &options.listen {
        Listen::Tcp(addr) => Bound::Tcp(bind_tcp(*addr)?),
        Listen::Unix(path) => Bound::Unix(bind_unix(path, options.socket_group.as_deref())?),
    };
    let metrics = metrics::Metrics::new();
    let batches = metrics.batches.clone();
    let (desk, inbox) = desk::desk();
    let app = Arc::new(http::App {
        desk: desk.clone(),
        trusted: options.trusted.clone(),
        limited: match options.limited {
            Limited::Forbidden => StatusCode::FORBIDDEN,
            Limited::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        },
        metrics,
        log: !options.quiet,
    });
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::internal(format!("cannot start the runtime: {e}")))
    };
    let served = if matches!(service.location(), Location::Postgres(_)) {
        // The store on this thread, outside the runtime (the PostgreSQL client drives one of
        // its own); HTTP on a thread of its own.
        let http = std::thread::Builder::new()
            .name("tokman-http".into())
            .spawn(move || {
                // However serving ends (even by a panic), the store thread is told to stop,
                // after the requests already handed over.
                struct StopDesk(desk::Desk);
                impl Drop for StopDesk {
                    fn drop(&mut self) {
                        self.0.stop_blocking();
                    }
                }
                let _stop = StopDesk(desk);
                let runtime = runtime()?;
                let served = runtime.block_on(serve(app, listener));
                runtime.shutdown_timeout(Duration::from_secs(1));
                served
            })
            .map_err(|e| Error::internal(format!("cannot start the HTTP thread: {e}")))?;
        inbox.run_blocking(service, batches);
        http.join()
            .unwrap_or_else(|_| Err(Error::internal("the HTTP thread panicked")))
    } else {
        // One thread: the store's batches run between the runtime's turns at the connections.
        let runtime = runtime()?;
        let served = runtime.block_on(async move {
            let http = async move {
                let served = serve(app, listener).await;
                // However serving ends, the store is told to stop, after the requests already
                // handed over.
                desk.stop().await;
                served
            };
            let (served, ()) = tokio::join!(http, inbox.run(service, batches));
            served
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
        served
    };
    if let Listen::Unix(path) = &options.listen {
        let _ = std::fs::remove_file(path);
    }
    served?;
    say("tokman serve: stopped");
    Ok(())
}

/// Every connection is a file descriptor, and the soft limit is often 1,024: raised to the hard
/// limit, as servers do, so that many idle or slow clients take much longer to shut the proxy
/// out. Failure is harmless and ignored (the soft limit stays).
fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // An unlimited hard limit is more than the kernel lets a process open: its default cap.
    let target = limit.maximum.or(Some(1 << 20));
    if limit.current != target {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: target,
                maximum: limit.maximum,
            },
        );
    }
}

/// A listener bound before the runtime starts.
enum Bound {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

async fn serve(app: Arc<http::App>, listener: Bound) -> Result<()> {
    let signalled = stop_signal()?;
    let router = http::router(app);
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        signalled.await;
        say("tokman serve: stopping: finishing the requests in flight");
        let _ = stopping.send(());
    };
    let grace = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let internal = |e: std::io::Error| Error::internal(format!("the server failed: {e}"));
    match listener {
        Bound::Tcp(listener) => {
            let listener =
                peer::Tcp(tokio::net::TcpListener::from_std(listener).map_err(internal)?);
            say(format_args!(
                "tokman serve: listening on {}",
                listener.0.local_addr().map_err(internal)?
            ));
            let server = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<peer::Peer>(),
            )
            .with_graceful_shutdown(shutdown);
            tokio::select! {
                r = server => r.map_err(internal),
                () = grace => Ok(()),
            }
        }
        Bound::Unix(listener) => {
            let listener = tokio::net::UnixListener::from_std(listener).map_err(internal)?;
            let path = listener
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(Path::to_path_buf))
                .unwrap_or_default();
            say(format_args!(
                "tokman serve: listening on unix:{}",
                path.display()
            ));
            let server = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<peer::Peer>(),
            )
            .with_graceful_shutdown(shutdown);
            tokio::select! {
                r = server => r.map_err(internal),
                () = grace => Ok(()),
            }
        }
    }
}

/// Resolves at the first SIGTERM or SIGINT; both are caught from here on.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    let catch =
        |kind| signal(kind).map_err(|e| Error::internal(format!("cannot catch signals: {e}")));
    let mut term = catch(SignalKind::terminate())?;
    let mut int = catch(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

fn bind_tcp(addr: std::net::SocketAddr) -> Result<std::net::TcpListener> {
    let cannot = |e: std::io::Error| {
        Error::usage_hint(
            format!("cannot listen on {addr}: {e}"),
            "pick another address with --listen ADDR:PORT (port 0 for any free one)",
        )
    };
    let listener = std::net::TcpListener::bind(addr).map_err(cannot)?;
    listener.set_nonblocking(true).map_err(cannot)?;
    Ok(listener)
}

/// The socket at `path`, mode 0600 from its creation (or 0660 and the group's): a stale
/// socket left by a server that died is replaced, anything else there is refused.
fn bind_unix(path: &Path, group: Option<&str>) -> Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let cannot =
        |e: std::io::Error| Error::usage(format!("cannot listen on unix:{}: {e}", path.display()));
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(Error::usage(format!(
                "cannot listen on unix:{}: something that is not a socket is there",
                path.display()
            )));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::usage(format!(
                "cannot listen on unix:{}: another server is listening on it",
                path.display()
            )));
        }
        std::fs::remove_file(path).map_err(cannot)?;
    }
    // Created 0600: nobody else can connect between the bind and the chmod below.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    rustix::process::umask(old);
    let listener = bound.map_err(cannot)?;
    if let Some(group) = group {
        std::os::unix::fs::chown(path, None, Some(group_id(group)?)).map_err(cannot)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(cannot)?;
    }
    listener.set_nonblocking(true).map_err(cannot)?;
    Ok(listener)
}

/// A group's id, by name (from /etc/group) or number.
fn group_id(group: &str) -> Result<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let groups = std::fs::read_to_string(PathBuf::from("/etc/group")).unwrap_or_default();
    groups
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let gid = fields.nth(1)?.parse().ok()?;
            (name == group).then_some(gid)
        })
        .next()
        .ok_or_else(|| {
            Error::usage_hint(
                format!("no group {} on this system", crate::render::escape(group)),
                "name a group from /etc/group, or give its number",
            )
        })
}
