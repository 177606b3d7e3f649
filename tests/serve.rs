//! `tokman serve` over real HTTP: the real binary on a free loopback port (or a Unix socket),
//! asked with raw HTTP/1.1 so that every status and header is seen exactly as sent.

#[path = "common/backend.rs"]
mod backend;
#[path = "common/nginx.rs"]
mod nginx;
#[path = "common/pg.rs"]
mod pg;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use backend::Backend;

/// A running `tokman serve` and what it has said on stderr.
struct Server {
    child: Child,
    /// `127.0.0.1:PORT`, or `unix:PATH`.
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// `tokman serve --listen 127.0.0.1:0 EXTRA...` on `b`'s store.
    fn start(b: &Backend, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Server::with_args(b, &args)
    }

    fn with_args(b: &Backend, args: &[&str]) -> Server {
        let mut cmd = b.cmd();
        cmd.args(args);
        Server::with_command(cmd)
    }

    fn with_command(mut cmd: std::process::Command) -> Server {
        let mut child = cmd.spawn().expect("start tokman serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        let log = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut tx = Some(tx);
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(addr) = line.trim().strip_prefix("tokman serve: listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.to_owned());
                }
                log.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("tokman serve did not start:\n{}", stderr.lock().unwrap())
            });
        Server {
            child,
            addr,
            stderr,
        }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("GET", path, headers, "")
    }

    fn auth(&self, token: &str, headers: &[(&str, &str)]) -> Resp {
        let bearer = format!("Bearer {token}");
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        self.get("/auth", &all)
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: tokman\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        let raw = match self.addr.strip_prefix("unix:") {
            Some(path) => {
                let mut s = std::os::unix::net::UnixStream::connect(path).expect("connect");
                exchange(&mut s, &req)
            }
            None => {
                let mut s = TcpStream::connect(&self.addr).expect("connect");
                exchange(&mut s, &req)
            }
        };
        Resp::parse(&raw.expect("an answer"))
    }

    /// SIGTERM, then its exit status and all it said.
    fn stop(mut self) -> (ExitStatus, String) {
        signal(&self.child, "TERM");
        let status = wait(&mut self.child, Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
        let log = self.stderr.lock().unwrap().clone();
        (status, log)
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{sig} failed");
}

fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "tokman serve did not stop in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exchange(s: &mut (impl Read + Write), req: &str) -> std::io::Result<Vec<u8>> {
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    if raw.is_empty() {
        return Err(std::io::Error::other("connection closed without an answer"));
    }
    Ok(raw)
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn parse(raw: &[u8]) -> Resp {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(':').expect("a header");
                (k.to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        Resp {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn outcome(&self) -> &str {
        self.header("x-tokman-outcome").unwrap_or("(none)")
    }

    #[track_caller]
    fn is(&self, status: u16, outcome: &str) -> &Resp {
        assert_eq!(
            (self.status, self.outcome()),
            (status, outcome),
            "unexpected answer: {self:#?}"
        );
        self
    }
}

fn sqlite() -> Backend {
    let b = Backend::sqlite();
    b.init();
    b
}

fn use_count(b: &Backend, token: &str) -> u64 {
    let id = token.rsplit_once('_').unwrap().0;
    b.run(&["inspect", id, "--json"]).json()["use_count"]
        .as_u64()
        .expect("use_count")
}

#[test]
fn a_valid_token_is_200_with_its_user_id_and_scopes() {
    let b = sqlite();
    let token = b.generate(
        "José Ñ",
        &["--scope", "posts:read", "--scope", "posts:list"],
    );
    let s = Server::start(&b, &[]);
    let r = s.auth(&token, &[("X-Tokman-Scope", "posts:read")]);
    r.is(200, "valid");
    assert_eq!(r.header("x-tokman-user"), Some("Jos%C3%A9%20%C3%91"));
    assert_eq!(
        r.header("x-tokman-token-id"),
        Some(token.rsplit_once('_').unwrap().0)
    );
    assert_eq!(r.header("x-tokman-scopes"), Some("posts:read posts:list"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("www-authenticate"), None);
    // Any method, and scopes from the query too.
    s.send(
        "POST",
        "/auth?scope=posts:read%20posts:list",
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    )
    .is(200, "valid");
    // Under /auth/ too (Envoy's ext_authz appends the original path).
    s.send(
        "GET",
        "/auth/app/x",
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    )
    .is(200, "valid");
    assert_eq!(use_count(&b, &token), 3);
    // The request log names the token by id, never whole.
    let log = s.log();
    assert!(
        log.contains("path=/auth status=200 outcome=valid token_id=tm_"),
        "{log}"
    );
    assert!(!log.contains(&token), "the log holds a token: {log}");
}

#[test]
fn refusals_are_401_with_the_challenge_or_403() {
    let b = sqlite();
    let token = b.generate(
        "alice",
        &[
            "--scope",
            "posts:read",
            "--allow-origin",
            "https://app.example.com",
        ],
    );
    let short = b.generate("bob", &["--expires-in", "1s"]);
    let s = Server::start(&b, &[]);
    let challenge = Some("Bearer error=\"invalid_token\"");
    let r = s.get("/auth", &[]);
    r.is(401, "missing");
    assert_eq!(r.header("www-authenticate"), challenge);
    let r = s.get("/auth", &[("Authorization", "Basic YWxpY2U6c2VjcmV0")]);
    r.is(401, "missing");
    let r = s.auth(&token[..token.len() - 1], &[]);
    r.is(401, "malformed");
    assert_eq!(r.header("www-authenticate"), challenge);
    let id = token.rsplit_once('_').unwrap().0;
    let r = s.auth(&backend::forged(id), &[]);
    r.is(401, "invalid");
    assert_eq!(r.header("www-authenticate"), challenge);
    let origin = [("Origin", "https://app.example.com")];
    s.auth(&token, &origin).is(200, "valid");
    s.auth(&token, &[]).is(403, "denied");
    s.auth(&token, &[("Origin", "https://evil.example.com")])
        .is(403, "denied");
    let r = s.auth(
        &token,
        &[
            ("Origin", "https://app.example.com"),
            ("X-Tokman-Scope", "posts:write"),
        ],
    );
    r.is(403, "denied");
    assert_eq!(r.header("www-authenticate"), None);
    s.send(
        "GET",
        "/auth?scope=posts:write",
        &[("Authorization", &format!("Bearer {token}")), origin[0]],
        "",
    )
    .is(403, "denied");
    s.auth(&token, &[("X-Tokman-Scope", "no spaces? nor this!")])
        .is(400, "bad_request");
    std::thread::sleep(Duration::from_millis(2100));
    let r = s.auth(&short, &[]);
    r.is(401, "expired");
    assert_eq!(r.header("www-authenticate"), challenge);
    // Only the one valid use counted.
    assert_eq!(use_count(&b, &token), 1);
    s.get("/nowhere", &[]).is(404, "not_found");
}

#[test]
fn a_revocation_from_the_command_line_is_seen_by_the_next_request() {
    let b = sqlite();
    let token = b.generate("alice", &[]);
    let s = Server::start(&b, &["--quiet"]);
    s.auth(&token, &[]).is(200, "valid");
    let id = token.rsplit_once('_').unwrap().0;
    b.run(&["revoke", id, "--yes"]).ok();
    let r = s.auth(&token, &[]);
    r.is(401, "revoked");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    assert_eq!(s.log().matches("time=").count(), 0, "--quiet logs nothing");
}

#[test]
fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let b = sqlite();
    let token = b.generate("alice", &["--allow-ip", "203.0.113.0/24"]);
    let untrusted = Server::start(&b, &["--quiet"]);
    untrusted
        .auth(&token, &[("X-Forwarded-For", "203.0.113.7")])
        .is(403, "denied");
    untrusted
        .auth(&token, &[("X-Real-IP", "203.0.113.7")])
        .is(403, "denied");
    let trusted = Server::start(&b, &["--quiet", "--trusted-proxy", "127.0.0.0/8"]);
    trusted
        .auth(
            &token,
            &[("X-Forwarded-For", "198.51.100.1, 203.0.113.7, 127.0.0.5")],
        )
        .is(200, "valid");
    // The right-most untrusted hop is the client: what is left of it the client wrote.
    trusted
        .auth(&token, &[("X-Forwarded-For", "203.0.113.7, 198.51.100.1")])
        .is(403, "denied");
    trusted
        .auth(&token, &[("X-Real-IP", "203.0.113.9")])
        .is(200, "valid");
    trusted.auth(&token, &[]).is(403, "denied");
}

#[test]
fn thirty_at_once_on_ten_an_hour_are_ten_200_and_twenty_403_with_retry_after() {
    let b = sqlite();
    let token = b.generate("alice", &["--rate-limit", "10/h"]);
    let s = Arc::new(Server::start(&b, &["--quiet"]));
    let barrier = Arc::new(Barrier::new(30));
    let answers: Vec<Resp> = (0..30)
        .map(|_| {
            let (s, barrier, token) = (s.clone(), barrier.clone(), token.clone());
            std::thread::spawn(move || {
                barrier.wait();
                s.auth(&token, &[])
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&Resp> = answers.iter().filter(|r| r.status == 403).collect();
    assert_eq!((ok, limited.len()), (10, 20), "{answers:#?}");
    for r in limited {
        r.is(403, "rate_limited");
        let after: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(after > 0 && after <= 3600, "Retry-After: {after}");
    }
    assert_eq!(use_count(&b, &token), 10);
    let metrics = s.get("/metrics", &[]).body;
    assert!(
        metrics.contains("tokman_requests_total{endpoint=\"auth\",outcome=\"rate_limited\"} 20"),
        "{metrics}"
    );
}

#[test]
fn limited_status_429_is_for_proxies_that_pass_answers_through() {
    let b = sqlite();
    let token = b.generate("alice", &["--rate-limit", "1/h"]);
    let s = Server::start(&b, &["--quiet", "--limited-status", "429"]);
    s.auth(&token, &[]).is(200, "valid");
    let r = s.auth(&token, &[]);
    r.is(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
}

#[test]
fn sigterm_with_requests_in_flight_loses_no_count() {
    let b = sqlite();
    let token = b.generate("alice", &[]);
    let s = Server::start(&b, &["--quiet"]);
    let addr = s.addr.clone();
    let ok = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (addr, ok, token) = (addr.clone(), ok.clone(), token.clone());
            std::thread::spawn(move || {
                let req = format!(
                    "GET /auth HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
                );
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(10) {
                    let Ok(mut c) = TcpStream::connect(&addr) else { break };
                    match exchange(&mut c, &req) {
                        Ok(raw) if Resp::parse(&raw).status == 200 => {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(raw) => panic!("{:?}", Resp::parse(&raw)),
                        Err(_) => {}
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    let (status, log) = s.stop();
    for c in clients {
        c.join().unwrap();
    }
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("stopping"), "{log}");
    let answered = ok.load(Ordering::SeqCst) as u64;
    assert!(answered > 0, "no request was answered");
    assert_eq!(use_count(&b, &token), answered, "{log}");
}

#[test]
fn a_sqlite_store_moved_away_is_503_until_it_is_back() {
    let b = sqlite();
    let token = b.generate("alice", &[]);
    let s = Server::start(&b, &["--quiet"]);
    s.auth(&token, &[]).is(200, "valid");
    s.get("/healthz", &[]).is(200, "ok");
    let store = std::path::PathBuf::from(b.store());
    let away = b.path("away.db");
    std::fs::rename(&store, &away).unwrap();
    let r = s.auth(&token, &[]);
    r.is(503, "error");
    assert_eq!(r.header("retry-after"), Some("1"));
    s.get("/healthz", &[]).is(503, "error");
    std::fs::rename(&away, &store).unwrap();
    s.auth(&token, &[]).is(200, "valid");
    s.get("/healthz", &[]).is(200, "ok");
    assert_eq!(use_count(&b, &token), 2);
    assert!(s.log().contains("the store cannot be used"), "{}", s.log());
    assert!(s.log().contains("the store answers again"), "{}", s.log());
}

#[test]
fn a_postgresql_store_that_goes_down_is_503_until_it_is_back() {
    let Some(b) = Backend::postgres() else { return };
    let cluster = b.cluster();
    let _alone = cluster.exclusive();
    b.init();
    let token = b.generate("alice", &[]);
    let s = Server::start(&b, &["--quiet"]);
    s.auth(&token, &[]).is(200, "valid");
    cluster.stop();
    s.auth(&token, &[]).is(503, "error");
    s.get("/healthz", &[]).is(503, "error");
    cluster.start();
    s.auth(&token, &[]).is(200, "valid");
    s.get("/healthz", &[]).is(200, "ok");
    assert_eq!(use_count(&b, &token), 2);
}

#[test]
fn introspection_answers_an_authorised_caller_and_counts_only_the_caller() {
    let b = sqlite();
    let caller = b.generate("gateway", &["--scope", "tokman:introspect"]);
    let plain = b.generate("nosy", &["--scope", "posts:read"]);
    let target = b.generate(
        "alice",
        &["--scope", "posts:read", "--scope", "posts:write"],
    );
    let gone = b.generate("bob", &[]);
    b.run(&["revoke", gone.rsplit_once('_').unwrap().0, "--yes"])
        .ok();
    let s = Server::start(&b, &["--quiet"]);
    let ask = |who: Option<&str>, body: &str| {
        let bearer = who.map(|t| format!("Bearer {t}"));
        let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(bearer) = &bearer {
            h.push(("Authorization", bearer.as_str()));
        }
        s.send("POST", "/introspect", &h, body)
    };
    let r = ask(
        Some(&caller),
        &format!("token={target}&token_type_hint=access_token"),
    );
    r.is(200, "valid");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let record = b
        .run(&["inspect", target.rsplit_once('_').unwrap().0, "--json"])
        .json();
    let at = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(record[k].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    assert_eq!(
        doc,
        serde_json::json!({
            "active": true,
            "scope": "posts:read posts:write",
            "username": "alice",
            "exp": at("expires_at"),
            "iat": at("created_at"),
            "token_type": "Bearer",
            "client_id": target.rsplit_once('_').unwrap().0,
        })
    );
    for inactive in [
        gone.clone(),
        backend::forged(target.rsplit_once('_').unwrap().0),
        "garbage".into(),
    ] {
        let r = ask(Some(&caller), &format!("token={inactive}"));
        r.is(200, "valid");
        assert_eq!(r.body, r#"{"active":false}"#);
    }
    let r = ask(None, &format!("token={target}"));
    r.is(401, "missing");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    let r = ask(Some(&plain), &format!("token={target}"));
    assert_eq!(r.status, 401, "{r:#?}");
    assert_eq!(r.outcome(), "denied");
    assert!(r.body.is_empty(), "nothing about the token: {r:#?}");
    ask(Some(&gone), &format!("token={target}")).is(401, "revoked");
    ask(Some(&caller), "nothing=here").is(400, "bad_request");
    // Asking about a token is not a use of it; the caller's own uses count (a request without
    // a token to ask about is refused before anything is asked of the store).
    assert_eq!(use_count(&b, &target), 0);
    assert_eq!(use_count(&b, &caller), 4);
}

#[test]
fn an_introspection_body_that_never_arrives_is_408_and_the_server_stays_up() {
    let b = sqlite();
    let caller = b.generate("gateway", &["--scope", "tokman:introspect"]);
    let s = Server::start(&b, &["--quiet"]);
    // Content-Length promises 100 bytes; 2 come, then nothing.
    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = std::time::Instant::now();
    let raw = exchange(
        &mut c,
        &format!(
            "POST /introspect HTTP/1.1\r\nHost: tokman\r\nAuthorization: Bearer {caller}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nto"
        ),
    )
    .expect("an answer, not a connection held open");
    Resp::parse(&raw).is(408, "bad_request");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered after {:?}",
        started.elapsed()
    );
    s.auth(&caller, &[]).is(200, "valid");
}

/// Started under a soft limit of 256 open files (a hard limit above it), the server raises its
/// soft limit to the hard one.
#[cfg(target_os = "linux")]
#[test]
fn the_server_raises_its_open_files_limit_to_the_hard_limit() {
    let b = sqlite();
    let tokman = b.cmd();
    // The same command, run through `sh` with the soft limit lowered first.
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -Sn 256 && exec \"$0\" \"$@\""])
        .arg(tokman.get_program())
        .args(tokman.get_args())
        .args(["serve", "--listen", "127.0.0.1:0", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in tokman.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let s = Server::with_command(cmd);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", s.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard) = (fields[3], fields[4]);
    if hard == "256" {
        eprintln!("skipped: the hard limit here is 256, nothing to raise");
        return;
    }
    assert_ne!(soft, "256", "the soft limit was not raised: {line}");
    assert!(
        hard == "unlimited" || soft == hard,
        "soft {soft}, hard {hard}: {line}"
    );
    s.get("/healthz", &[]).is(200, "ok");
}

#[test]
fn healthz_and_metrics() {
    let b = sqlite();
    let token = b.generate("alice", &[]);
    let s = Server::start(&b, &["--quiet"]);
    let r = s.get("/healthz", &[]);
    r.is(200, "ok");
    assert_eq!(r.body, "ok\n");
    s.auth(&token, &[]).is(200, "valid");
    s.auth(&token, &[]).is(200, "valid");
    s.get("/auth", &[]).is(401, "missing");
    let r = s.get("/metrics", &[]);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    for line in [
        "# TYPE tokman_requests counter",
        "tokman_requests_total{endpoint=\"auth\",outcome=\"valid\"} 2",
        "tokman_requests_total{endpoint=\"auth\",outcome=\"missing\"} 1",
        "tokman_requests_total{endpoint=\"healthz\",outcome=\"ok\"} 1",
        "# TYPE tokman_request_duration_seconds histogram",
        "tokman_request_duration_seconds_count 4",
        "tokman_request_duration_seconds_bucket{le=\"+Inf\"} 4",
        "# TYPE tokman_batch_requests histogram",
    ] {
        assert!(r.body.contains(line), "no {line:?} in\n{}", r.body);
    }
    assert!(!r.body.contains("alice"));
}

#[test]
fn a_unix_socket_is_0600_or_0660_for_a_group_and_its_peer_is_a_proxy() {
    let b = sqlite();
    let token = b.generate("alice", &["--allow-ip", "203.0.113.0/24"]);
    let sock = b.path("serve.sock");
    let listen = format!("unix:{}", sock.display());
    let s = Server::with_args(&b, &["serve", "--quiet", "--listen", &listen]);
    assert_eq!(s.addr, listen);
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    s.auth(&token, &[]).is(403, "denied");
    s.auth(&token, &[("X-Real-IP", "203.0.113.3")])
        .is(200, "valid");
    let (status, _) = s.stop();
    assert!(status.success());
    assert!(!sock.exists(), "the socket is removed at exit");
    let s = Server::with_args(
        &b,
        &[
            "serve",
            "--quiet",
            "--listen",
            &listen,
            "--socket-group",
            "0",
        ],
    );
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    s.auth(&token, &[("X-Forwarded-For", "203.0.113.4")])
        .is(200, "valid");
}

#[test]
fn bad_flags_are_usage_errors_before_the_store_is_opened() {
    let b = Backend::sqlite(); // no store at all
    let run = |args: &[&str]| {
        backend::run(
            {
                let mut c = b.cmd();
                c.args(args);
                c
            },
            "",
        )
    };
    run(&["serve", "--listen", "nowhere"]).code(2);
    run(&["serve", "--trusted-proxy", "10.0.0.0/33"]).code(2);
    run(&["serve", "--socket-group", "0"]).code(2);
    run(&["serve", "--limited-status", "500"]).code(2);
    run(&["serve", "--listen", "127.0.0.1:0"]).code(10);
}

#[test]
fn through_nginx_the_upstream_is_reached_only_with_a_valid_token_of_the_scope() {
    let Some(nginx) = nginx::available() else {
        return;
    };
    let b = sqlite();
    let token = b.generate("José", &["--scope", "app:use"]);
    let other = b.generate("bob", &["--scope", "other"]);
    let s = Server::start(&b, &["--quiet", "--trusted-proxy", "127.0.0.1"]);
    let site = nginx::Site::start(&nginx, &s.addr, "app:use");
    let get = |auth: Option<&str>| {
        let mut h = vec![];
        let bearer = auth.map(|t| format!("Bearer {t}"));
        if let Some(bearer) = &bearer {
            h.push(("Authorization", bearer.as_str()));
        }
        site.get("/app/hello", &h)
    };
    let (status, body) = get(Some(&token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        "upstream: user=Jos%C3%A9 id=".to_owned() + token.rsplit_once('_').unwrap().0 + "\n"
    );
    assert_eq!(get(None).0, 401);
    assert_eq!(get(Some(&other)).0, 403);
    assert_eq!(get(Some("tm_garbage")).0, 401);
    b.run(&["revoke", token.rsplit_once('_').unwrap().0, "--yes"])
        .ok();
    assert_eq!(get(Some(&token)).0, 401);
    assert_eq!(use_count(&b, &token), 1);
}
