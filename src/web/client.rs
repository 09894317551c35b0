//! The client's address: the socket peer, or what `X-Forwarded-For` says when the peer is a
//! proxy listed in `ORGPORTAL_TRUSTED_PROXIES`.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use ipnet::IpNet;

use crate::config::Config;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// For audit events: the address, or empty when unknown.
    pub fn to_audit_string(self) -> String {
        self.0.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

/// Walk `X-Forwarded-For` from the nearest hop outwards, skipping trusted proxies: the first
/// address not trusted is the client. A header from an untrusted peer is ignored entirely.
pub fn resolve(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<IpAddr> = forwarded_for
        .iter()
        .flat_map(|header| header.split(','))
        .map(str::trim)
        .map(|hop| hop.parse::<IpAddr>())
        .collect::<Result<_, _>>()
        // A malformed header cannot be believed at all.
        .unwrap_or_default();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    Some(client)
}

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req.app_data::<web::Data<Config>>().map(|c| c.trusted_proxies.clone()).unwrap_or_default();
        let headers: Vec<&str> = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
        let peer = req.peer_addr().map(|a| a.ip());
        ready(Ok(ClientAddr(resolve(peer, &headers, &trusted))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_header_is_ignored() {
        assert_eq!(resolve(Some(ip("203.0.113.9")), &["1.2.3.4"], &[]), Some(ip("203.0.113.9")));
    }

    #[test]
    fn trusted_proxy_passes_on_the_nearest_untrusted_hop() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(Some(ip("10.0.0.2")), &["6.6.6.6, 198.51.100.7, 10.0.0.5"], &trusted),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn malformed_header_from_trusted_proxy_falls_back_to_peer() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(resolve(Some(ip("10.0.0.2")), &["not-an-ip"], &trusted), Some(ip("10.0.0.2")));
    }
}
