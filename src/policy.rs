//! The values `verify` enforces and the text users give: scopes, rate limits, IP and origin
//! allow-lists, user names and free text. Each is parsed strictly once, at the command line,
//! and validated again when read back from the store (through serde's `try_from`).
//!
//! Must never: accept a value it cannot later match exactly, or panic on any input.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::render::escape;

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
    pub fn parse(s: &str) -> Result<Scope> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:*-".contains(&b));
        if ok {
            Ok(Scope(s.to_owned()))
        } else {
            Err(Error::usage(format!(
                "invalid scope `{}`: expected 1 to 64 characters of A-Z a-z 0-9 _ . : * -, like posts:read",
                escape(s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this granted scope covers `wanted`: the same scope; `*`, which covers all; or
    /// `x:*`, which covers every scope starting with `x:`. A `*` anywhere else is literal.
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

/// The first scope of `wanted` that nothing in `granted` covers.
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
}

impl Per {
    pub fn secs(self) -> i64 {
        match self {
            Per::S => 1,
            Per::Min => 60,
            Per::H => 3_600,
            Per::Day => 86_400,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Per::S => "s",
            Per::Min => "min",
            Per::H => "h",
            Per::Day => "day",
        }
    }
}

/// At most `limit` uses per unit: `60/min`, `10000/day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    pub limit: u32,
    pub per: Per,
}

impl RateLimit {
    pub fn parse(s: &str) -> Result<RateLimit> {
        let invalid = || {
            Error::usage(format!(
                "invalid rate limit `{}`: expected N/UNIT with N at least 1 and UNIT one of s, min, h, day, like 60/min",
                escape(s)
            ))
        };
        let (n, unit) = s.trim().split_once('/').ok_or_else(invalid)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let limit: u32 = n.parse().map_err(|_| invalid())?;
        let per = match unit {
            "s" => Per::S,
            "min" => Per::Min,
            "h" => Per::H,
            "day" => Per::Day,
            _ => return Err(invalid()),
        };
        if limit == 0 {
            return Err(invalid());
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

/// An IPv4-mapped IPv6 address is the IPv4 address it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An allowed network: a CIDR, or a bare address meaning /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpAllow(ipnet::IpNet);

impl IpAllow {
    pub fn parse(s: &str) -> Result<IpAllow> {
        let t = s.trim();
        let net = match t.parse::<ipnet::IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => match t.parse::<IpAddr>() {
                Ok(ip) => ipnet::IpNet::from(canonical(ip)),
                Err(_) => {
                    return Err(Error::usage(format!(
                        "invalid IP allow-list entry `{}`: expected an address or CIDR, like 10.0.0.0/8 or 2001:db8::/32",
                        escape(s)
                    )));
                }
            },
        };
        Ok(IpAllow(net))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }
}

impl fmt::Display for IpAllow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
string_newtype!(IpAllow);

/// The address given to `verify --ip`.
pub fn parse_ip(s: &str) -> Result<IpAddr> {
    s.trim().parse::<IpAddr>().map(canonical).map_err(|_| {
        Error::usage(format!(
            "invalid IP address `{}`: expected an IPv4 or IPv6 address",
            escape(s)
        ))
    })
}

/// A web origin, `scheme://host[:port]`, normalised so equal origins compare equal:
/// lower-case scheme and host, the default port (http 80, https 443) dropped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

fn valid_dns(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Origin {
    pub fn parse(s: &str) -> Result<Origin> {
        let invalid = |why: &str| {
            Error::usage(format!(
                "invalid origin `{}`: {why}; expected scheme://host[:port], like https://app.example.com",
                escape(s)
            ))
        };
        let t = s.trim();
        let t = t.strip_suffix('/').unwrap_or(t);
        let (scheme, rest) = t.split_once("://").ok_or_else(|| invalid("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        let mut sb = scheme.bytes();
        if !sb.next().is_some_and(|b| b.is_ascii_lowercase())
            || !sb.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(&b))
        {
            return Err(invalid("bad scheme"));
        }
        if rest.contains(['/', '?', '#', '@']) {
            return Err(invalid("an origin has no path, query, fragment or user"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| invalid("bad IPv6 host"))?;
            let ip: std::net::Ipv6Addr = addr.parse().map_err(|_| invalid("bad IPv6 host"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| invalid("bad port"))?),
            };
            (format!("[{ip}]"), port)
        } else {
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let host = host.to_ascii_lowercase();
            if !valid_dns(&host) {
                return Err(invalid("bad host"));
            }
            (host, port)
        };
        let port = match port {
            None => None,
            Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u16>() {
                    Ok(0) | Err(_) => return Err(invalid("bad port")),
                    Ok(n) => Some(n),
                }
            }
            Some(_) => return Err(invalid("bad port")),
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

/// User names: non-empty UTF-8, at most 256 bytes, no control characters; compared exactly.
pub fn validate_user(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::usage("the user name is empty"));
    }
    if s.len() > 256 {
        return Err(Error::usage(format!(
            "the user name is {} bytes long; at most 256 are allowed",
            s.len()
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::usage(format!(
            "the user name `{}` contains control characters",
            escape(s)
        )));
    }
    Ok(())
}

/// Free text (a token's name or description, a revoke reason, a slot label).
pub fn validate_text(what: &str, s: &str, max_bytes: usize) -> Result<()> {
    if s.len() > max_bytes {
        return Err(Error::usage(format!(
            "the {what} is {} bytes long; at most {max_bytes} are allowed",
            s.len()
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::usage(format!(
            "the {what} `{}` contains control characters",
            escape(s)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sc(s: &str) -> Scope {
        Scope::parse(s).unwrap()
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
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "posts read", "posts/read", "é", &"x".repeat(65), "a\n"] {
            assert_eq!(Scope::parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn scope_wildcards() {
        assert!(sc("posts:*").grants(&sc("posts:read")));
        assert!(sc("posts:*").grants(&sc("posts:read:own")));
        assert!(!sc("posts:*").grants(&sc("posts")));
        assert!(!sc("posts:*").grants(&sc("postsx:read")));
        assert!(sc("*").grants(&sc("anything:at:all")));
        assert!(!sc("po*").grants(&sc("posts")));
        assert!(sc("po*").grants(&sc("po*")));
        assert!(!sc("posts:read").grants(&sc("posts:*")));
        let granted = [sc("posts:read"), sc("users:*")];
        assert_eq!(
            missing_scope(&granted, &[sc("posts:read"), sc("users:x")]),
            None
        );
        assert_eq!(
            missing_scope(&granted, &[sc("posts:read"), sc("posts:write")]),
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
            RateLimit::parse("10000/day").unwrap().to_string(),
            "10000/day"
        );
        assert_eq!(RateLimit::parse("1/s").unwrap().per.secs(), 1);
        assert_eq!(RateLimit::parse("5/h").unwrap().per.secs(), 3600);
        for bad in [
            "",
            "60",
            "0/min",
            "-1/min",
            "60/m",
            "60/minute",
            "1.5/s",
            "/s",
            "99999999999/s",
            "60/ min",
        ] {
            assert_eq!(RateLimit::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        let json = serde_json::to_string(&RateLimit::parse("60/min").unwrap()).unwrap();
        assert_eq!(json, r#"{"limit":60,"per":"min"}"#);
    }

    #[test]
    fn ip_allow_lists() {
        let net = IpAllow::parse("10.1.2.3/8").unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains("10.200.0.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one = IpAllow::parse("192.168.1.5").unwrap();
        assert_eq!(one.to_string(), "192.168.1.5/32");
        assert!(one.contains("192.168.1.5".parse().unwrap()));
        assert!(!one.contains("192.168.1.6".parse().unwrap()));
        let v6 = IpAllow::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert_eq!(IpAllow::parse("::1").unwrap().to_string(), "::1/128");
        for bad in [
            "",
            "10.0.0.0/33",
            "300.1.1.1",
            "10.0.0.0/",
            "example.com",
            "::g",
        ] {
            assert_eq!(IpAllow::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        assert_eq!(
            parse_ip("::ffff:1.2.3.4").unwrap(),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert!(parse_ip("1.2.3").is_err());
        let back: IpAllow = serde_json::from_str("\"10.0.0.0/8\"").unwrap();
        assert_eq!(back, net);
        assert!(serde_json::from_str::<IpAllow>("\"nope\"").is_err());
    }

    #[test]
    fn origins_normalise() {
        let o = |s: &str| Origin::parse(s).unwrap().to_string();
        assert_eq!(o("https://App.Example.COM"), "https://app.example.com");
        assert_eq!(o("HTTPS://app.example.com:443/"), "https://app.example.com");
        assert_eq!(o("http://localhost:80"), "http://localhost");
        assert_eq!(o("http://localhost:8080"), "http://localhost:8080");
        assert_eq!(o("https://example.com:80"), "https://example.com:80");
        assert_eq!(
            o("https://[2001:DB8::1]:8443"),
            "https://[2001:db8::1]:8443"
        );
        assert_eq!(o("https://10.0.0.1"), "https://10.0.0.1");
        assert_eq!(o("app://x"), "app://x");
        for bad in [
            "",
            "example.com",
            "https://",
            "https://a/b",
            "https://a?x",
            "https://u@a",
            "https://a:0",
            "https://a:65536",
            "https://a:x",
            "1ttp://a",
            "https://-a.com",
            "https://a..b",
            "https://[::1",
        ] {
            assert_eq!(Origin::parse(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn users_and_text() {
        assert!(validate_user("alice").is_ok());
        assert!(validate_user("Ünïcødé user@example.com").is_ok());
        assert!(validate_user(&"x".repeat(256)).is_ok());
        for bad in ["", "a\nb", "a\u{1b}[31m", "\u{0}", &"x".repeat(257)] {
            assert_eq!(validate_user(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        assert!(validate_text("name", "deploy bot", 10).is_ok());
        assert!(validate_text("name", "deploy bot!", 10).is_err());
        assert!(validate_text("reason", "a\tb", 100).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = Scope::parse(&s);
            let _ = RateLimit::parse(&s);
            let _ = IpAllow::parse(&s);
            let _ = parse_ip(&s);
            let _ = Origin::parse(&s);
            let _ = validate_user(&s);
        }

        #[test]
        fn parsed_values_round_trip(s in "[a-z]{1,10}(:[a-z*]{1,5})?", n in 1u32.., u in 0usize..4) {
            if let Ok(scope) = Scope::parse(&s) {
                prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope);
            }
            let unit = ["s", "min", "h", "day"][u];
            let rl = RateLimit::parse(&format!("{n}/{unit}")).unwrap();
            prop_assert_eq!(RateLimit::parse(&rl.to_string()).unwrap(), rl);
        }

        #[test]
        fn cidrs_contain_their_network(a in any::<u32>(), len in 0u8..=32) {
            let ip = std::net::Ipv4Addr::from(a);
            let allow = IpAllow::parse(&format!("{ip}/{len}")).unwrap();
            prop_assert!(allow.contains(IpAddr::V4(ip)));
            prop_assert_eq!(IpAllow::parse(&allow.to_string()).unwrap(), allow);
        }

        #[test]
        fn origins_are_idempotent(host in "[a-z]{1,10}(\\.[a-z]{2,5})?", port in proptest::option::of(1u16..)) {
            let text = match port { Some(p) => format!("https://{host}:{p}"), None => format!("https://{host}") };
            let o = Origin::parse(&text).unwrap();
            prop_assert_eq!(Origin::parse(o.as_str()).unwrap(), o);
        }
    }
}
