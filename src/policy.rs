//! The values `verify` enforces and the text users give: scopes, rate limits, IP and origin
//! allow-lists, user names and free text. Each is parsed strictly once, at the command line, and
//! validated again when read back from storage (through serde's `try_from`).
//!
//! This module owns the syntax and the matching rules of these values; it keeps no state and
//! counts nothing (rate-limit windows live elsewhere).
//!
//! Must never: accept a value it cannot later match exactly, normalise two different values to
//! one or one value to two, echo control characters or unbounded input in a message, or panic on
//! any input.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How many characters of a bad value an error message shows.
const QUOTE_MAX: usize = 64;

/// A bad value made safe to put between backticks in a message: through the one escaper,
/// [`crate::text::escape`] (anything token-shaped shown as its id and `_…`, control and format
/// characters escaped), and long values cut short. Redacted before it is cut, so a cut can
/// never leave a secret's first characters showing.
pub(crate) fn quote(s: &str) -> String {
    let redacted = crate::token::redact(s);
    let mut chars = redacted.chars();
    let head: String = chars.by_ref().take(QUOTE_MAX).collect();
    let mut out = crate::text::escape(&head).into_owned();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Serde and `FromStr` through `parse`, so a stored value is held to the same rules as a typed
/// one and serialises as its normalised text.
macro_rules! string_newtype {
    ($t:ident) => {
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(s: String) -> std::result::Result<$t, String> {
                $t::parse(&s).map_err(|e| e.to_string())
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<$t> {
                $t::parse(s)
            }
        }
    };
}

/// A permission like `posts:read`: 1–64 characters of `[A-Za-z0-9_.:*-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    /// No trimming: a scope is an exact string, and `posts:read ` is a typo worth reporting.
    pub fn parse(s: &str) -> Result<Scope> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:*-".contains(&b));
        if ok {
            Ok(Scope(s.to_owned()))
        } else {
            Err(Error::usage(format!(
                "invalid scope `{}`: expected 1 to 64 characters of A-Z a-z 0-9 _ . : * -, like posts:read",
                quote(s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this granted scope covers `wanted`: the same scope; `*`, which covers all; or
    /// `x:*`, which covers every scope starting with `x:` (but not `x` itself nor `xy:…`). A `*`
    /// anywhere else is literal, so a scope never grants more than it visibly says.
    pub fn grants(&self, wanted: &Scope) -> bool {
        if self.0 == wanted.0 || self.0 == "*" {
            return true;
        }
        match self.0.strip_suffix('*') {
            Some(stem) if stem.ends_with(':') => wanted.0.starts_with(stem),
            _ => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype!(Scope);

/// The first scope of `wanted` that nothing in `granted` covers, to name it in the denial.
pub fn missing_scope<'a>(granted: &[Scope], wanted: &'a [Scope]) -> Option<&'a Scope> {
    wanted.iter().find(|w| !granted.iter().any(|g| g.grants(w)))
}

/// The unit of a rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    S,
    Min,
    H,
    Day,
    Week,
}

impl Per {
    /// The window length, for counting uses.
    pub fn secs(self) -> i64 {
        match self {
            Per::S => 1,
            Per::Min => 60,
            Per::H => 3_600,
            Per::Day => 86_400,
            Per::Week => 604_800,
        }
    }

    /// The unit as written on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Per::S => "s",
            Per::Min => "min",
            Per::H => "h",
            Per::Day => "day",
            Per::Week => "week",
        }
    }
}

/// At most `limit` uses per unit: `60/min`, `10000/day`. JSON form `{"limit": 60, "per": "min"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRateLimit")]
pub struct RateLimit {
    pub limit: u32,
    pub per: Per,
}

/// The JSON shape of a rate limit before the `limit >= 1` check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    limit: u32,
    per: Per,
}

impl TryFrom<RawRateLimit> for RateLimit {
    type Error = String;
    fn try_from(raw: RawRateLimit) -> std::result::Result<RateLimit, String> {
        if raw.limit == 0 {
            return Err("invalid rate limit: the limit must be at least 1".into());
        }
        Ok(RateLimit {
            limit: raw.limit,
            per: raw.per,
        })
    }
}

impl RateLimit {
    /// Surrounding whitespace is ignored; inside, exactly `N/UNIT`.
    pub fn parse(s: &str) -> Result<RateLimit> {
        let t = s.trim();
        let invalid = || {
            Error::usage(format!(
                "invalid rate limit `{}`: expected N/UNIT with N a whole number from 1 to {} and UNIT one of s, m (or min), h, d (or day), w (or week), like 60/min",
                quote(t),
                u32::MAX
            ))
        };
        let (n, unit) = t.split_once('/').ok_or_else(invalid)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let limit: u32 = n.parse().map_err(|_| invalid())?;
        let per = match unit {
            "s" => Per::S,
            "m" | "min" => Per::Min,
            "h" => Per::H,
            "d" | "day" => Per::Day,
            "w" | "week" => Per::Week,
            _ => return Err(invalid()),
        };
        if limit == 0 {
            return Err(Error::usage(format!(
                "invalid rate limit `{}`: the limit must be at least 1",
                quote(t)
            )));
        }
        Ok(RateLimit { limit, per })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.limit, self.per.as_str())
    }
}

impl FromStr for RateLimit {
    type Err = Error;
    fn from_str(s: &str) -> Result<RateLimit> {
        RateLimit::parse(s)
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is the IPv4 address it maps, so a client
/// behind a dual-stack socket matches an IPv4 allow-list.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A network inside `::ffff:0:0/96` is the IPv4 network it maps, for the same reason as
/// `canonical`; any other network is unchanged.
fn canonical_net(net: ipnet::IpNet) -> ipnet::IpNet {
    if let ipnet::IpNet::V6(v6) = net
        && v6.prefix_len() >= 96
        && let Some(v4) = v6.network().to_ipv4_mapped()
        && let Ok(v4net) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return ipnet::IpNet::V4(v4net);
    }
    net
}

/// An allowed network: a CIDR, or a bare address meaning /32 or /128. Host bits are cleared
/// (`10.1.2.3/8` is `10.0.0.0/8`). Serialised as the CIDR string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpAllow(ipnet::IpNet);

impl IpAllow {
    /// Surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<IpAllow> {
        let t = s.trim();
        let net = if t.contains('/') {
            t.parse::<ipnet::IpNet>().ok()
        } else {
            t.parse::<IpAddr>().ok().map(ipnet::IpNet::from)
        };
        match net {
            Some(net) => Ok(IpAllow(canonical_net(net.trunc()))),
            None => Err(Error::usage(format!(
                "invalid IP allow-list entry `{}`: expected an address or a CIDR, like 10.0.0.0/8 or 2001:db8::/32",
                quote(t)
            ))),
        }
    }

    /// Whether `ip` is in this network; an IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }

    /// Whether every address of `other` is in this network.
    pub fn covers(&self, other: &IpAllow) -> bool {
        self.0.contains(&other.0)
    }
}

impl fmt::Display for IpAllow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
string_newtype!(IpAllow);

/// The address given to `verify --ip`, mapped to IPv4 when it is an IPv4-mapped IPv6 address.
pub fn parse_ip(s: &str) -> Result<IpAddr> {
    let t = s.trim();
    t.parse::<IpAddr>().map(canonical).map_err(|_| {
        Error::usage(format!(
            "invalid IP address `{}`: expected an IPv4 or IPv6 address, like 203.0.113.7 or 2001:db8::1",
            quote(t)
        ))
    })
}

/// A web origin, `scheme://host[:port]`, normalised so equal origins compare equal: lower-case
/// scheme and host, the default port (http 80, https 443) dropped. Serialised as that string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

/// A DNS name of letters, digits and `-` labels (already lower-cased). A name whose last label
/// is all digits must be an IPv4 address, as browsers read it; it is then re-printed in the one
/// canonical form.
fn dns_or_ipv4(host: &str) -> Option<String> {
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !labels_ok {
        return None;
    }
    let last = host.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return host.parse::<Ipv4Addr>().ok().map(|ip| ip.to_string());
    }
    Some(host.to_owned())
}

