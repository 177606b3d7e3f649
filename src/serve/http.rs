//! The endpoints: `/auth` and `/auth/*` (any method), `POST /introspect`, `GET /healthz`, `GET /metrics`,
//! and the one layer that times, counts and logs every answer.
//!
//! Statuses are chosen for nginx's `auth_request` first, which passes on 2xx, 401 and 403
//! and turns anything else into a 500: a store that cannot answer is 503 there, never 200.
//! Nothing here sees the store: requests go to the store desk ([`Desk`]). No answer, header
//! or log line carries a token; user names in headers are percent-encoded.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use ipnet::IpNet;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::json;
use zeroize::Zeroizing;

use super::desk::{Desk, Job, Reply};
use super::metrics::{self, Metrics};
use super::peer::{Peer, client_ip};
use crate::cmd::{now, write_stderr};
use tokman::error::ErrorKind;
use tokman::lifecycle::{Check, Outcome};
use tokman::policy::{Origin, Scope};
use tokman::service::Verdict;
use tokman::token::{self, TokenId};

/// The scope a caller of `/introspect` needs.
pub const INTROSPECT_SCOPE: &str = "tokman:introspect";

/// The most a request body may hold (an introspection form is a token and a hint).
const MAX_BODY: usize = 16 * 1024;

/// How long an introspection body may take to arrive. A proxy or service sends its few hundred
/// bytes at once; a client that trickles them (or never sends what its Content-Length promised)
/// is answered 408 and its connection closed, instead of holding it open for ever: a few hundred
/// such connections would use up the server's file descriptors.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Everything the handlers share.
pub struct App {
    pub desk: Desk,
    pub trusted: Vec<IpNet>,
    pub limited: StatusCode,
    pub metrics: Metrics,
    pub log: bool,
}

/// The routes, behind the layer that observes every answer.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/auth", any(auth))
        // Envoy's ext_authz appends the original path to its path prefix.
        .route("/auth/{*path}", any(auth))
        .route("/introspect", post(introspect))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
}

/// What an answer was, for the metrics and the request log (kept in its extensions).
#[derive(Clone)]
struct Note {
    outcome: &'static str,
    id: Option<TokenId>,
    client: Option<IpAddr>,
}

/// Every `X-Tokman-Outcome` value: `verify`'s outcomes, and the server's own.
const MISSING: &str = "missing";
const ERROR: &str = "error";
const BAD_REQUEST: &str = "bad_request";

/// Times, counts and logs (one logfmt line on stderr) every request.
async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let seconds = start.elapsed().as_secs_f64();
    let note = response.extensions().get::<Note>().cloned();
    let outcome = note.as_ref().map_or("none", |n| n.outcome);
    let endpoint = match path.as_str() {
        "/auth" => "auth",
        p if p.starts_with("/auth/") => "auth",
        "/introspect" => "introspect",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        _ => "other",
    };
    app.metrics.record(endpoint, outcome, seconds);
    if app.log {
        let id = note
            .as_ref()
            .and_then(|n| n.id.as_ref())
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        let client = note
            .as_ref()
            .and_then(|n| n.client)
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        // Through the one writer to stderr: a token-shaped path is shown as its id only.
        write_stderr(&format!(
            "time={} method={} path={} status={} outcome={outcome} token_id={id} client={client} latency_ms={:.3}\n",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            logfmt(method.as_str()),
            logfmt(&path),
            response.status().as_u16(),
            seconds * 1000.0,
        ));
    }
    response
}

/// A logfmt value: bare when it can be, else quoted.
fn logfmt(value: &str) -> String {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'=' && b != b'\\')
    {
        value.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// An answer with its outcome header, `Cache-Control: no-store`, and its note.
fn answer(status: StatusCode, note: Note, body: impl IntoResponse) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("x-tokman-outcome", HeaderValue::from_static(note.outcome));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(note);
    response
}

/// User names may be any UTF-8: everything but visible ASCII (and `%` itself) is
/// percent-encoded, so `José Ñ` arrives as `Jos%C3%A9%20%C3%91`.
const USER_ESCAPE: &AsciiSet = &CONTROLS.add(b' ').add(b'%');

