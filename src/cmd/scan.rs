//! `tokman scan`: find tokens in files, trees, stdin or staged changes; with a store that
//! unlocks, say whose each is and whether it is live, and with `--revoke` revoke the live ones.
//! Never prints a secret: a hit is shown by its id.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{Ctx, now, out, out_json, require_yes, say, warn};
use crate::cli::ScanArgs;
use crate::config::UnlockSource;
use crate::render::escape;
use crate::views::{self, sarif};
use tokman::error::{Error, Result};
use tokman::scan::{Hit, Liveness, Scanner, Walked};
use tokman::service::Which;
use tokman::store::Durability;

/// A found token and what the store says of it (`None`: no store to ask).
struct Found {
    hit: Hit,
    status: Option<(Liveness, Option<String>)>,
}

pub fn run(ctx: &Ctx<'_>, a: ScanArgs) -> Result<i32> {
    let store_given = !matches!(ctx.cfg.unlock, UnlockSource::Prompt | UnlockSource::Nothing);
    if a.revoke {
        if !store_given {
            return Err(Error::usage_hint(
                "scan --revoke needs a store to revoke in, and no key was given",
                "give --key-file or --passphrase-file (or TOKMAN_KEY_FILE)",
            ));
        }
        require_yes(ctx.cfg, a.yes, "scan --revoke")?;
    }
    let (mut hits, walked) = find(&a)?;
    hits.sort_by(|x, y| (&x.source, x.line, x.column).cmp(&(&y.source, y.line, y.column)));
    // A file named twice (or named and also walked) is one place, reported once.
    hits.dedup_by(|x, y| (&x.source, x.line, x.column) == (&y.source, y.line, y.column));
    for (path, why) in &walked.errors {
        warn(format_args!("cannot read {path}: {why}"));
    }

    let mut service = None;
    let found: Vec<Found> = if store_given {
        let (mut s, _) = if a.revoke {
            ctx.unlock(Durability::Full)?
        } else {
            ctx.unlock_to_read()?
        };
        let ask: Vec<_> = hits.iter().map(|h| (&h.id, h.token())).collect();
        let statuses = s.scan_status(&ask, now())?;
        service = Some(s);
        hits.into_iter()
            .zip(statuses)
            .map(|(hit, st)| Found {
                hit,
                status: Some(st),
            })
            .collect()
    } else {
        hits.into_iter()
            .map(|hit| Found { hit, status: None })
            .collect()
    };

    // Live tokens, each once, with the first place it was found.
    let mut live: Vec<&Found> = Vec::new();
    for f in &found {
        if matches!(f.status, Some((Liveness::Live, _)))
            && !live.iter().any(|l| l.hit.id == f.hit.id)
        {
            live.push(f);
        }
    }
    let mut revoked_ids = Vec::new();
    if a.revoke && !live.is_empty() {
        let mut question = format!(
            "Revoke {} live token{} found:",
            live.len(),
            if live.len() == 1 { "" } else { "s" }
        );
        for f in &live {
            question.push_str(&format!(
                " {} of {} (in {}),",
                f.hit.id,
                f.status
                    .as_ref()
                    .and_then(|s| s.1.as_deref())
                    .unwrap_or("?"),
                f.hit.source
            ));
        }
        question.pop();
        question.push('?');
        ctx.confirm(a.yes, &question)?;
        let targets: Vec<(Which, Option<String>)> = live
            .iter()
            .map(|f| {
                (
                    Which::Id(f.hit.id.clone()),
                    Some(format!("leaked in {}", shown_path(&f.hit.source))),
                )
            })
            .collect();
        let service = service.as_mut().expect("a store with --revoke");
        let done = service.revoke_each(&targets, now())?;
        for (stored, _, entry) in &done {
            say(format_args!(
                "revoked {} of {}",
                stored.record.id,
                escape(&stored.record.user)
            ));
            revoked_ids.push(stored.record.id.to_string());
            if let Some(entry) = entry {
                super::notify::run(service, entry);
            }
        }
    }

    let printed = if a.json {
        out_json(&json_doc(&found, &walked, &revoked_ids))
    } else if a.sarif {
        out_json(&sarif(&found))
    } else {
        let mut text = String::new();
        for f in &found {
            text.push_str(&format!(
                "{}:{}:{}: {}",
                escape(&f.hit.source),
                f.hit.line,
                f.hit.column,
                f.hit.id
            ));
            if let Some((status, user)) = &f.status {
                match user {
                    Some(u) => text.push_str(&format!(" ({}, {})", escape(u), status.as_str())),
                    None => text.push_str(&format!(" ({})", status.as_str())),
                }
            }
            text.push('\n');
        }
        out(&text)
    };
    if !found.is_empty() && !a.json && !a.sarif {
        say(summary(&found, &walked, store_given));
    }
    printed?;
    let alarming = if store_given {
        !live.is_empty()
    } else {
        !found.is_empty()
    };
    Ok(i32::from(alarming))
}

