//! The one error shape every route answers with:
//! `{"error": {"code": "...", "message": "...", "field": "to"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use utoipa::ToSchema;

/// An API failure: what went wrong, which HTTP status it maps to, and what to do next.
///
/// [`crate::GatewayApi`] implementations return it; the handlers turn it into the JSON
/// body above. Messages are written for a person: they name the field or the command that
/// fixes the problem.
// Some variants are built only by GatewayApi implementations (the runtime adapter).
#[allow(dead_code)]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiError {
    /// 401: no token, or the wrong one.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the operation is turned off by config (e.g. `actions.reactions: false`).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such account, pairing code, media file, route.
    #[error("{message}")]
    NotFound {
        /// Machine-readable code (`unknown_account`, `unknown_code`, ...).
        code: &'static str,
        /// What was not found and how to find the right one.
        message: String,
    },
    /// 405: the route exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: the request conflicts with the current state (already linked, ...).
    #[error("{message}")]
    Conflict {
        /// Machine-readable code.
        code: &'static str,
        /// What the state is and how to proceed.
        message: String,
    },
    /// 408: the request body did not arrive in time.
    #[error("the request body did not arrive within {secs} s: send the whole body at once")]
    BodyTimeout {
        /// The body read timeout in seconds.
        secs: u64,
    },
    /// 429: this client failed authentication too often; it must wait.
    #[error(
        "too many failed token attempts from this address: retry in {retry_after} s with the right token (`wagw token` on the gateway host prints it)"
    )]
    TooManyAttempts {
        /// Seconds until the next attempt is considered (sent as `Retry-After`).
        retry_after: u64,
    },
    /// 413: the body is larger than the route accepts.
    #[error("request body too large: this route accepts at most {limit} bytes{hint}")]
    TooLarge {
        /// The route's limit in bytes.
        limit: usize,
        /// Extra advice (e.g. send media by path or URL instead of base64).
        hint: &'static str,
    },
    /// 415: the body is not JSON.
    #[error("unsupported content type {0:?}: send a JSON body with Content-Type: application/json")]
    UnsupportedMediaType(String),
    /// 422: the body is not valid JSON, or a field is missing or wrong.
    #[error("{message}")]
    Invalid {
        /// The dotted path of the offending field (`to`, `media[1].base64`), when one is to blame.
        field: Option<String>,
        /// What is wrong and what is expected.
        message: String,
    },
    /// 503: the gateway cannot do it right now (no live connection, shutting down, starting).
    #[error("{message}")]
    Unavailable {
        /// Machine-readable code (`no_active_listener`, `shutting_down`, ...).
        code: &'static str,
        /// Why, and the command that fixes it.
        message: String,
    },
    /// 502: WhatsApp (or the transport) failed the operation.
    #[error("{0}")]
    Upstream(String),
    /// 502: part of a send went out before WhatsApp refused the rest; `sent` lists the
    /// message ids that reached the chat, so a retry sends only what is missing.
    #[error("{message}")]
    PartlySent {
        /// What failed, and what was sent.
        message: String,
        /// The ids of the messages that did go out.
        sent: Vec<String>,
    },
    /// 500: a bug or a broken store; the message says what failed.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A 404 for an account id the gateway does not run.
    #[allow(dead_code)] // used by GatewayApi implementations
    pub fn unknown_account(id: &str) -> ApiError {
        ApiError::NotFound {
            code: "unknown_account",
            message: format!(
                "no account {id:?}: list the configured accounts with `wagw channels status` \
                 (accounts live under channels.whatsapp.accounts in the config)"
            ),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream(_) | ApiError::PartlySent { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unavailable { code, .. } => code,
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::BodyTimeout { .. } => "body_timeout",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::TooLarge { .. } => "body_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Invalid { .. } => "invalid_request",
            ApiError::Upstream(_) => "upstream_failed",
            ApiError::PartlySent { .. } => "partly_sent",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The body sent to the client.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
                field: match self {
                    ApiError::Invalid { field, .. } => field.clone(),
                    _ => None,
                },
                sent: match self {
                    ApiError::PartlySent { sent, .. } => Some(sent.clone()),
                    _ => None,
                },
            },
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`unauthorized`, `invalid_request`, `unknown_account`, ...).
    pub code: String,
    /// What went wrong and what to do next.
    pub message: String,
    /// The request field to blame (dotted path like `media[0].url`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `partly_sent` only: the ids of the messages that reached the chat before the rest
    /// failed (do not send those again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<Vec<String>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(target: "wagw::http", code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(target: "wagw::http", code = self.code(), error = %self, "request rejected");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if let ApiError::TooManyAttempts { retry_after } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still arrive; this connection cannot be reused.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"wagw\""),
            );
        }
        response
    }
}
