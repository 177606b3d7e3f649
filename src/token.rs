//! The token format, a public contract: `<prefix>_<id>_<body>`, only `[A-Za-z0-9_]`.
//!
//! - `prefix`: the store's, `[a-z][a-z0-9]{0,15}`, default `tm`;
//! - `id`: 12 random characters of `[0-9a-z]`; `<prefix>_<id>` is the public id;
//! - `body`: 43 random base62 characters (256 bits), then the CRC32 (IEEE) of everything before
//!   them as 6 big-endian base62 digits, so a typo is caught without the store.
//!
//! This module owns generating tokens and checking their shape and checksum; it knows nothing of
//! stores, hashes or records.
//!
//! Must never: show a token's secret text through `Debug`, `Display` or any error message (only
//! its public id), draw randomness with modulo bias, or panic on any presented string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::policy::quote;

pub const ID_LEN: usize = 12;
pub const RANDOM_LEN: usize = 43;
pub const CHECK_LEN: usize = 6;
const BODY_LEN: usize = RANDOM_LEN + CHECK_LEN;
const PREFIX_MAX: usize = 16;
/// The longest possible token (a 16-character prefix): anything longer is rejected at once.
const MAX_LEN: usize = PREFIX_MAX + 1 + ID_LEN + 1 + BODY_LEN;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The one prefix rule, shared by `Prefix`, `TokenId` and `parse` so they can never disagree.
fn valid_prefix(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= PREFIX_MAX
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The one id rule, shared like `valid_prefix`.
fn valid_id(s: &str) -> bool {
    s.len() == ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A store's token prefix, so tokens of different stores or vendors tell themselves apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix(String);

impl Prefix {
    /// Checked once here so every token generated with it matches the scanner regex.
    pub fn parse(s: &str) -> Result<Prefix> {
        if valid_prefix(s) {
            Ok(Prefix(s.to_owned()))
        } else {
            Err(Error::usage(format!(
                "invalid prefix `{}`: expected a lower-case letter, then up to 15 lower-case letters or digits, like tm",
                quote(s)
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
///
/// Serialised as its string; deserialising validates it, since ids are read back from storage.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenId(String);

impl TokenId {
    /// Surrounding whitespace is ignored so ids pasted from a table or a file work.
    ///
    /// When the value looks like a whole token (something after the id), only the id part is
    /// echoed in the error, so a secret pasted in the wrong place is not printed back.
    pub fn parse(s: &str) -> Result<TokenId> {
        let s = s.trim();
        let mut parts = s.splitn(3, '_');
        let (prefix, id, rest) = (parts.next(), parts.next(), parts.next());
        if let (Some(p), Some(i)) = (prefix, id)
            && valid_prefix(p)
            && valid_id(i)
        {
            if rest.is_none() {
                return Ok(TokenId(s.to_owned()));
            }
            return Err(Error::usage_hint(
                format!("invalid token id `{p}_{i}_…`: expected only the id, not a whole token"),
                format!("the id is the part before the second `_`: {p}_{i}"),
            ));
        }
        Err(Error::usage_hint(
            format!(
                "invalid token id `{}`: expected a prefix, `_` and 12 lower-case letters or digits",
                quote(s)
            ),
            "a token id looks like tm_4f7k2m9q0xyz",
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The store prefix part, to tell a token of another store from an unknown one.
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

/// A whole token, secret included. Not `Clone` (one copy, wiped on drop); no `Display`; `Debug`
/// shows only its public id.
pub struct Token {
    text: Zeroizing<String>,
    /// Length of `<prefix>_<id>` at the start of `text`.
    id_len: usize,
}

/// Append `n` characters drawn uniformly from `alphabet`.
///
/// Bytes at or above the largest multiple of the alphabet size are thrown away (rejection
/// sampling), so `byte % len` is exactly uniform: no character is more likely than another.
fn random_chars<R: rand::CryptoRng + ?Sized>(
    rng: &mut R,
    alphabet: &[u8],
    n: usize,
    out: &mut String,
) {
    let len = alphabet.len();
    // 256 / 62 * 62 = 248, 256 / 36 * 36 = 252.
    let limit = 256 / len * len;
    let mut buf = Zeroizing::new([0u8; 64]);
    let mut have = 0;
    while have < n {
        rng.fill_bytes(buf.as_mut());
        for &b in buf.iter() {
            if have == n {
                break;
            }
            let b = usize::from(b);
            if b < limit
                && let Some(&c) = alphabet.get(b % len)
            {
                out.push(char::from(c));
                have += 1;
            }
        }
    }
}

/// CRC32 (IEEE) of `text` as 6 base62 digits, most significant first, left-padded with `0`.
/// 62^6 > 2^32, so the encoding is exact and distinct CRCs give distinct digits.
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
    /// Takes the RNG as a parameter so tests can seed it; production passes `rand::rng()`.
    pub fn generate<R: rand::CryptoRng + ?Sized>(prefix: &Prefix, rng: &mut R) -> Token {
        let id_len = prefix.as_str().len() + 1 + ID_LEN;
        let mut text = Zeroizing::new(String::with_capacity(MAX_LEN));
        text.push_str(prefix.as_str());
        text.push('_');
        random_chars(rng, BASE36, ID_LEN, &mut text);
        text.push('_');
        random_chars(rng, BASE62, RANDOM_LEN, &mut text);
        let check = checksum(&text);
        text.extend(check.iter().map(|&b| char::from(b)));
        Token { text, id_len }
    }

    pub fn id(&self) -> TokenId {
        TokenId(self.text.get(..self.id_len).unwrap_or_default().to_owned())
    }

    /// The full text: to print it the one time it is shown, and to compute its keyed hash.
    pub fn expose(&self) -> &str {
        &self.text
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

    /// The trimmed text, for the keyed hash.
    pub fn text(&self) -> &'a str {
        self.text
    }
}

/// Why a string is not a token. A static reason only, so it can never carry any of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

const EMPTY: Malformed = Malformed("empty input");
const TOO_LONG: Malformed = Malformed("not a token: too long");
const CHARACTERS: Malformed = Malformed("not a token: unexpected characters");
const SHAPE: Malformed = Malformed("not a token: wrong shape");
const LENGTH: Malformed = Malformed("not a token: wrong length (truncated or extra characters?)");
const CHECKSUM: Malformed = Malformed("not a token: checksum mismatch (mistyped or truncated?)");

/// Check a presented token's shape and checksum, ignoring surrounding whitespace, so typos and
/// garbage are refused before any store is opened. Linear time; over-long input is refused by
/// its length first.
pub fn parse(text: &str) -> std::result::Result<Presented<'_>, Malformed> {
    let text = text.trim();
    if text.is_empty() {
        return Err(EMPTY);
    }
    if text.len() > MAX_LEN {
        return Err(TOO_LONG);
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(CHARACTERS);
    }
    let mut parts = text.splitn(3, '_');
    let (Some(prefix), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SHAPE);
    };
    if !valid_prefix(prefix) || !valid_id(id) || body.contains('_') {
        return Err(SHAPE);
    }
    if body.len() != BODY_LEN {
        return Err(LENGTH);
    }
    let split = text.len() - CHECK_LEN;
    let (Some(signed), Some(check)) = (text.get(..split), text.get(split..)) else {
        return Err(SHAPE);
    };
    if checksum(signed).as_slice() != check.as_bytes() {
        return Err(CHECKSUM);
    }
    let id_len = prefix.len() + 1 + ID_LEN;
    let id = text.get(..id_len).ok_or(SHAPE)?;
    Ok(Presented {
        text,
        id: TokenId(id.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::convert::Infallible;

    fn fresh() -> Token {
        Token::generate(&Prefix::default(), &mut rand::rng())
    }

    fn seeded(seed: [u8; 32]) -> Token {
        Token::generate(&Prefix::default(), &mut StdRng::from_seed(seed))
    }

    /// The test's own base62 encoder, written independently of `checksum`.
    fn base62_6(n: u32) -> String {
        let alphabet: Vec<char> = ('0'..='9').chain('A'..='Z').chain('a'..='z').collect();
        let mut n = u64::from(n);
        let mut digits = Vec::new();
        while n > 0 {
            digits.push(alphabet[(n % 62) as usize]);
            n /= 62;
        }
        while digits.len() < 6 {
            digits.push('0');
        }
        digits.iter().rev().collect()
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
            assert_eq!(p.text(), s);
            assert_eq!(t.id().as_str(), &s[..15]);
            assert_eq!(t.id().prefix(), "tm");
            let id = &s[3..15];
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
            assert_eq!(&s[15..16], "_");
            let body = &s[16..];
            assert_eq!(body.len(), 49);
            assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(base62_6(crc32fast::hash(&s.as_bytes()[..59])), &s[59..]);
        }
    }

    #[test]
    fn every_alphabet_character_is_drawn() {
        let mut id_seen = std::collections::BTreeSet::new();
        let mut body_seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let t = fresh();
            id_seen.extend(t.expose()[3..15].chars());
            body_seen.extend(t.expose()[16..59].chars());
        }
        assert_eq!(id_seen.len(), 36);
        assert_eq!(body_seen.len(), 62);
    }

    /// Hands out a fixed byte sequence, then zeros: shows which bytes the sampler rejects.
    struct Scripted(Vec<u8>);

    impl rand::TryRng for Scripted {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> std::result::Result<u32, Infallible> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> std::result::Result<u64, Infallible> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> std::result::Result<(), Infallible> {
            for d in dst.iter_mut() {
                *d = if self.0.is_empty() {
                    0
                } else {
                    self.0.remove(0)
                };
            }
            Ok(())
        }
    }
    impl rand::TryCryptoRng for Scripted {}

    #[test]
    fn rejection_sampling_skips_biased_bytes() {
        // For the id (base36) bytes 252..=255 are rejected; 251 = 6*36 + 35 is kept as `z`.
        let mut script = vec![252, 253, 254, 255, 251, 36, 37];
        script.resize(64, 0);
        // For the body (base62) bytes 248..=255 are rejected; 247 = 3*62 + 61 is kept as `z`.
        script.extend([248, 255, 247, 62 + 10]);
        let t = Token::generate(&Prefix::default(), &mut Scripted(script));
        assert_eq!(&t.expose()[..16], "tm_z01000000000_");
        assert_eq!(&t.expose()[16..19], "zA0");
        assert!(parse(t.expose()).is_ok());
    }

    #[test]
    fn checksum_encoding_vectors() {
        // Computed independently with Python: zlib.crc32 and a base62 loop over 0-9A-Za-z.
        assert_eq!(base62_6(0), "000000");
        assert_eq!(base62_6(61), "00000z");
        assert_eq!(base62_6(62), "000010");
        assert_eq!(base62_6(u32::MAX), "4gfFC3");
        let signed = format!("tm_000000000000_{}", "A".repeat(43));
        assert_eq!(base62_6(crc32fast::hash(signed.as_bytes())), "2NuCjd");
        assert_eq!(std::str::from_utf8(&checksum(&signed)).unwrap(), "2NuCjd");
        let token = format!("{signed}2NuCjd");
        assert_eq!(token.len(), 65);
        let p = parse(&token).unwrap();
        assert_eq!(p.id().as_str(), "tm_000000000000");
        assert_eq!(parse(&format!("{signed}2NuCje")).unwrap_err(), CHECKSUM);
        assert_eq!(parse(&format!("{signed}000000")).unwrap_err(), CHECKSUM);
    }

    #[test]
    fn whitespace_around_is_ignored() {
        let t = fresh();
        let padded = format!(" \t{}\r\n", t.expose());
        assert_eq!(parse(&padded).unwrap().text(), t.expose());
        let inner = format!("{} {}", &t.expose()[..20], &t.expose()[20..]);
        assert_eq!(parse(&inner).unwrap_err(), CHARACTERS);
    }

    #[test]
    fn catalogue_of_malformed_inputs() {
        let t = fresh();
        let s = t.expose();
        let cases: Vec<(String, Malformed)> = vec![
            (String::new(), EMPTY),
            ("   \n\t".into(), EMPTY),
            ("tm".into(), SHAPE),
            ("tm_".into(), SHAPE),
            (s[..64].to_owned(), LENGTH),
            (format!("{s}x"), LENGTH),
            (format!("Tm{}", &s[2..]), SHAPE),
            (s.replace('_', "-"), CHARACTERS),
            (format!("{}\u{0}{}", &s[..10], &s[11..]), CHARACTERS),
            (format!("{}é{}", &s[..10], &s[12..]), CHARACTERS),
            (format!("{s}\u{0}"), CHARACTERS),
            ("x".repeat(1 << 20), TOO_LONG),
            (format!("tm_000000000000_{}", "A".repeat(49)), CHECKSUM),
            (format!("tm_000000000000_{}_", "A".repeat(48)), SHAPE),
            (format!("tm_00000000000_{}", "A".repeat(50)), SHAPE),
        ];
        for (c, why) in cases {
            assert_eq!(parse(&c).unwrap_err(), why, "{c:?}");
        }
    }

    #[test]
    fn huge_input_is_rejected_fast() {
        let huge = format!("{}{}", fresh().expose(), "A".repeat(1 << 20));
        let start = std::time::Instant::now();
        for _ in 0..100 {
            assert_eq!(parse(&huge).unwrap_err(), TOO_LONG);
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = fresh();
        let body = &t.expose()[16..];
        let shown = format!("{t:?}");
        assert!(!shown.contains(body));
        assert!(shown.contains(t.id().as_str()));
        let shown = format!("{:?}", parse(t.expose()).unwrap());
        assert!(!shown.contains(body));
        assert!(shown.contains(t.id().as_str()));
    }

    #[test]
    fn prefixes() {
        assert_eq!(Prefix::default().as_str(), "tm");
        assert!(Prefix::parse("a").is_ok());
        assert!(Prefix::parse("a1234567890abcde").is_ok());
        for bad in [
            "",
            "1a",
            "Tm",
            "a1234567890abcdef",
            "t-m",
            "t_m",
            " tm",
            "é",
        ] {
            let e = Prefix::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(e.to_string().starts_with("invalid prefix `"), "{e}");
        }
        assert_eq!("acme".parse::<Prefix>().unwrap().to_string(), "acme");
    }

    #[test]
    fn token_ids() {
        let id = TokenId::parse(" tm_4f7k2m9q0xyz\n").unwrap();
        assert_eq!(id.as_str(), "tm_4f7k2m9q0xyz");
        assert_eq!(id.prefix(), "tm");
        for bad in [
            "",
            "tm_4f7k2m9q0xy",
            "tm_4F7K2M9Q0XYZ",
            "4f7k2m9q0xyz",
            "tm__4f7k2m9q0xy",
            "tm_4f7k2m9q0xyz0",
            "TM_4f7k2m9q0xyz",
        ] {
            let e = TokenId::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(e.to_string().contains(&format!("`{bad}`")), "{e}");
            assert_eq!(e.hint(), Some("a token id looks like tm_4f7k2m9q0xyz"));
        }
        let id: TokenId = serde_json::from_str("\"acme_4f7k2m9q0xyz\"").unwrap();
        assert_eq!(id.prefix(), "acme");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"acme_4f7k2m9q0xyz\"");
        assert!(serde_json::from_str::<TokenId>("\"bogus\"").is_err());
    }

    #[test]
    fn a_whole_token_given_as_an_id_is_not_echoed() {
        let t = fresh();
        let e = TokenId::parse(t.expose()).unwrap_err();
        let text = format!("{e} {}", e.hint().unwrap_or(""));
        assert!(!text.contains(&t.expose()[16..]), "{text}");
        assert!(text.contains(t.id().as_str()), "{text}");
    }

    #[test]
    fn custom_prefix_round_trips() {
        let p = Prefix::parse("acme").unwrap();
        let t = Token::generate(&p, &mut rand::rng());
        assert_eq!(t.expose().len(), 67);
        assert_eq!(t.id().prefix(), "acme");
        assert_eq!(parse(t.expose()).unwrap().id(), &t.id());
        let long = Prefix::parse("abcdefghijklmnop").unwrap();
        let t = Token::generate(&long, &mut rand::rng());
        assert_eq!(t.expose().len(), MAX_LEN);
        assert!(parse(t.expose()).is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = parse(&s);
            let _ = TokenId::parse(&s);
            let _ = Prefix::parse(&s);
        }

        #[test]
        fn near_misses_never_panic_and_only_checksummed_pass(
            s in "[a-z]{1,17}_[0-9a-zA-Z_]{10,14}_[0-9A-Za-z_é\u{0} ]{45,52}",
        ) {
            if let Ok(p) = parse(&s) {
                let t = p.text();
                prop_assert_eq!(&checksum(&t[..t.len() - 6])[..], &t.as_bytes()[t.len() - 6..]);
            }
            if let Ok(id) = TokenId::parse(&s) {
                prop_assert_eq!(TokenId::parse(id.as_str()).unwrap(), id);
            }
        }

        #[test]
        fn ids_and_prefixes_round_trip(p in "[a-z][a-z0-9]{0,15}", i in "[0-9a-z]{12}") {
            let prefix = Prefix::parse(&p).unwrap();
            prop_assert_eq!(Prefix::parse(&prefix.to_string()).unwrap(), prefix);
            let id = TokenId::parse(&format!("{p}_{i}")).unwrap();
            prop_assert_eq!(id.prefix(), p.as_str());
            prop_assert_eq!(TokenId::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn any_single_edit_is_caught(
            seed in any::<[u8; 32]>(),
            pos in 0usize..65,
            c in any::<char>(),
        ) {
            let t = seeded(seed);
            let s = t.expose();
            prop_assert!(parse(s).is_ok());
            // Substitution with any other character.
            let mut chars: Vec<char> = s.chars().collect();
            prop_assume!(chars[pos] != c);
            chars[pos] = c;
            let edited: String = chars.iter().collect();
            prop_assert!(parse(&edited).is_err(), "substituted {:?} at {}", c, pos);
            // Deletion.
            let mut deleted = s.to_owned();
            deleted.remove(pos);
            prop_assert!(parse(&deleted).is_err(), "deleted at {}", pos);
            // Truncation (an empty remainder included).
            prop_assert!(parse(&s[..pos]).is_err(), "truncated to {}", pos);
            // Insertion of a non-whitespace character.
            if !c.is_whitespace() {
                let mut inserted = s.to_owned();
                inserted.insert(pos, c);
                prop_assert!(parse(&inserted).is_err(), "inserted {:?} at {}", c, pos);
            }
        }
    }
}

/// The shortest body [`redact`] hides. Fewer than 20 of a body's 49 characters leave at least
/// 23 random ones (over 136 bits) unknown, which no one can guess; and the bound keeps ordinary
/// `team_infraservice_prod` names readable.
const REDACT_MIN_BODY: usize = 20;

/// One `_`-separated part of a word: from after its `_` to its last letter or digit, and how
/// many letters and digits it has (format characters among them are spanned but not counted).
#[derive(Clone, Copy)]
struct Part {
    start: usize,
    end: usize,
    len: usize,
    id_chars: bool,
}

impl Part {
    fn at(start: usize) -> Part {
        Part {
            start,
            end: start,
            len: 0,
            id_chars: true,
        }
    }
}

/// Text made safe to echo: anything of a token's shape is shown as its public id and `_…`, so
/// a secret pasted in the wrong place never reaches a terminal, a log or a cron mail whole.
///
/// Token-shaped is deliberately wider than a valid token, since what matters is what could be
/// a secret: in a word of ASCII letters, digits and `_`, any `P_I_B` where
/// - `P` is one or more letters or digits (the prefix, not held to the prefix rule, so `TM_…`,
///   or `31mtm_…` glued to a colour escape, is caught too);
/// - `I` is exactly 12 of `[0-9a-z]` (the id);
/// - `B` is [`REDACT_MIN_BODY`] or more of `[0-9A-Za-z]` (the body: whole, truncated, or
///   over-long with extra characters pasted; its checksum is not checked, since a mistyped
///   token is still almost all secret).
///
/// `B` becomes `…` (`tm_4f7k2m9q0xyz_…`); anything after it (`_more`, punctuation) is kept.
/// Format characters (Unicode Cf, such as U+200B or a soft hyphen) count as part of the word
/// and are skipped when matching, so one pasted into a token cannot split its body into pieces
/// that each look harmless; inside a body they are hidden with it, after it they are kept (and
/// escaped where the text is shown). Linear time; never panics.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('_') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut parts: Vec<Part> = Vec::new();
    let mut part = Part::at(0);
    let mut in_word = false;
    // A sentinel space after the end closes the last word.
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let word = c.is_ascii_alphanumeric() || c == '_';
        if word || crate::text::is_format(c) {
            if !in_word {
                in_word = true;
                parts.clear();
                part = Part::at(i);
            }
            if c == '_' {
                parts.push(part);
                part = Part::at(i + 1);
            } else if word {
                part.end = i + c.len_utf8();
                part.len += 1;
                part.id_chars &= c.is_ascii_lowercase() || c.is_ascii_digit();
            }
            continue;
        }
        if !in_word {
            continue;
        }
        in_word = false;
        parts.push(part);
        for w in parts.windows(3) {
            let (prefix, id, body) = (w[0], w[1], w[2]);
            if prefix.len > 0 && id.len == ID_LEN && id.id_chars && body.len >= REDACT_MIN_BODY {
                out.push_str(&text[copied..body.start]);
                out.push('…');
                copied = body.end;
            }
        }
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod redact_tests {
    use super::*;
    use proptest::prelude::*;

    fn fresh() -> Token {
        Token::generate(&Prefix::default(), &mut rand::rng())
    }

    /// The 43 random characters of a token: what must never be shown.
    fn random_part(token: &str) -> &str {
        let body = token.rsplit_once('_').unwrap().1;
        &body[..RANDOM_LEN]
    }

    #[test]
    fn a_token_anywhere_in_text_is_shown_as_its_id() {
        let t = fresh();
        let (token, id) = (t.expose(), t.id());
        for (text, shown) in [
            (token.to_owned(), format!("{id}_…")),
            (format!("'{token}'"), format!("'{id}_…'")),
            (
                format!("unexpected argument '{token}' found"),
                format!("unexpected argument '{id}_…' found"),
            ),
            (format!("--ip={token}."), format!("--ip={id}_….")),
            (format!("{token}_tail"), format!("{id}_…_tail")),
            (format!("x{token}"), format!("x{id}_…")),
            (format!("a {token} b {token}"), format!("a {id}_… b {id}_…")),
        ] {
            assert_eq!(redact(&text), shown, "{text}");
        }
    }

    #[test]
    fn near_tokens_are_hidden_too() {
        let t = fresh();
        let (token, id) = (t.expose(), t.id().to_string());
        // One character extra, one missing, a wrong checksum, a pasted tail, upper-case prefix.
        let body = &token[id.len() + 1..];
        for text in [
            format!("{token}X"),
            token[..token.len() - 1].to_owned(),
            format!("{id}_{}", &body[..REDACT_MIN_BODY]),
            format!("{id}_{}zzzzzz", &body[..RANDOM_LEN]),
            format!("TM{}", &token[2..]),
            format!("\u{1b}[31m{token}\u{1b}[0m"),
            format!("my_{token}"),
        ] {
            let shown = redact(&text);
            assert!(
                !shown.contains(&body[..REDACT_MIN_BODY]),
                "{text} → {shown}"
            );
            assert!(shown.contains("_…"), "{text} → {shown}");
        }
    }

    #[test]
    fn a_format_character_inside_a_token_does_not_split_it() {
        let t = fresh();
        let token = t.expose();
        let cut = token.len() - 25;
        for mark in ['\u{200b}', '\u{ad}', '\u{202e}', '\u{feff}'] {
            let text = format!("{}{mark}{}", &token[..cut], &token[cut..]);
            let shown = redact(&text);
            assert_eq!(shown, format!("{}_…", t.id()), "{text:?}");
        }
        let text = format!("{}\u{200b}{}", &token[..5], &token[5..]);
        assert!(!redact(&text).contains(random_part(token)));
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "",
            "tm_4f7k2m9q0xyz",
            "token tm_4f7k2m9q0xyz was revoked",
            "invalid token id `tm_4f7k2m9q0xyz_…`: expected only the id",
            "team_infraservice_prod",
            "tm_4f7k2m9q0xyz_short",
            "tm_4f7k2m9q0xyz_0123456789012345678",
            "tm_4F7K2M9Q0XYZ_01234567890123456789012345",
            "_4f7k2m9q0xyz_01234567890123456789012345",
            "snake_case_words_everywhere",
            "ünï_cödé",
        ] {
            assert!(
                matches!(redact(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    proptest! {
        #[test]
        fn no_surroundings_let_a_secret_through(
            before in "[ -~\u{200b}\u{202e}é]{0,20}",
            after in "[ -~\u{200b}\u{202e}é]{0,20}",
            seed in any::<[u8; 32]>(),
        ) {
            use rand::SeedableRng;
            let t = Token::generate(&Prefix::default(), &mut rand::rngs::StdRng::from_seed(seed));
            let text = format!("{before}{}{after}", t.expose());
            let shown = redact(&text);
            prop_assert!(!shown.contains(random_part(t.expose())), "{}", shown);
            prop_assert!(shown.contains(&format!("{}_…", t.id())), "{}", shown);
        }

        #[test]
        fn redaction_is_idempotent_and_total(s in "\\PC{0,200}|[a-z0-9_A-Z\u{200b}]{0,200}") {
            let once = redact(&s).into_owned();
            prop_assert_eq!(redact(&once), once.as_str());
        }
    }
}