/// Every hit in the sources asked for, with what the walk saw.
fn find(a: &ScanArgs) -> Result<(Vec<Hit>, Walked)> {
    let scanner = Scanner::new();
    if a.staged {
        let mut hits = Vec::new();
        let walked = scanner
            .scan_staged(Path::new("."), &mut |h| hits.push(h))
            .map_err(|e| {
                Error::usage_hint(
                    format!("cannot read what is staged: {e}"),
                    "run scan --staged inside a git repository",
                )
            })?;
        return Ok((hits, walked));
    }
    let mut walked = Walked::default();
    let mut paths: Vec<PathBuf> = a.paths.clone();
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    // Every path is checked before stdin is read: `producer | tokman scan - typo` is a usage
    // error at once, not after the producer ends.
    for p in paths.iter().filter(|p| p.as_os_str() != "-") {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error::usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    let mut hits = Vec::new();
    if paths.iter().any(|p| p.as_os_str() == "-") {
        let stdin = io::stdin();
        let n = scanner
            .scan_reader("-", stdin.lock(), &mut |h| hits.push(h))
            .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
        walked.files += 1;
        walked.bytes += n;
        paths.retain(|p| p.as_os_str() != "-");
    }
    if !paths.is_empty() {
        let found = Mutex::new(Vec::new());
        let w = scanner.scan_paths(&paths, &|mut h: Hit| {
            if let Some(rest) = h.source.strip_prefix("./") {
                h.source = rest.to_owned();
            }
            if let Ok(mut v) = found.lock() {
                v.push(h);
            }
        });
        hits.extend(found.into_inner().unwrap_or_default());
        walked.files += w.files;
        walked.bytes += w.bytes;
        walked.binary += w.binary;
        walked.errors.extend(w.errors);
    }
    Ok((hits, walked))
}

/// A path as every output and the revoke reason give it: exact, except that anything of a
/// token's shape in it (a file named after the token it holds) is its id and `_…`, so no
/// output, audit event or SARIF upload holds a secret.
/// A path as a SARIF artifact URI: a relative path stays a relative reference (resolved
/// against where the scan ran, as code-scanning services expect), an absolute one becomes a
/// `file://` URI; either percent-encoded.
fn sarif_uri(source: &str) -> String {
    let path = utf8_percent_encode(&shown_path(source), URI).to_string();
    if source.starts_with('/') {
        format!("file://{path}")
    } else {
        path
    }
}

fn shown_path(source: &str) -> std::borrow::Cow<'_, str> {
    tokman::token::redact(source)
}

