//! The token parser, against a reference written from the contract's wording alone.
//!
//! - `token::parse`, `TokenId::parse` and `Prefix::parse` never panic;
//! - `token::parse` accepts exactly what the reference accepts (the README regex, anchored,
//!   around surrounding whitespace, with a CRC32 checksum that holds);
//! - a parsed token re-encodes (prefix, id, random part, checksum computed here) to its text;
//! - ids and prefixes round-trip through their text and JSON;
//! - no error message carries a token's random part.
//!
//! The first input byte picks a mode: odd, the rest is the text as is; even, the rest is the
//! text before the checksum and the harness appends the right one, so the fuzzer reaches the
//! "valid token" side without having to guess a CRC.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokman::token::{self, Prefix, TokenId};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn lower_or_digit(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn reference_prefix(p: &str) -> bool {
    let b = p.as_bytes();
    (1..=16).contains(&b.len()) && b[0].is_ascii_lowercase() && b.iter().all(|&c| lower_or_digit(c))
}

fn reference_id(i: &str) -> bool {
    i.len() == 12 && i.bytes().all(lower_or_digit)
}

fn reference_checksum(signed: &str) -> String {
    let mut n = crc32fast::hash(signed.as_bytes());
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(digits.to_vec()).unwrap()
}

/// `\s*[a-z][a-z0-9]{0,15}_[0-9a-z]{12}_[0-9A-Za-z]{49}\s*` with a checksum that holds: the
/// prefix, id and body of `text`, or `None`.
fn reference(text: &str) -> Option<(&str, &str, &str)> {
    let t = text.trim();
    let mut parts = t.split('_');
    let (p, i, b) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !reference_prefix(p) || !reference_id(i) {
        return None;
    }
    if b.len() != 49 || !b.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let (random, check) = b.split_at(43);
    (reference_checksum(&format!("{p}_{i}_{random}")) == check).then_some((p, i, random))
}

fn check(s: &str) {
    let parsed = token::parse(s);
    let expected = reference(s);
    assert_eq!(
        parsed.is_ok(),
        expected.is_some(),
        "parse disagrees with the reference on {s:?}"
    );
    if let (Ok(p), Some((prefix, id, random))) = (&parsed, expected) {
        // Re-encoded from its parts with a checksum computed here: the same text.
        let signed = format!("{prefix}_{id}_{random}");
        let encoded = format!("{signed}{}", reference_checksum(&signed));
        assert_eq!(p.text(), encoded);
        assert_eq!(p.text(), s.trim());
        assert_eq!(p.id().as_str(), format!("{prefix}_{id}"));
        assert_eq!(p.id().prefix(), prefix);
        assert_eq!(TokenId::parse(p.id().as_str()).unwrap(), *p.id());
        assert_eq!(Prefix::parse(prefix).unwrap().as_str(), prefix);
        // Parsing the parsed text again changes nothing.
        let again = token::parse(p.text()).unwrap();
        assert_eq!(again.text(), p.text());
        assert_eq!(again.id(), p.id());
        // Neither Debug nor an id error shows the random part.
        assert!(!format!("{p:?}").contains(random));
        let e = TokenId::parse(s).unwrap_err();
        let shown = format!("{e} {}", e.hint().unwrap_or_default());
        assert!(
            !shown.contains(random),
            "an id error echoes the secret: {shown}"
        );
    }
    if let Err(m) = &parsed {
        // A static reason: never any of the input.
        assert!(
            m.0.starts_with("not a token") || m.0 == "empty input",
            "{m}"
        );
    }

    if let Ok(id) = TokenId::parse(s) {
        assert_eq!(id.as_str(), s.trim());
        let (p, i) = id.as_str().split_once('_').unwrap();
        assert!(
            reference_prefix(p) && reference_id(i),
            "odd id accepted: {s:?}"
        );
        assert_eq!(TokenId::parse(&id.to_string()).unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<TokenId>(&json).unwrap(), id);
    }
    if let Ok(prefix) = Prefix::parse(s) {
        assert!(reference_prefix(s), "odd prefix accepted: {s:?}");
        assert_eq!(Prefix::parse(&prefix.to_string()).unwrap(), prefix);
    } else {
        assert!(!reference_prefix(s), "good prefix refused: {s:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    if mode & 1 == 1 {
        check(s);
    } else {
        // Checksum appended after the trimmed text, surrounding whitespace put back.
        let t = s.trim_start();
        let lead = &s[..s.len() - t.len()];
        let core = t.trim_end();
        let trail = &t[core.len()..];
        check(&format!("{lead}{core}{}{trail}", reference_checksum(core)));
    }
});