impl Origin {
    /// Hand-written and strict: anything but `scheme://host[:port]` (one trailing `/` allowed)
    /// is refused rather than guessed at, so an allow-list entry means exactly one origin.
    pub fn parse(s: &str) -> Result<Origin> {
        let t = s.trim();
        let invalid = |why: &str| {
            Error::usage(format!(
                "invalid origin `{}`: {why}; expected scheme://host[:port], like https://app.example.com",
                quote(t)
            ))
        };
        let bare = t.strip_suffix('/').unwrap_or(t);
        let (scheme, rest) = bare.split_once("://").ok_or_else(|| invalid("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        let mut sb = scheme.bytes();
        if !sb.next().is_some_and(|b| b.is_ascii_lowercase())
            || !sb.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(&b))
        {
            return Err(invalid("bad scheme"));
        }
        if rest.contains(['/', '?', '#', '@', '\\']) {
            return Err(invalid("an origin has no path, query, fragment or user"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| invalid("bad IPv6 host"))?;
            let ip: Ipv6Addr = addr.parse().map_err(|_| invalid("bad IPv6 host"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| invalid("bad port"))?),
            };
            (format!("[{ip}]"), port)
        } else {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let host =
                dns_or_ipv4(&host.to_ascii_lowercase()).ok_or_else(|| invalid("bad host"))?;
            (host, port)
        };
        let port = match port {
            None => None,
            Some(p) if (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u16>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => return Err(invalid("the port must be 1 to 65535")),
                }
            }
            Some(_) => return Err(invalid("the port must be 1 to 65535")),
        };
        let default = match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        Ok(Origin(match port {
            Some(p) if Some(p) != default => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype!(Origin);

/// What a piece of text a user gives is, for its rules: names are one line of visible text;
/// descriptions may also run over lines (inner newlines and tabs) and hold emoji joiners
/// (U+200D).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A user name, a token name, a revoke reason or a slot label.
    Name,
    /// A token's description.
    Free,
}

/// A character a name may not hold, if any, and why: controls and format characters (category
/// Cf: bidi overrides and isolates, zero-width spaces and joiners) would let a name look like
/// another or reorder the table it is shown in; leading or trailing whitespace would make
/// ` alice` and `alice` two users that look like one.
fn forbidden(s: &str, kind: TextKind) -> Option<(char, &'static str)> {
    let chars: Vec<char> = s.chars().collect();
    let (first, last) = (chars.first().copied(), chars.last().copied());
    for &c in &chars {
        if c.is_whitespace() && (Some(c) == first || Some(c) == last) {
            return Some((c, "leading or trailing whitespace"));
        }
        let inner_whitespace = kind == TextKind::Free && c.is_whitespace();
        // U+2028 and U+2029 break lines like a newline does, though Unicode files them apart.
        let breaks_lines = matches!(c, '\u{2028}' | '\u{2029}');
        if (c.is_control() || breaks_lines) && !inner_whitespace {
            return Some((c, "a control character"));
        }
        if crate::text::is_format(c) && !(kind == TextKind::Free && c == '\u{200d}') {
            return Some((c, "a format character (invisible, or reorders text)"));
        }
    }
    None
}

/// Normalise and check text a user gives: NFC (so `é` typed composed or decomposed is one
/// name), then non-empty, at most `max_bytes`, and no character [`forbidden`] names. Returns the
/// normalised text, which is what is stored and compared (case-sensitively).
pub fn normalize_text(what: &str, s: &str, max_bytes: usize, kind: TextKind) -> Result<String> {
    use unicode_normalization::UnicodeNormalization;
    let text: String = s.nfc().collect();
    if text.is_empty() {
        return Err(Error::usage(format!(
            "invalid {what}: it is empty; expected 1 to {max_bytes} bytes"
        )));
    }
    if text.len() > max_bytes {
        return Err(Error::usage(format!(
            "invalid {what} `{}`: {} bytes long, expected at most {max_bytes}",
            quote(&text),
            text.len()
        )));
    }
    if let Some((c, why)) = forbidden(&text, kind) {
        return Err(Error::usage(format!(
            "invalid {what} `{}`: U+{:04X} is {why}, which {what}s may not hold",
            quote(&text),
            u32::from(c)
        )));
    }
    Ok(text)
}

/// A user name as it is stored and compared: see [`normalize_text`].
pub fn normalize_user(s: &str) -> Result<String> {
    normalize_text("user name", s, 256, TextKind::Name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sc(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn quoting_escapes_and_bounds() {
        assert_eq!(quote("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(quote(&"x".repeat(1000)), format!("{}…", "x".repeat(64)));
        assert_eq!(quote("é"), "é");
        assert_eq!(quote("a\u{202e}b\u{2066}"), "a\\u{202e}b\\u{2066}");
    }

    #[test]
    fn quoting_never_shows_a_token() {
        let token = crate::token::Token::generate(&Default::default(), &mut rand::rng());
        let id = token.id();
        let secret = &token.expose()[id.as_str().len() + 1..];
        assert_eq!(quote(token.expose()), format!("{id}_…"));
        // Cut first, 18 characters of the body would be left, too few to count as token-shaped.
        let long = format!("{} {}", "x".repeat(29), token.expose());
        assert!(!quote(&long).contains(&secret[..10]), "{}", quote(&long));
        assert_eq!(
            quote(&format!("\u{1b}[2J{}", token.expose())),
            format!("\\u{{1b}}[2J{id}_…")
        );
    }

    #[test]
    fn scope_syntax() {
        for ok in [
            "posts:read",
            "a",
            "*",
            "posts:*",
            "A.b-c_d:e",
            &"x".repeat(64),
        ] {
            assert_eq!(Scope::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "posts read",
            "posts/read",
            "é",
            &"x".repeat(65),
            "a\n",
            " a",
        ] {
            let e = Scope::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad:?}");
            assert!(e.to_string().starts_with("invalid scope `"), "{e}");
        }
        let s: Scope = serde_json::from_str("\"posts:read\"").unwrap();
        assert_eq!(s, sc("posts:read"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"posts:read\"");
        assert!(serde_json::from_str::<Scope>("\"posts read\"").is_err());
    }

    #[test]
    fn scope_wildcards() {
        assert!(sc("posts:read").grants(&sc("posts:read")));
        assert!(!sc("posts:read").grants(&sc("posts:write")));
        assert!(sc("posts:*").grants(&sc("posts:read")));
        assert!(sc("posts:*").grants(&sc("posts:read:own")));
        assert!(!sc("posts:*").grants(&sc("posts")));
        assert!(!sc("posts:*").grants(&sc("postsx:read")));
        assert!(!sc("posts:*").grants(&sc("Posts:read")));
        assert!(sc("*").grants(&sc("anything:at:all")));
        assert!(!sc("po*").grants(&sc("posts")));
        assert!(sc("po*").grants(&sc("po*")));
        assert!(!sc("*:read").grants(&sc("posts:read")));
        assert!(!sc("posts:read").grants(&sc("posts:*")));
        assert!(!sc("posts:*").grants(&sc("*")));
        let granted = [sc("posts:read"), sc("users:*")];
        assert_eq!(
            missing_scope(&granted, &[sc("posts:read"), sc("users:x")]),
            None
        );
        assert_eq!(
            missing_scope(&granted, &[sc("posts:read"), sc("posts:write"), sc("z")]),
            Some(&sc("posts:write"))
        );
        assert_eq!(missing_scope(&[], &[sc("a")]), Some(&sc("a")));
        assert_eq!(missing_scope(&[], &[]), None);
    }

    #[test]
    fn rate_limits() {
        assert_eq!(
            RateLimit::parse("60/min").unwrap(),
            RateLimit {
                limit: 60,
                per: Per::Min
            }
        );
        assert_eq!(
            RateLimit::parse(" 10000/day ").unwrap().to_string(),
            "10000/day"
        );
        assert_eq!(RateLimit::parse("1/s").unwrap().per.secs(), 1);
        assert_eq!(RateLimit::parse("5/h").unwrap().per.secs(), 3600);
        assert_eq!(RateLimit::parse("5/day").unwrap().per.secs(), 86_400);
        assert_eq!(RateLimit::parse("4294967295/s").unwrap().limit, u32::MAX);
        // Every unit a duration takes, and the long forms.
        for (text, secs, shown) in [
            ("60/m", 60, "60/min"),
            ("10000/d", 86_400, "10000/day"),
            ("3/w", 604_800, "3/week"),
            ("3/week", 604_800, "3/week"),
        ] {
            let r = RateLimit::parse(text).unwrap();
            assert_eq!(
                (r.per.secs(), r.to_string().as_str()),
                (secs, shown),
                "{text}"
            );
        }
        for bad in [
            "",
            "60",
            "-1/min",
            "+1/min",
            "60/mins",
            "60/minute",
            "60/MIN",
            "1.5/s",
            "/s",
            "4294967296/s",
            "60/ min",
            "60 /min",
            "60/min/s",
            "١/s",
        ] {
            let e = RateLimit::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(e.to_string().starts_with("invalid rate limit `"), "{e}");
        }
        assert!(
            RateLimit::parse("0/min")
                .unwrap_err()
                .to_string()
                .ends_with("must be at least 1")
        );
        let json = serde_json::to_string(&RateLimit::parse("60/min").unwrap()).unwrap();
        assert_eq!(json, r#"{"limit":60,"per":"min"}"#);
        let back: RateLimit = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_string(), "60/min");
        for bad in [
            r#"{"limit":0,"per":"min"}"#,
            r#"{"limit":1,"per":"minute"}"#,
            r#"{"limit":-1,"per":"s"}"#,
            r#"{"limit":1}"#,
        ] {
            assert!(serde_json::from_str::<RateLimit>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&Per::Day).unwrap(), "\"day\"");
    }

    #[test]
    fn ip_allow_lists() {
        let net = IpAllow::parse("10.1.2.3/8").unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.200.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.1")));
        let one = IpAllow::parse(" 192.168.1.5 ").unwrap();
        assert_eq!(one.to_string(), "192.168.1.5/32");
        assert!(one.contains(ip("192.168.1.5")));
        assert!(!one.contains(ip("192.168.1.6")));
        let v6 = IpAllow::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        assert_eq!(IpAllow::parse("::1").unwrap().to_string(), "::1/128");
        assert_eq!(
            IpAllow::parse("2001:DB8::5/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(
            IpAllow::parse("0.0.0.0/0").unwrap().to_string(),
            "0.0.0.0/0"
        );
        // IPv4-mapped entries are the IPv4 networks they map.
        let mapped = IpAllow::parse("::ffff:10.9.8.7/104").unwrap();
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains(ip("10.1.1.1")));
        assert_eq!(
            IpAllow::parse("::ffff:1.2.3.4").unwrap().to_string(),
            "1.2.3.4/32"
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "300.1.1.1",
            "10.0.0.0/",
            "/8",
            "example.com",
            "::g",
            "10.0.0.1 /8",
            "10.0.0.0/8/8",
            "fe80::1%eth0",
            "010.0.0.1",
        ] {
            let e = IpAllow::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(
                e.to_string().starts_with("invalid IP allow-list entry `"),
                "{e}"
            );
        }
        let back: IpAllow = serde_json::from_str("\"10.0.0.0/8\"").unwrap();
        assert_eq!(back, net);
        assert_eq!(serde_json::to_string(&back).unwrap(), "\"10.0.0.0/8\"");
        assert!(serde_json::from_str::<IpAllow>("\"nope\"").is_err());
    }

    #[test]
    fn addresses_to_verify() {
        assert_eq!(parse_ip("::ffff:1.2.3.4").unwrap(), ip("1.2.3.4"));
        assert_eq!(parse_ip(" 2001:db8::1\n").unwrap(), ip("2001:db8::1"));
        assert_eq!(parse_ip("127.0.0.1").unwrap(), ip("127.0.0.1"));
        for bad in ["", "1.2.3", "1.2.3.4/32", "localhost", "::ffff:1.2.3.4.5"] {
            let e = parse_ip(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(e.to_string().starts_with("invalid IP address `"), "{e}");
        }
    }

    #[test]
    fn origins_normalise() {
        let o = |s: &str| Origin::parse(s).unwrap().to_string();
        assert_eq!(o("https://App.Example.COM"), "https://app.example.com");
        assert_eq!(o("HTTPS://app.example.com:443/"), "https://app.example.com");
        assert_eq!(o(" http://localhost:80 "), "http://localhost");
        assert_eq!(o("http://localhost:8080"), "http://localhost:8080");
        assert_eq!(o("http://localhost:08080"), "http://localhost:8080");
        assert_eq!(o("https://example.com:80"), "https://example.com:80");
        assert_eq!(o("http://example.com:443"), "http://example.com:443");
        assert_eq!(
            o("https://[2001:DB8::1]:8443"),
            "https://[2001:db8::1]:8443"
        );
        assert_eq!(o("https://[::1]:443"), "https://[::1]");
        assert_eq!(o("https://10.0.0.1"), "https://10.0.0.1");
        assert_eq!(o("https://a-b.c9.example"), "https://a-b.c9.example");
        assert_eq!(o("app+x.y-z://x:1"), "app+x.y-z://x:1");
        assert_eq!(o("https://1a.example:65535"), "https://1a.example:65535");
        for bad in [
            "",
            "example.com",
            "https://",
            "https:///",
            "://a",
            "https://a//",
            "https://a/b",
            "https://a?x",
            "https://a#x",
            "https://u@a",
            "https://u:p@a",
            "https://a\\b",
            "https://a:0",
            "https://a:65536",
            "https://a:123456",
            "https://a:x",
            "https://a:",
            "https://a:-1",
            "https://a:80:80",
            "1ttp://a",
            "ht tp://a",
            "https://-a.com",
            "https://a-.com",
            "https://a..b",
            "https://a.com.",
            "https://.a.com",
            "https://a_b.com",
            "https://a b",
            "https://é.com",
            "https://[::1",
            "https://[::1]x",
            "https://[::1]:",
            "https://[zz::1]",
            "https://[1.2.3.4]",
            "https://::1",
            "https://999.1.1.1",
            "https://1.2.3",
            "https://01.2.3.4",
            &format!("https://{}.com", "a".repeat(64)),
        ] {
            let e = Origin::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(e.to_string().starts_with("invalid origin `"), "{e}");
        }
        let back: Origin = serde_json::from_str("\"HTTPS://A.example:443\"").unwrap();
        assert_eq!(back.as_str(), "https://a.example");
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            "\"https://a.example\""
        );
        assert!(serde_json::from_str::<Origin>("\"https://a/b\"").is_err());
    }

    #[test]
    fn users_and_text() {
        let user = |s: &str| normalize_user(s);
        assert_eq!(user("alice").unwrap(), "alice");
        assert_eq!(user("Ünïcødé@example.com").unwrap(), "Ünïcødé@example.com");
        assert!(user(&"x".repeat(256)).is_ok());
        assert!(user(&"é".repeat(128)).is_ok());
        // Composed and decomposed are one name, stored composed; case still matters.
        assert_eq!(user("e\u{301}").unwrap(), "\u{e9}");
        assert_eq!(user("\u{e9}").unwrap(), "\u{e9}");
        assert_ne!(user("Alice").unwrap(), user("alice").unwrap());
        assert_eq!(user("Alice Smith").unwrap(), "Alice Smith");
        for (bad, cp) in [
            (" alice", "U+0020"),
            ("alice ", "U+0020"),
            ("alice\u{a0}", "U+00A0"),
            ("a\nb", "U+000A"),
            ("a\tb", "U+0009"),
            ("a\u{1b}[31m", "U+001B"),
            ("\u{0}", "U+0000"),
            ("\u{85}", "U+0085"),
            ("bob\u{202e}", "U+202E"),
            ("\u{2066}x\u{2069}", "U+2066"),
            ("a\u{200b}b", "U+200B"),
            ("a\u{200d}b", "U+200D"),
            ("\u{feff}a", "U+FEFF"),
        ] {
            let e = user(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad:?}");
            let text = e.to_string();
            assert!(text.starts_with("invalid user name `"), "{text}");
            assert!(text.contains(cp), "{bad:?}: {text}");
            assert!(
                !text.contains(['\n', '\u{1b}', '\u{0}', '\u{202e}']),
                "{text}"
            );
        }
        for bad in ["", &"x".repeat(257), &"é".repeat(129)] {
            assert_eq!(
                user(bad).unwrap_err().kind(),
                crate::error::ErrorKind::Usage,
                "{bad:?}"
            );
        }
        // Descriptions: inner newlines and tabs and emoji joiners are fine, the rest as for names.
        let free = |s: &str| normalize_text("description", s, 40, TextKind::Free);
        assert_eq!(free("deploys\n\tthe app").unwrap(), "deploys\n\tthe app");
        assert!(free("team \u{1f468}\u{200d}\u{1f469}").is_ok());
        for bad in [
            " x",
            "x ",
            "x\n",
            "a\u{1b}b",
            "a\u{202e}b",
            "a\u{200b}b",
            "",
        ] {
            assert_eq!(
                free(bad).unwrap_err().kind(),
                crate::error::ErrorKind::Usage,
                "{bad:?}"
            );
        }
        let e = normalize_text("name", "deploy-bot!", 10, TextKind::Name).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid name `deploy-bot!`: 11 bytes long, expected at most 10"
        );
        let e = normalize_text("name", "deploy bot ", 40, TextKind::Name).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid name `deploy bot `: U+0020 is leading or trailing whitespace, which names may not hold"
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = Scope::parse(&s);
            let _ = RateLimit::parse(&s);
            let _ = IpAllow::parse(&s);
            let _ = parse_ip(&s);
            let _ = Origin::parse(&s);
            let _ = normalize_user(&s);
            let _ = normalize_text("name", &s, 64, TextKind::Free);
        }

        #[test]
        fn near_miss_origins(s in "[a-zA-Z+]{0,6}(://)?(\\[[0-9a-fA-F:.]{0,12}\\]|[a-zA-Z0-9.\\-_@]{0,12})(:[0-9a-z]{0,6})?/?[/?#]?") {
            // Whatever parses is already normal: parsing it again gives the same origin.
            if let Ok(o) = Origin::parse(&s) {
                prop_assert_eq!(Origin::parse(o.as_str()).unwrap(), o.clone());
                prop_assert_eq!(o.as_str(), o.as_str().to_ascii_lowercase());
            }
        }

        #[test]
        fn near_miss_rate_limits_and_scopes(s in "[0-9 +\\-]{0,12}/?[a-zA-Z:*]{0,5}") {
            if let Ok(rl) = RateLimit::parse(&s) {
                prop_assert!(rl.limit >= 1);
                prop_assert_eq!(RateLimit::parse(&rl.to_string()).unwrap(), rl);
            }
            if let Ok(scope) = Scope::parse(&s) {
                prop_assert_eq!(scope.as_str(), s.as_str());
            }
        }

        #[test]
        fn near_miss_addresses(s in "[0-9a-fA-F:./ ]{0,24}") {
            if let Ok(net) = IpAllow::parse(&s) {
                prop_assert_eq!(IpAllow::parse(&net.to_string()).unwrap(), net);
            }
            if let Ok(addr) = parse_ip(&s) {
                prop_assert!(IpAllow::parse(&addr.to_string()).unwrap().contains(addr));
            }
        }

        #[test]
        fn scopes_and_rate_limits_round_trip(s in "[A-Za-z0-9_.:*-]{1,64}", n in 1u32.., u in 0usize..4) {
            let scope = Scope::parse(&s).unwrap();
            prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope.clone());
            prop_assert!(scope.grants(&scope));
            let json = serde_json::to_string(&scope).unwrap();
            prop_assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
            let unit = ["s", "min", "h", "day"][u];
            let rl = RateLimit::parse(&format!("{n}/{unit}")).unwrap();
            prop_assert_eq!(rl.limit, n);
            prop_assert_eq!(RateLimit::parse(&rl.to_string()).unwrap(), rl);
            let json = serde_json::to_string(&rl).unwrap();
            prop_assert_eq!(serde_json::from_str::<RateLimit>(&json).unwrap(), rl);
        }

        #[test]
        fn prefix_wildcards_grant_exactly_their_namespace(ns in "[a-z]{1,8}", rest in "[a-z:]{0,8}") {
            let wild = Scope::parse(&format!("{ns}:*")).unwrap();
            let candidate = format!("{ns}{rest}");
            let wanted = Scope::parse(&candidate).unwrap();
            prop_assert_eq!(wild.grants(&wanted), candidate.starts_with(&format!("{ns}:")));
        }

        #[test]
        fn cidrs_contain_their_network(a in any::<u32>(), len in 0u8..=32, other in any::<u32>()) {
            let addr = Ipv4Addr::from(a);
            let allow = IpAllow::parse(&format!("{addr}/{len}")).unwrap();
            prop_assert!(allow.contains(IpAddr::V4(addr)));
            prop_assert!(allow.contains(IpAddr::V6(addr.to_ipv6_mapped())));
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            let other_in = (a & mask) == (other & mask);
            prop_assert_eq!(allow.contains(IpAddr::V4(Ipv4Addr::from(other))), other_in);
            prop_assert_eq!(IpAllow::parse(&allow.to_string()).unwrap(), allow);
            let json = serde_json::to_string(&allow).unwrap();
            prop_assert_eq!(serde_json::from_str::<IpAllow>(&json).unwrap(), allow);
        }

        #[test]
        fn ipv6_round_trips(a in any::<u128>(), len in 0u8..=128) {
            let addr = Ipv6Addr::from(a);
            let allow = IpAllow::parse(&format!("{addr}/{len}")).unwrap();
            prop_assert!(allow.contains(IpAddr::V6(addr)));
            prop_assert_eq!(IpAllow::parse(&allow.to_string()).unwrap(), allow);
        }

        #[test]
        fn origins_round_trip(
            scheme in "(http|https|HTTP|ws|app)",
            host in "[a-zA-Z][a-zA-Z0-9]{0,8}(\\.[a-zA-Z]{2,5}){0,2}",
            port in proptest::option::of(1u16..),
            slash in any::<bool>(),
        ) {
            let mut text = format!("{scheme}://{host}");
            if let Some(p) = port {
                text.push_str(&format!(":{p}"));
            }
            if slash {
                text.push('/');
            }
            let o = Origin::parse(&text).unwrap();
            let lower = scheme.to_ascii_lowercase();
            let default = match lower.as_str() { "http" => Some(80), "https" => Some(443), _ => None };
            let expected = match port {
                Some(p) if Some(p) != default => format!("{lower}://{}:{p}", host.to_ascii_lowercase()),
                _ => format!("{lower}://{}", host.to_ascii_lowercase()),
            };
            prop_assert_eq!(o.as_str(), expected.as_str());
            prop_assert_eq!(Origin::parse(o.as_str()).unwrap(), o);
        }

        #[test]
        fn users_accept_exactly_the_rule(s in "\\PC{0,80}|[\\x00-\\x1f\\x7f a-z\u{200b}\u{202e}]{0,10}") {
            use unicode_normalization::UnicodeNormalization;
            let n: String = s.nfc().collect();
            let ok = !n.is_empty()
                && n.len() <= 256
                && !n.starts_with(char::is_whitespace)
                && !n.ends_with(char::is_whitespace)
                && !n.chars().any(|c| {
                    c.is_control() || crate::text::is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
                });
            prop_assert_eq!(normalize_user(&s).is_ok(), ok);
            // What is accepted is already normal: normalising it again changes nothing.
            if let Ok(name) = normalize_user(&s) {
                prop_assert_eq!(normalize_user(&name).unwrap(), name);
            }
        }
    }
}
