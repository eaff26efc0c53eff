//! Graph API errors, turned into messages an operator can act on, and webhook errors.

use serde::Deserialize;
use thiserror::Error;
use wagw_core::SocketError;

/// Graph error: outside the 24-hour customer-service window.
pub const CODE_REENGAGEMENT: i64 = 131047;
/// Graph error: the access token is invalid or expired.
pub const CODE_TOKEN: i64 = 190;
/// Graph errors that mean "slow down": app rate limit (4), WABA throughput (80007), Cloud
/// API throughput (130429), too many messages to one recipient (131056).
pub const RATE_LIMIT_CODES: [i64; 4] = [4, 80007, 130429, 131056];

/// An error as the Graph API reports it: `{"error": {"message", "type", "code",
/// "error_subcode", "error_data": {"details"}, "fbtrace_id"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Graph error {code} (HTTP {http_status}): {message}")]
pub struct GraphError {
    /// The HTTP status of the answer.
    pub http_status: u16,
    /// Meta's error code.
    pub code: i64,
    /// Meta's subcode, when given.
    pub subcode: Option<i64>,
    /// Meta's message (`error_data.details` appended when present).
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope {
    error: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

impl GraphError {
    /// Reads an error answer. A body that is not Meta's shape still gives an error naming
    /// the HTTP status and the start of the body.
    pub fn from_response(http_status: u16, body: &[u8]) -> GraphError {
        match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope { error }) => {
                let mut message = error.message;
                if let Some(details) = error.error_data.and_then(|d| d.details)
                    && !details.is_empty()
                    && !message.contains(&details)
                {
                    message = format!("{message} ({details})");
                }
                GraphError {
                    http_status,
                    code: error.code,
                    subcode: error.error_subcode,
                    message,
                }
            }
            Err(_) => GraphError {
                http_status,
                code: 0,
                subcode: None,
                message: format!(
                    "unexpected answer: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            },
        }
    }

    /// True when Meta asks to slow down; such sends are retried with backoff.
    pub fn is_rate_limit(&self) -> bool {
        self.http_status == 429 || RATE_LIMIT_CODES.contains(&self.code)
    }

    /// True when the access token is invalid or expired.
    pub fn is_token_error(&self) -> bool {
        self.code == CODE_TOKEN || self.http_status == 401
    }

    /// What the operator should read, and the [`SocketError`] the gateway handles.
    pub fn to_socket_error(&self) -> SocketError {
        let code = self.code;
        let status = self.http_status;
        let meta = &self.message;
        match code {
            CODE_REENGAGEMENT => SocketError::Rejected {
                code: status,
                detail: format!(
                    "the customer has not written in 24 h; a template message is required \
                     (Graph error {code}: {meta})"
                ),
            },
            _ if self.is_token_error() => SocketError::Rejected {
                code: 401,
                detail: token_advice(code, meta),
            },
            _ if self.is_rate_limit() => SocketError::Rejected {
                code: 429,
                detail: format!(
                    "Meta is rate-limiting this number (Graph error {code}: {meta}); wagw \
                     retried with backoff and gave up; send less often, or to fewer people at once"
                ),
            },
            // 131026: undeliverable (not on WhatsApp, old app, terms not accepted); 1013:
            // invalid user.
            131026 | 1013 => SocketError::NotFound(format!(
                "the recipient is not on WhatsApp or cannot receive this message \
                 (Graph error {code}: {meta})"
            )),
            131030 => SocketError::Rejected {
                code: status,
                detail: format!(
                    "the recipient is not in the test number's allowed list: add it in Meta's \
                     dashboard (WhatsApp → API Setup → To) or use a production number \
                     (Graph error {code}: {meta})"
                ),
            },
            131053 | 131052 => SocketError::InvalidRequest(format!(
                "WhatsApp could not take this media (too large or an unsupported type; \
                 Graph error {code}: {meta})"
            )),
            133010 => SocketError::Rejected {
                code: status,
                detail: format!(
                    "the phone number is not registered with the Cloud API: register it in \
                     Meta's dashboard (Graph error {code}: {meta})"
                ),
            },
            131031 | 368 => SocketError::Rejected {
                code: status,
                detail: format!(
                    "Meta has locked or restricted this business account; check Business \
                     Support Home (Graph error {code}: {meta})"
                ),
            },
            132000..=132999 => SocketError::InvalidRequest(format!(
                "the template was refused (Graph error {code}: {meta}); check its name, \
                 language and parameters in WhatsApp Manager"
            )),
            100 => SocketError::InvalidRequest(format!("Graph error {code}: {meta}")),
            _ if status == 404 => SocketError::NotFound(format!("Graph error {code}: {meta}")),
            _ if status >= 500 => SocketError::Interrupted(format!(
                "Meta's servers failed (HTTP {status}, Graph error {code}: {meta})"
            )),
            _ => SocketError::Rejected {
                code: status,
                detail: format!("Graph error {code}: {meta}"),
            },
        }
    }
}

/// The message for an invalid or expired access token.
pub(crate) fn token_advice(code: i64, meta: &str) -> String {
    format!(
        "Meta refused the access token: it is invalid or expired (Graph error {code}: {meta}); \
         create a new one (a System User token does not expire) and set cloud.accessToken or \
         WHATSAPP_ACCESS_TOKEN"
    )
}

/// Why a webhook request was refused. [`WebhookError::status`] is the HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WebhookError {
    /// `hub.mode` was not `subscribe` or `hub.verify_token` did not match.
    #[error("webhook verification refused: {0}")]
    VerificationRefused(&'static str),
    /// The account has no `cloud.verifyToken`, so no verification can succeed.
    #[error("webhook verification refused: the account has no cloud.verifyToken")]
    NoVerifyToken,
    /// No `X-Hub-Signature-256` header although an app secret is configured.
    #[error("the X-Hub-Signature-256 header is missing")]
    MissingSignature,
    /// The signature does not match the body.
    #[error("the X-Hub-Signature-256 signature does not match the body")]
    BadSignature,
    /// The body is not a WhatsApp webhook payload.
    #[error("the webhook body is not a WhatsApp Business Account payload: {0}")]
    Malformed(String),
    /// The account is not connected, so nothing can take the messages now; Meta retries.
    #[error("the account is not connected; Meta will retry the webhook")]
    NotConnected,
    /// The gateway did not commit the messages (busy, or an error); Meta retries.
    #[error("the messages were not committed: {0}; Meta will retry the webhook")]
    NotCommitted(String),
}

impl WebhookError {
    /// The HTTP status to answer with: 403 for verification, 401 for signatures, 400 for
    /// bodies, 503 when Meta should retry.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::VerificationRefused(_) | WebhookError::NoVerifyToken => 403,
            WebhookError::MissingSignature | WebhookError::BadSignature => 401,
            WebhookError::Malformed(_) => 400,
            WebhookError::NotConnected | WebhookError::NotCommitted(_) => 503,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, code: i64) -> SocketError {
        let body =
            format!(r#"{{"error":{{"message":"m","type":"OAuthException","code":{code}}}}}"#);
        GraphError::from_response(status, body.as_bytes()).to_socket_error()
    }

    #[test]
    fn window_error_asks_for_a_template() {
        let e = err(400, 131047).to_string();
        assert!(
            e.contains("the customer has not written in 24 h; a template message is required"),
            "{e}"
        );
    }

    #[test]
    fn token_error_says_how_to_fix() {
        let e = err(401, 190).to_string();
        assert!(
            e.contains("invalid or expired") && e.contains("cloud.accessToken"),
            "{e}"
        );
    }

    #[test]
    fn rate_limits_and_recipients() {
        assert!(err(400, 130429).to_string().contains("rate-limiting"));
        assert!(err(400, 131056).to_string().contains("rate-limiting"));
        assert!(
            matches!(err(400, 131026), SocketError::NotFound(m) if m.contains("not on WhatsApp"))
        );
        assert!(
            matches!(err(400, 131053), SocketError::InvalidRequest(m) if m.contains("too large"))
        );
        assert!(err(503, 1).is_transient());
    }

    #[test]
    fn non_meta_bodies_still_name_the_status() {
        let g = GraphError::from_response(502, b"<html>bad gateway</html>");
        assert_eq!(g.http_status, 502);
        assert!(g.message.contains("bad gateway"));
    }

    #[test]
    fn details_are_kept() {
        let g = GraphError::from_response(
            400,
            br#"{"error":{"message":"(#131047) Re-engagement message","code":131047,"error_data":{"details":"More than 24 hours have passed"}}}"#,
        );
        assert!(g.message.contains("More than 24 hours"));
    }
}
