//! Bearer-token authentication for every route but `/healthz`, compared in constant time,
//! with a per-address backoff after repeated wrong tokens so the token cannot be guessed at
//! network speed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;

/// The API token. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token (already trimmed and non-empty).
    pub fn new(token: impl Into<String>) -> ApiToken {
        ApiToken(token.into())
    }

    /// The secret, for `wagw token` and the CLI's own requests.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when `presented` is the token. The comparison takes the same time wherever
    /// the first difference is (only the length can leak, which the token's format fixes).
    pub fn matches(&self, presented: &str) -> bool {
        let a = self.0.as_bytes();
        let b = presented.as_bytes();
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// The token presented in `Authorization: Bearer <token>`, if any.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Wrong tokens an address may present in a row before it must wait.
const FREE_FAILURES: u32 = 10;
/// The first wait; it doubles with every further wrong token, up to [`MAX_LOCKOUT`].
const FIRST_LOCKOUT: Duration = Duration::from_secs(1);
/// The longest wait.
const MAX_LOCKOUT: Duration = Duration::from_secs(300);
/// An address that presented no wrong token for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Addresses tracked at most; past it, the stalest entries are forgotten.
const MAX_TRACKED: usize = 10_000;

/// Wrong-token attempts per client address.
#[derive(Debug, Default)]
pub struct FailedAttempts {
    by_ip: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl FailedAttempts {
    /// While `ip` must wait: the seconds left.
    fn locked(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        let until = map.get(&ip)?.locked_until?;
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    /// Records a wrong token from `ip`; returns the wait it now has, if any.
    fn failed(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let mut map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if map.len() >= MAX_TRACKED {
                // Still full: forget the stalest address.
                if let Some(stalest) = map.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| *k) {
                    map.remove(&stalest);
                }
            }
        }
        let entry = map.entry(ip).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if now.duration_since(entry.last) >= FORGET_AFTER {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        let over = entry.count.checked_sub(FREE_FAILURES + 1)?;
        let wait = FIRST_LOCKOUT
            .saturating_mul(1u32 << over.min(16))
            .min(MAX_LOCKOUT);
        entry.locked_until = Some(now + wait);
        Some(wait)
    }

    /// The right token from `ip`: its record is cleared.
    fn succeeded(&self, ip: IpAddr) {
        let mut map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&ip);
    }
}

/// Middleware: rejects requests without the right bearer token with a 401 that says how
/// to get it; an address that presented a wrong token more than ten times in a row gets a
/// 429 with `Retry-After` (doubling up to 5 minutes) before its token is even compared.
/// Runs before any body is read.
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let now = Instant::now();
    if let Some(retry_after) = ip.and_then(|ip| state.attempts.locked(ip, now)) {
        return ApiError::TooManyAttempts { retry_after }.into_response();
    }
    match presented(req.headers()) {
        None => ApiError::Unauthorized(
            "missing bearer token: send `Authorization: Bearer <token>`; `wagw token` on the \
             gateway host prints it"
                .to_owned(),
        )
        .into_response(),
        Some(token) if !state.token.matches(token) => {
            if let Some(ip) = ip
                && let Some(wait) = state.attempts.failed(ip, now)
            {
                tracing::warn!(target: "wagw::http", %ip, wait_secs = wait.as_secs(),
                    "repeated wrong API tokens from this address; it must wait");
            }
            ApiError::Unauthorized(
                "wrong bearer token: `wagw token` on the gateway host prints the right one \
                 (WAGW_TOKEN or gateway.token replace the generated one)"
                    .to_owned(),
            )
            .into_response()
        }
        Some(_) => {
            if let Some(ip) = ip {
                state.attempts.succeeded(ip);
            }
            next.run(req).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_exact_token() {
        let t = ApiToken::new("abc123");
        assert!(t.matches("abc123"));
        assert!(!t.matches("abc124"));
        assert!(!t.matches("abc12"));
        assert!(!t.matches(""));
        assert_eq!(format!("{t:?}"), "ApiToken(<redacted>)");
    }

    #[test]
    fn ten_wrong_tokens_are_free_then_the_wait_doubles_and_success_clears_it() {
        let attempts = FailedAttempts::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap_or_else(|_| unreachable!());
        let other: IpAddr = "192.0.2.8".parse().unwrap_or_else(|_| unreachable!());
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(attempts.failed(ip, t0), None);
        }
        assert_eq!(attempts.locked(ip, t0), None);
        assert_eq!(attempts.failed(ip, t0), Some(Duration::from_secs(1)));
        assert_eq!(attempts.locked(ip, t0), Some(1));
        assert_eq!(attempts.locked(other, t0), None, "per address");
        assert_eq!(attempts.failed(ip, t0), Some(Duration::from_secs(2)));
        assert_eq!(attempts.failed(ip, t0), Some(Duration::from_secs(4)));
        assert_eq!(attempts.locked(ip, t0 + Duration::from_secs(5)), None);
        for _ in 0..20 {
            attempts.failed(ip, t0);
        }
        assert_eq!(attempts.locked(ip, t0), Some(MAX_LOCKOUT.as_secs()));
        attempts.succeeded(ip);
        assert_eq!(attempts.locked(ip, t0), None);
        // Forgotten after a quiet period.
        for _ in 0..FREE_FAILURES {
            attempts.failed(ip, t0);
        }
        assert_eq!(attempts.failed(ip, t0 + FORGET_AFTER), None);
    }

    #[test]
    fn reads_the_bearer_scheme_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "bearer  tok ".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(presented(&h), Some("tok"));
        h.insert(
            header::AUTHORIZATION,
            "Basic dXNlcg==".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(presented(&h), None);
    }
}
