//! The operator console: a small web app served at `/` and `/console/` on
//! `gateway.listen`, its files embedded in the binary (no CDN, no build step).
//!
//! The pages hold no secret and need no token; the app asks for the API token, keeps it in
//! the tab's `sessionStorage` and sends it as a bearer header on every API call, like any
//! other client. The Content-Security-Policy forbids inline script, other origins and
//! framing, so injected markup could neither run nor leak the token elsewhere.
//! `docs/console.md` describes the pages.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::AppState;

const INDEX_HTML: &str = include_str!("../console/index.html");
const CONSOLE_JS: &str = include_str!("../console/console.js");
const CONSOLE_CSS: &str = include_str!("../console/console.css");

/// The console's policy: its own scripts, styles and API only; the QR arrives as a
/// `data:` PNG. No inline script or style, no plugins, no framing, no foreign forms.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The console's routes, open (the app itself authenticates every API call).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(index))
        .route("/console/console.js", get(script))
        .route("/console/console.css", get(style))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // A new binary serves new files: never let a browser keep an old app.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", CONSOLE_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", CONSOLE_CSS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style_and_loads_only_its_own_files() {
        assert!(!INDEX_HTML.contains("<script>"), "inline script");
        assert!(!INDEX_HTML.contains("style="), "inline style");
        let handler = INDEX_HTML.split(" on").skip(1).find(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handler, None, "inline event handler");
        assert!(!INDEX_HTML.contains("http://") && !INDEX_HTML.contains("https://"));
        assert!(INDEX_HTML.contains("src=\"/console/console.js\""));
        assert!(INDEX_HTML.contains("href=\"/console/console.css\""));
    }

    #[test]
    fn the_script_never_puts_the_token_in_a_url_or_writes_html() {
        assert!(!CONSOLE_JS.contains(".innerHTML"));
        assert!(!CONSOLE_JS.contains(".outerHTML"));
        assert!(!CONSOLE_JS.contains("new EventSource"));
        assert!(!CONSOLE_JS.contains("token="));
        assert!(CONSOLE_JS.contains("sessionStorage"));
        assert!(!CONSOLE_JS.contains("localStorage"));
    }
}
