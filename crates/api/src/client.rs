//! Who the client is, and the per-client, per-tenant and per-key rate limits.
//!
//! The client's address is the TCP peer, unless the peer is one of `GUILD_TRUSTED_PROXIES`: then
//! `X-Forwarded-For` is read from the right, skipping trusted proxies, and the first address that
//! is not one of them is the client. A client that sends its own `X-Forwarded-For` to a trusted
//! proxy only adds entries to the left of the one the proxy appends, so it cannot choose its
//! bucket; without trusted proxies the header is ignored.
//!
//! Authenticated requests also count against their tenant's limit and, for an API key, the key's
//! (`GUILD_TENANT_REQUESTS_PER_MIN`, `GUILD_API_KEY_REQUESTS_PER_MIN`). The tightest decision is
//! kept in the request's extensions and answered as `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` headers; past a limit, 429 `rate_limited` with `Retry-After`.

use std::net::IpAddr;

use actix_web::HttpMessage;
use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use guild_kernel::Actor;
use guild_kernel::ports::{RateDecision, RateRule};
use ipnet::IpNet;

use crate::error::ApiError;
use crate::state::AppState;

/// The client's address, through the trusted proxies.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    let mut client = peer;
    let hops = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // An entry we cannot read: stop at the last address we can vouch for.
            break;
        };
        client = ip;
        if !is_trusted(ip, trusted) {
            break;
        }
    }
    Some(client)
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    trusted.iter().any(|net| net.contains(&ip))
}

/// The client's address as a rate-limit key part.
pub fn client_key(req: &HttpRequest, state: &AppState) -> String {
    client_ip(req, &state.trusted_proxies).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Parses `GUILD_TRUSTED_PROXIES`: comma-separated CIDRs or single addresses.
pub fn parse_proxies(value: &str) -> Option<Vec<IpNet>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .ok()
                .or_else(|| p.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect()
}

/// The rules and keys an authenticated actor counts against (a key is formatted only for a rule
/// that is set: this runs on every authenticated request).
fn actor_limits<'a>(
    state: &'a AppState,
    actor: &'a Actor,
) -> impl Iterator<Item = (RateRule, String)> + 'a {
    let tenant = state
        .limits
        .tenant
        .filter(|r| r.limit > 0)
        .map(|rule| (rule, format!("tenant:{}", actor.tenant_id)));
    let key = actor
        .api_key
        .as_ref()
        .zip(state.limits.api_key.filter(|r| r.limit > 0))
        .map(|(key, rule)| (rule, format!("key:{}", key.key_id)));
    tenant.into_iter().chain(key)
}

/// Counts the request against the actor's limits without waiting, when the limiter is in
/// process; `None` when it must ask a server (use [`limit_actor`]).
pub(crate) fn limit_actor_now(
    state: &AppState,
    req: &HttpRequest,
    actor: &Actor,
) -> Option<Result<(), ApiError>> {
    let mut tightest: Option<RateDecision> = None;
    for (rule, key) in actor_limits(state, actor) {
        let decision = state.limiter.hit_local(&key, rule)?;
        tightest = Some(tighter(tightest, decision));
    }
    Some(conclude(req, tightest))
}

/// Counts the request against the actor's limits.
pub(crate) async fn limit_actor(
    state: &AppState,
    req: &HttpRequest,
    actor: &Actor,
) -> Result<(), ApiError> {
    let mut tightest: Option<RateDecision> = None;
    for (rule, key) in actor_limits(state, actor) {
        let decision = state
            .limiter
            .hit(&key, rule)
            .await
            .map_err(|e| unavailable(&e))?;
        tightest = Some(tighter(tightest, decision));
    }
    conclude(req, tightest)
}

fn tighter(current: Option<RateDecision>, next: RateDecision) -> RateDecision {
    match current {
        Some(c) if !c.allowed || (next.allowed && c.remaining <= next.remaining) => c,
        _ => next,
    }
}

fn conclude(req: &HttpRequest, decision: Option<RateDecision>) -> Result<(), ApiError> {
    let Some(decision) = decision else {
        return Ok(());
    };
    req.extensions_mut().insert(decision);
    if decision.allowed {
        Ok(())
    } else {
        Err(limited(decision))
    }
}

pub(crate) fn unavailable(e: &guild_kernel::ports::RateLimitUnavailable) -> ApiError {
    tracing::error!(error = %e, "rate limiter unavailable");
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "rate_limiter_unavailable")
}

/// 429 `rate_limited` with `Retry-After` and the `RateLimit-*` headers of `decision`.
pub(crate) fn limited(decision: RateDecision) -> ApiError {
    limited_as(
        "rate_limited",
        "too many requests; try again later",
        decision,
    )
}

/// 429 with `code`, `Retry-After` and the `RateLimit-*` headers of `decision`.
pub(crate) fn limited_as(code: &'static str, detail: &str, decision: RateDecision) -> ApiError {
    let reset = decision.reset_after.as_secs().max(1).to_string();
    let value = |v: String| HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("0"));
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, code)
        .detail(detail)
        .header(RETRY_AFTER, value(reset.clone()))
        .header(LIMIT, value(decision.limit.to_string()))
        .header(REMAINING, value(decision.remaining.to_string()))
        .header(RESET, value(reset))
}

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Writes the request's rate-limit decision, if any, as `RateLimit-*` headers.
pub(crate) fn write_headers(req: &HttpRequest, headers: &mut HeaderMap) {
    let Some(decision) = req.extensions().get::<RateDecision>().copied() else {
        return;
    };
    let value = |v: u64| HeaderValue::from(v);
    headers.insert(LIMIT, value(u64::from(decision.limit)));
    headers.insert(REMAINING, value(u64::from(decision.remaining)));
    headers.insert(RESET, value(decision.reset_after.as_secs().max(1)));
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(f) = forwarded {
            req = req.insert_header(("x-forwarded-for", f));
        }
        req.to_http_request()
    }

    #[test]
    fn the_forwarded_address_counts_only_through_a_trusted_proxy() {
        let trusted = parse_proxies("10.0.0.0/8, 192.168.1.1").unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // No proxy configured: the header is the client's own claim and is ignored.
        assert_eq!(
            client_ip(&request("203.0.113.9:1", Some("1.2.3.4")), &[]),
            ip("203.0.113.9")
        );
        // A direct client cannot choose its bucket.
        assert_eq!(
            client_ip(&request("203.0.113.9:1", Some("1.2.3.4")), &trusted),
            ip("203.0.113.9")
        );
        // Through the proxy: the right-most untrusted hop, whatever the client prepended.
        assert_eq!(
            client_ip(
                &request("10.1.2.3:1", Some("6.6.6.6, 198.51.100.7, 10.9.9.9")),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(&request("192.168.1.1:1", None), &trusted),
            ip("192.168.1.1")
        );
        assert_eq!(
            client_ip(
                &request("10.1.2.3:1", Some("garbage, 198.51.100.7")),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert!(parse_proxies("10.0.0.0/33").is_none());
    }
}
