//! Who is asking: the connection's peer, and the client address a request is checked with.
//!
//! The address comes from the peer itself, or from `X-Forwarded-For` / `X-Real-IP` only when
//! the peer is a trusted proxy (`--trusted-proxy`, or any peer of the Unix socket, whose mode
//! decides who may connect). From `X-Forwarded-For` it is the right-most address that is not
//! itself a trusted proxy: every hop left of that one could have been written by the client.

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::Connected;
use axum::http::HeaderMap;
use axum::serve::{IncomingStream, Listener};
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream, UnixListener};

/// A TCP listener whose connections send each answer at once (`TCP_NODELAY`).
pub struct Tcp(pub TcpListener);

impl Listener for Tcp {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        // Answers are small and written whole: never wait to coalesce them.
        let _ = stream.set_nodelay(true);
        (stream, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// The other end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Ip(IpAddr),
    /// A peer of the Unix socket: a local process the socket's mode let in.
    Unix,
}

impl Connected<IncomingStream<'_, Tcp>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Tcp>) -> Peer {
        Peer::Ip(canonical(stream.remote_addr().ip()))
    }
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(_: IncomingStream<'_, UnixListener>) -> Peer {
        Peer::Unix
    }
}

/// An IPv4 peer on a dual-stack socket is seen as `::ffff:a.b.c.d`; allow-lists name it as v4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address to check a request with; `None` when a trusted proxy's headers name no
/// usable one (a token with an IP allow-list is then denied: it fails closed).
pub fn client_ip(peer: Peer, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    match peer {
        Peer::Ip(ip) if !is_trusted(&ip) => Some(ip),
        Peer::Ip(ip) => forwarded(headers, &is_trusted).unwrap_or(Some(ip)),
        Peer::Unix => forwarded(headers, &is_trusted).unwrap_or(None),
    }
}

/// What a trusted proxy's headers say: `None` when it sent neither header, `Some(None)` when
/// what it sent names no usable address.
fn forwarded(headers: &HeaderMap, is_trusted: &dyn Fn(&IpAddr) -> bool) -> Option<Option<IpAddr>> {
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("garbage"))
        .collect();
    if !xff.is_empty() {
        // Several header lines are one list, in order.
        let hops: Vec<&str> = xff.iter().flat_map(|v| v.split(',')).collect();
        let mut last = None;
        for hop in hops.iter().rev() {
            let Some(ip) = address(hop) else {
                // Something no proxy writes: whatever is left of it is the client's word.
                return Some(None);
            };
            if !is_trusted(&ip) {
                return Some(Some(ip));
            }
            last = Some(ip);
        }
        // Every hop is a trusted proxy: the left-most is as near the client as there is.
        return Some(last);
    }
    let real = headers.get("x-real-ip")?;
    Some(real.to_str().ok().and_then(address))
}

/// One hop: an address, maybe with a port (`1.2.3.4:5678`, `[::1]:80`).
fn address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[("x-forwarded-for", "10.9.9.9"), ("x-real-ip", "10.8.8.8")]);
        let trusted = ["127.0.0.1/32".parse().unwrap()];
        assert_eq!(
            client_ip(Peer::Ip(ip("192.0.2.1")), &h, &trusted),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn a_trusted_peer_gives_the_right_most_untrusted_hop() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1")]);
        assert_eq!(
            client_ip(Peer::Ip(ip("127.0.0.1")), &h, &trusted),
            Some(ip("203.0.113.7"))
        );
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "10.1.1.1"),
        ]);
        assert_eq!(
            client_ip(Peer::Ip(ip("127.0.0.1")), &split, &trusted),
            Some(ip("6.6.6.6"))
        );
        let real = headers(&[("x-real-ip", "203.0.113.9")]);
        assert_eq!(
            client_ip(Peer::Ip(ip("127.0.0.1")), &real, &trusted),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_ip(Peer::Ip(ip("127.0.0.1")), &HeaderMap::new(), &trusted),
            Some(ip("127.0.0.1"))
        );
        let garbage = headers(&[("x-forwarded-for", "203.0.113.7, nonsense, 10.1.1.1")]);
        assert_eq!(
            client_ip(Peer::Ip(ip("127.0.0.1")), &garbage, &trusted),
            None
        );
        let ported = headers(&[("x-forwarded-for", "[2001:db8::1]:443")]);
        assert_eq!(
            client_ip(Peer::Ip(ip("127.0.0.1")), &ported, &trusted),
            Some(ip("2001:db8::1"))
        );
    }

    #[test]
    fn a_unix_peer_is_a_proxy_and_without_headers_gives_no_address() {
        let h = headers(&[("x-real-ip", "203.0.113.9")]);
        assert_eq!(client_ip(Peer::Unix, &h, &[]), Some(ip("203.0.113.9")));
        assert_eq!(client_ip(Peer::Unix, &HeaderMap::new(), &[]), None);
    }

    #[test]
    fn a_mapped_v4_peer_is_v4() {
        assert_eq!(canonical(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }
}
