//! Scopes, IP allow-list entries, `verify --ip` addresses, origins, user names and free text.
//!
//! - never panic, on any text or any stored JSON;
//! - a scope is accepted exactly when it is 1 to 64 characters of `[A-Za-z0-9_.:*-]`, is kept
//!   as typed and grants itself;
//! - what parses is already normal: `parse(display(x)) == x`, and the JSON form round-trips;
//! - an allow-list entry contains its own network address; a parsed address is in the entry
//!   made from it;
//! - an origin is lower-case, has no default port, no path, and a port of 1 to 65535;
//! - errors are usage errors (exit 2) and show no control character.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use tokman::policy::{self, IpAllow, Origin, Scope};

fn check_error(e: &tokman::Error) {
    assert_eq!(e.kind(), tokman::error::ErrorKind::Usage, "{e}");
    assert!(!e.to_string().chars().any(char::is_control), "{e:?}");
}

fn scope(s: &str) {
    let expected = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:*-".contains(&b));
    match Scope::parse(s) {
        Ok(sc) => {
            assert!(expected, "odd scope accepted: {s:?}");
            assert_eq!(sc.as_str(), s);
            assert_eq!(Scope::parse(&sc.to_string()).unwrap(), sc);
            assert!(sc.grants(&sc));
            let json = serde_json::to_string(&sc).unwrap();
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), sc);
            // A wildcard grants exactly its namespace.
            if let Some(stem) = s.strip_suffix(":*") {
                let all = Scope::parse("*").unwrap();
                assert!(all.grants(&sc));
                if let Ok(inner) = Scope::parse(&format!("{stem}:x")) {
                    assert!(sc.grants(&inner));
                }
                if !stem.is_empty() {
                    assert!(
                        !sc.grants(&Scope::parse(stem).unwrap()),
                        "{s} grants {stem}"
                    );
                }
            }
        }
        Err(e) => {
            assert!(!expected, "good scope refused: {s:?}");
            check_error(&e);
        }
    }
}

fn ip_allow(s: &str) {
    match IpAllow::parse(s) {
        Ok(net) => {
            let shown = net.to_string();
            let again = IpAllow::parse(&shown).unwrap();
            assert_eq!(again, net, "{s:?} shown as {shown}");
            assert_eq!(again.to_string(), shown);
            let json = serde_json::to_string(&net).unwrap();
            assert_eq!(serde_json::from_str::<IpAllow>(&json).unwrap(), net);
            // Its network address, the text before the `/`, is inside it.
            let (addr, len) = shown.split_once('/').unwrap();
            let addr: IpAddr = addr.parse().unwrap();
            assert!(net.contains(addr), "{shown} does not contain {addr}");
            let len: u8 = len.parse().unwrap();
            assert!(len <= if addr.is_ipv4() { 32 } else { 128 });
        }
        Err(e) => check_error(&e),
    }
}

fn ip(s: &str) {
    match policy::parse_ip(s) {
        Ok(addr) => {
            let entry = IpAllow::parse(&addr.to_string()).unwrap();
            assert!(entry.contains(addr), "{addr} not in {entry}");
            assert_eq!(policy::parse_ip(&addr.to_string()).unwrap(), addr);
            // A mapped IPv6 address is held as the IPv4 address it maps.
            if let IpAddr::V6(v6) = addr {
                assert!(v6.to_ipv4_mapped().is_none(), "{addr} left mapped");
            }
        }
        Err(e) => check_error(&e),
    }
}

fn origin(s: &str) {
    match Origin::parse(s) {
        Ok(o) => {
            let text = o.as_str();
            assert_eq!(
                Origin::parse(text).unwrap(),
                o,
                "{s:?} normalised to {text}"
            );
            assert_eq!(o.to_string(), text);
            assert_eq!(text, text.to_ascii_lowercase());
            assert!(text.is_ascii(), "{text}");
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(serde_json::from_str::<Origin>(&json).unwrap(), o);
            let (scheme, rest) = text.split_once("://").unwrap();
            assert!(
                !rest.is_empty() && !rest.contains(['/', '?', '#', '@', '\\', ' ']),
                "{text}"
            );
            // The port, when shown, is 1..=65535 without leading zeros and not the default.
            let port = match rest.strip_prefix('[') {
                Some(v6) => {
                    let (_, after) = v6.split_once(']').unwrap();
                    after.strip_prefix(':')
                }
                None => rest.split_once(':').map(|(_, p)| p),
            };
            if let Some(p) = port {
                let n: u16 = p.parse().unwrap();
                assert!(n > 0 && n.to_string() == p, "{text}");
                assert!(
                    !(scheme == "http" && n == 80 || scheme == "https" && n == 443),
                    "{text}"
                );
            }
        }
        Err(e) => check_error(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    scope(s);
    ip_allow(s);
    ip(s);
    origin(s);
    for result in [
        policy::normalize_user(s),
        policy::normalize_text("name", s, 64, policy::TextKind::Name),
        policy::normalize_text("description", s, 64, policy::TextKind::Free),
    ] {
        match result {
            // What is accepted is normal already, and holds none of what names may not.
            Ok(text) => {
                assert_eq!(
                    policy::normalize_text("again", &text, 256, policy::TextKind::Free).ok(),
                    Some(text.clone())
                );
                assert!(
                    !text
                        .chars()
                        .any(|c| c.is_control() || (tokman::text::is_format(c) && c != '\u{200d}')),
                    "{text:?}"
                );
            }
            Err(e) => check_error(&e),
        }
    }
    // The same text as stored JSON: refused, or held to the same rules.
    if let Ok(o) = serde_json::from_str::<Origin>(s) {
        assert_eq!(Origin::parse(o.as_str()).unwrap(), o);
    }
    if let Ok(net) = serde_json::from_str::<IpAllow>(s) {
        assert_eq!(IpAllow::parse(&net.to_string()).unwrap(), net);
    }
    if let Ok(sc) = serde_json::from_str::<Scope>(s) {
        assert_eq!(Scope::parse(sc.as_str()).unwrap(), sc);
    }
});