pub fn user_header(user: &str) -> HeaderValue {
    HeaderValue::from_str(&utf8_percent_encode(user, USER_ESCAPE).to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The token after `Bearer ` (any case), if there is one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
}

/// The scopes a request requires: `X-Tokman-Scope` (space-separated, repeatable) and
/// `?scope=` (space-separated, repeatable), all of them. A bad scope is the proxy's
/// configuration at fault, answered 400.
fn required_scopes(headers: &HeaderMap, query: Option<&str>) -> Result<Vec<Scope>, String> {
    let mut texts: Vec<String> = Vec::new();
    for value in headers.get_all("x-tokman-scope") {
        let value = value
            .to_str()
            .map_err(|_| "X-Tokman-Scope is not ASCII".to_owned())?;
        texts.extend(value.split_ascii_whitespace().map(str::to_owned));
    }
    if let Some(q) = query {
        for (key, value) in form_urlencoded::parse(q.as_bytes()) {
            if key == "scope" {
                texts.extend(value.split_ascii_whitespace().map(str::to_owned));
            }
        }
    }
    let mut scopes = Vec::with_capacity(texts.len());
    for text in texts {
        let scope = Scope::parse(&text).map_err(|e| format!("bad required scope: {e}"))?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(scopes)
}

fn origin(headers: &HeaderMap) -> Option<Origin> {
    let text = headers.get(header::ORIGIN)?.to_str().ok()?;
    Origin::parse(text).ok()
}

fn json_body(doc: &serde_json::Value) -> impl IntoResponse + use<> {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
}

fn seconds_until(at: i64) -> HeaderValue {
    HeaderValue::from(at.saturating_sub(now()).max(1))
}

async fn auth(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let client = client_ip(peer, &headers, &app.trusted);
    let note = |outcome: &'static str, id: Option<TokenId>| Note {
        outcome,
        id,
        client,
    };
    let scopes = match required_scopes(&headers, req.uri().query()) {
        Ok(s) => s,
        Err(why) => return answer(StatusCode::BAD_REQUEST, note(BAD_REQUEST, None), why),
    };
    let Some(text) = bearer(&headers) else {
        return invalid(note(MISSING, None));
    };
    // A malformed token is refused before the store is asked, as `verify` does.
    let Ok(presented) = token::parse(text) else {
        return invalid(note(Outcome::Malformed.as_str(), None));
    };
    let id = presented.id().clone();
    let check = Check {
        scopes,
        ip: client,
        origin: origin(&headers),
        user: None,
    };
    let job = Job::Verify {
        token: Zeroizing::new(presented.text().to_owned()),
        check,
    };
    match app.desk.ask(job).await {
        // `verdict` puts the verdict's own outcome in the note.
        Reply::Verdict(v) => verdict(&app, v, note(ERROR, Some(id))),
        Reply::Failed(kind) => unavailable(kind, note(ERROR, Some(id))),
        _ => unavailable(ErrorKind::Internal, note(ERROR, Some(id))),
    }
}

/// 401 with the challenge RFC 6750 gives for a token that is not (or no longer) good.
fn invalid(note: Note) -> Response {
    let mut r = answer(StatusCode::UNAUTHORIZED, note, ());
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    r
}

fn unavailable(kind: ErrorKind, note: Note) -> Response {
    let mut r = answer(
        StatusCode::SERVICE_UNAVAILABLE,
        note,
        format!("the store cannot be used ({kind:?})\n"),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// `/auth`'s answer to a verdict.
fn verdict(app: &App, v: Verdict, mut note: Note) -> Response {
    note.outcome = v.outcome.as_str();
    match v.outcome {
        Outcome::Valid => {
            let mut r = answer(StatusCode::OK, note, ());
            if let Some(record) = &v.record {
                let h = r.headers_mut();
                h.insert("x-tokman-user", user_header(&record.user));
                h.insert(
                    "x-tokman-token-id",
                    HeaderValue::from_str(record.id.as_str())
                        .unwrap_or_else(|_| HeaderValue::from_static("-")),
                );
                let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
                h.insert(
                    "x-tokman-scopes",
                    HeaderValue::from_str(&scopes.join(" "))
                        .unwrap_or_else(|_| HeaderValue::from_static("")),
                );
            }
            r
        }
        Outcome::Invalid | Outcome::Malformed | Outcome::Expired | Outcome::Revoked => {
            invalid(note)
        }
        Outcome::Denied => answer(StatusCode::FORBIDDEN, note, ()),
        Outcome::RateLimited => {
            let mut r = answer(app.limited, note, ());
            if let Some(at) = v.retry_at {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, seconds_until(at));
            }
            r
        }
        // Used up for good: the same status as a limit, and no Retry-After, since no wait helps.
        Outcome::UsageExceeded => answer(app.limited, note, ()),
    }
}

/// RFC 7662 token introspection. The caller's own token (scope `tokman:introspect`) is
/// verified and counted like any `/auth`; the introspected token is only looked up: asking
/// about a token is not a use of it.
async fn introspect(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client = client_ip(peer, &headers, &app.trusted);
    let note = |outcome: &'static str, id: Option<TokenId>| Note {
        outcome,
        id,
        client,
    };
    let Some(caller) = bearer(&headers).and_then(|t| token::parse(t).ok()) else {
        return invalid(note(MISSING, None));
    };
    let caller_id = caller.id().clone();
    let refused = |status, note| {
        answer(
            status,
            note,
            json_body(&json!({"error": "invalid_request"})),
        )
    };
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await
    {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                note(BAD_REQUEST, Some(caller_id)),
            );
        }
        Err(_) => {
            return refused(
                StatusCode::REQUEST_TIMEOUT,
                note(BAD_REQUEST, Some(caller_id)),
            );
        }
    };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    let target = form
        .then(|| {
            form_urlencoded::parse(&body)
                .find(|(k, _)| k == "token")
                .map(|(_, v)| Zeroizing::new(v.into_owned()))
        })
        .flatten();
    let Some(target) = target else {
        return refused(StatusCode::BAD_REQUEST, note(BAD_REQUEST, Some(caller_id)));
    };
    let target = token::parse(&target)
        .ok()
        .map(|p| Zeroizing::new(p.text().to_owned()));
    let check = Check {
        scopes: vec![Scope::parse(INTROSPECT_SCOPE).expect("a valid scope")],
        ip: client,
        origin: origin(&headers),
        user: None,
    };
    let job = Job::Introspect {
        caller: Zeroizing::new(caller.text().to_owned()),
        check,
        target,
    };
    let (caller, target) = match app.desk.ask(job).await {
        Reply::Introspected { caller, target } => (caller, target),
        Reply::Failed(kind) => return unavailable(kind, note(ERROR, Some(caller_id))),
        _ => return unavailable(ErrorKind::Internal, note(ERROR, Some(caller_id))),
    };
    let outcome = caller.outcome.as_str();
    match caller.outcome {
        Outcome::Valid => {}
        Outcome::RateLimited => {
            let mut r = answer(
                StatusCode::TOO_MANY_REQUESTS,
                note(outcome, Some(caller_id)),
                (),
            );
            if let Some(at) = caller.retry_at {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, seconds_until(at));
            }
            return r;
        }
        Outcome::Denied => {
            let mut r = invalid(note(outcome, Some(caller_id)));
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer error=\"insufficient_scope\", scope=\"tokman:introspect\"",
                ),
            );
            return r;
        }
        _ => return invalid(note(outcome, Some(caller_id))),
    }
    let doc = match target
        .map(|b| *b)
        .filter(|(r, u)| r.is_live(now()) && r.uses_left(u) != Some(0))
    {
        Some((r, _)) => {
            let scopes: Vec<&str> = r.scopes.iter().map(|s| s.as_str()).collect();
            json!({
                "active": true,
                "scope": scopes.join(" "),
                "username": r.user,
                "exp": r.expires_at,
                "iat": r.created_at,
                "token_type": "Bearer",
                "client_id": r.id.as_str(),
            })
        }
        None => json!({"active": false}),
    };
    answer(
        StatusCode::OK,
        note(outcome, Some(caller_id)),
        json_body(&doc),
    )
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let note = |outcome| Note {
        outcome,
        id: None,
        client: None,
    };
    match app.desk.ask(Job::Ping).await {
        Reply::Pong => answer(StatusCode::OK, note("ok"), "ok\n"),
        Reply::Failed(kind) => unavailable(kind, note(ERROR)),
        _ => unavailable(ErrorKind::Internal, note(ERROR)),
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    let note = Note {
        outcome: "ok",
        id: None,
        client: None,
    };
    let mut r = answer(StatusCode::OK, note, app.metrics.render());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    r
}

async fn not_found() -> Response {
    let note = Note {
        outcome: "not_found",
        id: None,
        client: None,
    };
    answer(StatusCode::NOT_FOUND, note, "not found\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_become_visible_ascii() {
        assert_eq!(user_header("alice"), "alice");
        assert_eq!(user_header("José Ñ"), "Jos%C3%A9%20%C3%91");
        assert_eq!(user_header("50%\t\u{7f}"), "50%25%09%7F");
    }

    #[test]
    fn bearer_takes_any_case_and_nothing_else() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
