//! Bearer-token authentication for every route but `/healthz`, compared in constant time.

use axum::extract::{Request, State};
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

/// Middleware: rejects requests without the right bearer token with a 401 that says how
/// to get it. Runs before any body is read.
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match presented(req.headers()) {
        None => ApiError::Unauthorized(
            "missing bearer token: send `Authorization: Bearer <token>`; `wagw token` on the \
             gateway host prints it"
                .to_owned(),
        )
        .into_response(),
        Some(token) if !state.token.matches(token) => ApiError::Unauthorized(
            "wrong bearer token: `wagw token` on the gateway host prints the right one \
             (WAGW_TOKEN or gateway.token replace the generated one)"
                .to_owned(),
        )
        .into_response(),
        Some(_) => next.run(req).await,
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