fn summary(found: &[Found], walked: &Walked, store_given: bool) -> String {
    let n = found.len();
    let mut text = format!(
        "{n} token{} found in {} file{}",
        if n == 1 { "" } else { "s" },
        walked.files,
        if walked.files == 1 { "" } else { "s" }
    );
    if store_given {
        let count = |l: Liveness| {
            found
                .iter()
                .filter(|f| matches!(f.status, Some((s, _)) if s == l))
                .count()
        };
        let parts: Vec<String> = [
            Liveness::Live,
            Liveness::Revoked,
            Liveness::Expired,
            Liveness::Unknown,
        ]
        .into_iter()
        .filter_map(|l| {
            let c = count(l);
            (c > 0).then(|| format!("{c} {}", l.as_str()))
        })
        .collect();
        text.push_str(&format!(": {}", parts.join(", ")));
    } else {
        text.push_str(
            "; give a key file (--key-file or TOKMAN_KEY_FILE) to say whose they are and whether live",
        );
    }
    text
}

fn json_doc<'a>(found: &'a [Found], walked: &'a Walked, revoked: &'a [String]) -> views::Scan<'a> {
    views::Scan {
        hits: found
            .iter()
            .map(|f| views::ScanHit {
                file: shown_path(&f.hit.source),
                line: f.hit.line,
                column: f.hit.column,
                id: &f.hit.id,
                user: f.status.as_ref().and_then(|s| s.1.as_deref()),
                status: f.status.as_ref().map(|s| s.0.as_str()),
            })
            .collect(),
        files: walked.files,
        binary_skipped: walked.binary,
        errors: walked
            .errors
            .iter()
            .map(|(path, error)| views::ScanError {
                path: shown_path(path),
                error: shown_path(error),
            })
            .collect(),
        revoked,
    }
}

/// Characters a SARIF artifact URI (a relative reference) must not hold as they are.
const URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// SARIF 2.1.0, in the shape gitleaks writes: one run, one rule, a result per hit.
fn sarif(found: &[Found]) -> sarif::Log<'_> {
    let text = |s: &str| sarif::Text { text: s.to_owned() };
    let results = found
        .iter()
        .map(|f| {
            let (level, what) = match &f.status {
                None => (
                    "error",
                    "a tokman API token (not checked against a store)".to_owned(),
                ),
                Some((Liveness::Live, _)) => ("error", "a live tokman API token".to_owned()),
                Some((Liveness::Unknown, _)) => (
                    "warning",
                    "a tokman API token unknown to the store it was checked against".to_owned(),
                ),
                Some((s, _)) => ("note", format!("a {} tokman API token", s.as_str())),
            };
            let width = f.hit.token().chars().count() as u64;
            sarif::Result {
                rule_id: RULE,
                level,
                message: sarif::Text {
                    text: format!(
                        "{} is {what}; revoke it and remove it from the history",
                        f.hit.id
                    ),
                },
                locations: vec![sarif::Location {
                    physical_location: sarif::PhysicalLocation {
                        artifact_location: sarif::ArtifactLocation {
                            uri: sarif_uri(&f.hit.source),
                        },
                        region: sarif::Region {
                            start_line: f.hit.line,
                            start_column: f.hit.column,
                            end_line: f.hit.line,
                            end_column: f.hit.column + width,
                        },
                    },
                }],
                partial_fingerprints: sarif::Fingerprints {
                    token_id: f.hit.id.as_str(),
                },
            }
        })
        .collect();
    sarif::Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![sarif::Run {
            tool: sarif::Tool {
                driver: sarif::Driver {
                    name: "tokman",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: "https://github.com/tokman/tokman",
                    rules: vec![sarif::Rule {
                        id: RULE,
                        name: "TokmanApiToken",
                        short_description: text("tokman API token"),
                        full_description: text(
                            "A tokman API token (prefix, id and a body whose CRC32 checksum holds). Whoever can read it can use it until it is revoked.",
                        ),
                        help: text(
                            "Revoke the token (tokman revoke ID, or tokman scan --revoke), issue a new one, and remove the old one from the file and its history.",
                        ),
                        default_configuration: sarif::Configuration { level: "error" },
                    }],
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

/// The one SARIF rule.
const RULE: &str = "tokman-token";
