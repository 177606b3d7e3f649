//! The token format: `<prefix>_<id>_<body>`, only `[A-Za-z0-9_]`.
//!
//! - `prefix`: the store's, `[a-z][a-z0-9]{0,15}`, default `tm`;
//! - `id`: 12 random characters of `[0-9a-z]`; `<prefix>_<id>` is the public id;
//! - `body`: 43 random base62 characters (256 bits), then the CRC32 (IEEE) of everything before
//!   them as 6 big-endian base62 digits, so a typo is caught without the store.
//!
//! Must never: print a token's text through `Debug` or an error message (only its public id),
//! or draw randomness with modulo bias.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const ID_LEN: usize = 12;
pub const RANDOM_LEN: usize = 43;
pub const CHECK_LEN: usize = 6;
const BODY_LEN: usize = RANDOM_LEN + CHECK_LEN;
const PREFIX_MAX: usize = 16;
/// The longest possible token: a 16-character prefix.
pub const MAX_LEN: usize = PREFIX_MAX + 1 + ID_LEN + 1 + BODY_LEN;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn valid_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= PREFIX_MAX
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn valid_id(s: &str) -> bool {
    s.len() == ID_LEN
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// A store's token prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix(String);

impl Prefix {
    pub fn parse(s: &str) -> Result<Prefix> {
        if valid_prefix(s) {
            Ok(Prefix(s.to_owned()))
        } else {
            Err(Error::usage(format!(
                "invalid prefix `{}`: expected a lower-case letter, then up to 15 lower-case letters or digits",
                crate::render::escape(s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Prefix {
    fn default() -> Self {
        Prefix("tm".to_owned())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Prefix {
    type Err = Error;
    fn from_str(s: &str) -> Result<Prefix> {
        Prefix::parse(s)
    }
}

/// A token's public id, `<prefix>_<id>`: safe to show, log and pass in argv.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenId(String);

impl TokenId {
    /// Surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<TokenId> {
        let s = s.trim();
        match s.split_once('_') {
            Some((p, id)) if valid_prefix(p) && valid_id(id) => Ok(TokenId(s.to_owned())),
            _ => Err(Error::usage_hint(
                format!("not a token id: `{}`", crate::render::escape(s)),
                "a token id looks like tm_4f7k2m9q0xyz",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn prefix(&self) -> &str {
        self.0.split_once('_').map_or("", |(p, _)| p)
    }
}

impl TryFrom<String> for TokenId {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<TokenId, String> {
        TokenId::parse(&s).map_err(|e| e.to_string())
    }
}

impl From<TokenId> for String {
    fn from(id: TokenId) -> String {
        id.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TokenId {
    type Err = Error;
    fn from_str(s: &str) -> Result<TokenId> {
        TokenId::parse(s)
    }
}

/// A whole token, secret included. Not `Clone`; zeroized on drop; `Debug` shows only its id.
pub struct Token(Zeroizing<String>);

/// Draw `n` characters uniformly from `alphabet` by rejection sampling (no modulo bias).
fn random_chars<R: rand::CryptoRng + ?Sized>(
    rng: &mut R,
    alphabet: &[u8],
    n: usize,
    out: &mut String,
) {
    // The largest multiple of the alphabet's size that fits in a byte.
    let limit = (256 / alphabet.len() * alphabet.len()) as u16;
    let mut buf = Zeroizing::new([0u8; 64]);
    let mut have = 0;
    while have < n {
        rng.fill_bytes(buf.as_mut());
        for &b in buf.iter() {
            if have == n {
                break;
            }
            if u16::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
                have += 1;
            }
        }
    }
}

/// CRC32 of `text` as 6 base62 digits, most significant first.
fn checksum(text: &str) -> [u8; CHECK_LEN] {
    let mut n = crc32fast::hash(text.as_bytes());
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

impl Token {
    pub fn generate<R: rand::CryptoRng + ?Sized>(prefix: &Prefix, rng: &mut R) -> Token {
        let mut text = Zeroizing::new(String::with_capacity(MAX_LEN));
        text.push_str(prefix.as_str());
        text.push('_');
        random_chars(rng, BASE36, ID_LEN, &mut text);
        text.push('_');
        random_chars(rng, BASE62, RANDOM_LEN, &mut text);
        let check = checksum(&text);
        text.extend(check.iter().map(|&b| char::from(b)));
        Token(text)
    }

    pub fn id(&self) -> TokenId {
        let end = self.0.len() - BODY_LEN - 1;
        TokenId(self.0[..end].to_owned())
    }

    /// The full text: to print it the one time it is shown, and to compute its keyed hash.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}_…)", self.id())
    }
}

/// A presented token that has the right shape and checksum (not yet checked against a store).
pub struct Presented<'a> {
    text: &'a str,
    id: TokenId,
}

impl fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Presented({}_…)", self.id)
    }
}

impl<'a> Presented<'a> {
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    pub fn text(&self) -> &'a str {
        self.text
    }
}

/// Why a string is not a token. Never holds any of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

/// Check a presented token's shape and checksum, ignoring surrounding whitespace.
pub fn parse(text: &str) -> std::result::Result<Presented<'_>, Malformed> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Malformed("not a token: empty input"));
    }
    if text.len() > MAX_LEN {
        return Err(Malformed("not a token: too long"));
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Malformed("not a token: unexpected characters"));
    }
    let mut parts = text.splitn(3, '_');
    let (Some(prefix), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Malformed("not a token: wrong shape"));
    };
    if !valid_prefix(prefix) || !valid_id(id) || body.len() != BODY_LEN || body.contains('_') {
        return Err(Malformed("not a token: wrong shape"));
    }
    let (signed, check) = text.split_at(text.len() - CHECK_LEN);
    if checksum(signed).as_slice() != check.as_bytes() {
        return Err(Malformed(
            "not a token: checksum mismatch (mistyped or truncated?)",
        ));
    }
    Ok(Presented {
        text,
        id: TokenId(text[..prefix.len() + 1 + ID_LEN].to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fresh() -> Token {
        Token::generate(&Prefix::default(), &mut rand::rng())
    }

    #[test]
    fn generated_tokens_have_the_contract_shape() {
        for _ in 0..200 {
            let t = fresh();
            let s = t.expose();
            assert_eq!(s.len(), 65);
            assert!(s.starts_with("tm_"));
            let p = parse(s).unwrap();
            assert_eq!(p.id(), &t.id());
            assert_eq!(t.id().as_str().len(), 15);
            assert_eq!(t.id().prefix(), "tm");
            let body = &s[16..];
            assert_eq!(body.len(), 49);
            assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn checksum_encoding_vectors() {
        // Vectors computed independently (Python's zlib.crc32 and a base62 loop).
        let digits = |mut n: u32| {
            let mut s = Vec::new();
            for _ in 0..6 {
                s.push(BASE62[(n % 62) as usize]);
                n /= 62;
            }
            s.reverse();
            String::from_utf8(s).unwrap()
        };
        assert_eq!(digits(0), "000000");
        assert_eq!(digits(u32::MAX), "4gfFC3");
        let signed = format!("tm_000000000000_{}", "A".repeat(43));
        assert_eq!(digits(crc32fast::hash(signed.as_bytes())), "2NuCjd");
        assert_eq!(std::str::from_utf8(&checksum(&signed)).unwrap(), "2NuCjd");
        let token = format!("{signed}2NuCjd");
        assert_eq!(token.len(), 65);
        assert!(parse(&token).is_ok());
    }

    #[test]
    fn whitespace_around_is_ignored() {
        let t = fresh();
        let padded = format!(" \t{}\r\n", t.expose());
        assert_eq!(parse(&padded).unwrap().text(), t.expose());
    }

    #[test]
    fn catalogue_of_malformed_inputs() {
        let t = fresh();
        let s = t.expose();
        let cases = [
            String::new(),
            "   \n".into(),
            "tm".into(),
            "tm_".into(),
            s[..64].to_owned(),
            format!("{s}x"),
            format!("Tm{}", &s[2..]),
            s.replace('_', "-"),
            format!("{}\u{0}{}", &s[..10], &s[11..]),
            format!("{}é{}", &s[..10], &s[12..]),
            "x".repeat(1 << 20),
            format!("tm_000000000000_{}", "A".repeat(49)),
        ];
        for c in cases {
            assert!(parse(&c).is_err(), "accepted {c:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = fresh();
        let body = &t.expose()[16..];
        assert!(!format!("{t:?}").contains(body));
        assert!(!format!("{:?}", parse(t.expose()).unwrap()).contains(body));
    }

    #[test]
    fn prefixes_and_ids() {
        assert!(Prefix::parse("tm").is_ok());
        assert!(Prefix::parse("a1234567890abcde").is_ok());
        for bad in ["", "1a", "Tm", "a12345678901234567", "t-m", "t_m"] {
            assert_eq!(Prefix::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        assert_eq!(
            TokenId::parse(" tm_4f7k2m9q0xyz ").unwrap().as_str(),
            "tm_4f7k2m9q0xyz"
        );
        for bad in [
            "tm_4f7k2m9q0xy",
            "tm_4F7K2M9Q0XYZ",
            "4f7k2m9q0xyz",
            "tm__4f7k2m9q0xy",
        ] {
            assert!(TokenId::parse(bad).is_err(), "{bad}");
        }
        let id: TokenId = serde_json::from_str("\"acme_4f7k2m9q0xyz\"").unwrap();
        assert_eq!(id.prefix(), "acme");
        assert!(serde_json::from_str::<TokenId>("\"bogus\"").is_err());
    }

    #[test]
    fn custom_prefix_round_trips() {
        let p = Prefix::parse("acme").unwrap();
        let t = Token::generate(&p, &mut rand::rng());
        assert_eq!(t.expose().len(), 67);
        assert_eq!(parse(t.expose()).unwrap().id().prefix(), "acme");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = parse(&s);
            let _ = TokenId::parse(&s);
            let _ = Prefix::parse(&s);
        }

        #[test]
        fn any_single_edit_is_caught(pos in 0usize..65, c in "[0-9A-Za-z_]", cut in 0usize..65) {
            let t = fresh();
            let s = t.expose();
            let mut edited = s.as_bytes().to_vec();
            let new = c.as_bytes()[0];
            prop_assume!(edited[pos] != new);
            edited[pos] = new;
            prop_assert!(parse(std::str::from_utf8(&edited).unwrap()).is_err());
            prop_assert!(parse(&s[..cut]).is_err());
            let mut deleted = s.to_owned();
            deleted.remove(pos);
            prop_assert!(parse(&deleted).is_err());
        }
    }
}
