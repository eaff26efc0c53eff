//! The extractors every route uses, so that every rejection is the API's JSON error (never
//! axum's plain-text 400): [`ValidJson`] enforces the route's size limit (413), the content
//! type (415) and turns every parse failure into a 422 that names the field
//! (`media[0].base64`); [`ValidQuery`] and [`ValidPath`] do the same for query and path
//! parameters (`limit`, `after`, `id`), so a client sees what to fix without reading the
//! source.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Size limit of ordinary JSON bodies: 1 MiB.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// Size limit of `POST /v1/accounts/{id}/messages`, whose media may come inline as base64:
/// 64 MiB (a 5 MB image is ~6.7 MB in base64; larger files should go by `path` or `url`).
pub const SEND_LIMIT: usize = 64 * 1024 * 1024;

/// A request body type with its limit.
pub trait JsonBody: DeserializeOwned + Send {
    /// The largest body accepted, in bytes.
    const LIMIT: usize = JSON_LIMIT;
    /// Advice appended to the 413 message.
    const TOO_LARGE_HINT: &'static str = "";
    /// Whether an empty body means `{}` (routes whose fields are all optional).
    const EMPTY_IS_OBJECT: bool = false;
}

/// A JSON body, parsed and size-checked; rejections are [`ApiError`]s.
#[derive(Debug, Clone)]
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: JsonBody> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let too_large = || ApiError::TooLarge {
            limit: T::LIMIT,
            hint: T::TOO_LARGE_HINT,
        };
        let headers = req.headers();
        if let Some(ct) = headers.get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(ApiError::UnsupportedMediaType(ct.to_owned()));
            }
        }
        // Refuse early when the client announces a body over the limit.
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > T::LIMIT as u64) {
            return Err(too_large());
        }
        let bytes = read_limited(req.into_body(), T::LIMIT)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => too_large(),
                ReadError::TimedOut => ApiError::BodyTimeout {
                    secs: BODY_READ_TIMEOUT.as_secs(),
                },
                ReadError::Broken(m) => ApiError::invalid_body(m),
            })?;
        parse(&bytes, T::EMPTY_IS_OBJECT).map(ValidJson)
    }
}

/// A raw body of at most `LIMIT` bytes (for routes that must see the exact bytes, like a
/// signed webhook), with the API's JSON errors for too large (413), too slow (408) and broken
/// bodies instead of axum's plain-text ones.
#[derive(Debug, Clone)]
pub struct LimitedBytes<const LIMIT: usize>(pub bytes_alias::Bytes);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for LimitedBytes<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let too_large = || ApiError::TooLarge {
            limit: LIMIT,
            hint: "",
        };
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > LIMIT as u64) {
            return Err(too_large());
        }
        read_limited(req.into_body(), LIMIT)
            .await
            .map(LimitedBytes)
            .map_err(|e| match e {
                ReadError::TooLarge => too_large(),
                ReadError::TimedOut => ApiError::BodyTimeout {
                    secs: BODY_READ_TIMEOUT.as_secs(),
                },
                ReadError::Broken(m) => ApiError::invalid_body(m),
            })
    }
}

/// How long a whole request body may take to arrive (64 MiB at ~2.5 MB/s). A client that
/// stalls mid-body gets a 408 instead of holding a connection and a task forever.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

enum ReadError {
    TooLarge,
    TimedOut,
    Broken(String),
}

async fn read_limited(body: Body, limit: usize) -> Result<bytes_alias::Bytes, ReadError> {
    let read = Limited::new(body, limit).collect();
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Err(_) => Err(ReadError::TimedOut),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ReadError::TooLarge),
        Ok(Err(e)) => Err(ReadError::Broken(format!(
            "could not read the request body: {e}"
        ))),
    }
}

// axum re-exports the `bytes` crate's type; name it once.
mod bytes_alias {
    pub use axum::body::Bytes;
}

impl ApiError {
    fn invalid_body(message: String) -> ApiError {
        ApiError::Invalid {
            field: None,
            message,
        }
    }
}

/// Parses `bytes` as `T`, naming the failing field on error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], empty_is_object: bool) -> Result<T, ApiError> {
    let bytes: &[u8] = if empty_is_object && bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_body(
            "the request body is empty: send a JSON object (see GET /v1/openapi.json)".to_owned(),
        ));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid_body(
            "the request body must be a JSON object ({...}); see GET /v1/openapi.json".to_owned(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        field_error(&path, &inner)
    })?;
    de.end().map_err(|e| field_error(".", &e))?;
    Ok(value)
}

fn field_error(path: &str, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::invalid_body(format!("the request body is not valid JSON: {e}"))
        }
        Category::Data => {
            let text = e.to_string();
            // serde says "missing field `to`" / "unknown field `x`" at the enclosing object's
            // path; point at the field itself.
            let named = backticked(&text)
                .filter(|_| text.starts_with("missing field") || text.starts_with("unknown field"));
            let base = if path == "." { "" } else { path };
            // serde_path_to_error already ends the path with an unknown field's name.
            let already = |name: &str| base == name || base.ends_with(&format!(".{name}"));
            let field = match named {
                Some(name) if already(name) => base.to_owned(),
                Some(name) if base.is_empty() => name.to_owned(),
                Some(name) => format!("{base}.{name}"),
                None if base.is_empty() => String::new(),
                None => base.to_owned(),
            };
            // Drop serde's " at line 1 column 9" tail: the field path says where.
            let message = text
                .rsplit_once(" at line ")
                .map(|(m, _)| m.to_owned())
                .unwrap_or(text);
            if field.is_empty() {
                ApiError::invalid_body(format!("invalid request body: {message}"))
            } else {
                ApiError::invalid(field.clone(), format!("{field}: {message}"))
            }
        }
    }
}

/// Query parameters parsed as `T`; a bad value is a 422 naming the parameter
/// (`limit: invalid digit found in string`).
#[derive(Debug, Clone)]
pub struct ValidQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(ValidQuery)
    }
}

/// Parses a URL query string as `T`, naming the failing parameter on error.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names a missing or unknown parameter in backticks at the top level.
        let name = if path == "." || path.is_empty() {
            backticked(&inner).map(str::to_owned)
        } else {
            Some(path)
        };
        match name {
            Some(name) => ApiError::invalid(
                name.clone(),
                format!("query parameter {name}: {}", describe_value_error(&inner)),
            ),
            None => ApiError::invalid_body(format!("invalid query string: {inner}")),
        }
    })
}

/// Turns serde's terse number errors into what the parameter expects.
fn describe_value_error(inner: &str) -> String {
    if inner.contains("invalid digit")
        || inner.contains("too large")
        || inner.contains("number too")
    {
        format!("{inner} (expected a whole number, 0 or more, within range)")
    } else {
        inner.to_owned()
    }
}

/// Path parameters parsed as `T`; a segment that does not decode (invalid UTF-8 after
/// percent-decoding, a wrong type) is a 422 naming the parameter.
#[derive(Debug, Clone)]
pub struct ValidPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ValidPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ValidPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let key = match e.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    _ => None,
                };
                let detail = e.body_text();
                Err(match key {
                    Some(key) => {
                        ApiError::invalid(key.clone(), format!("path parameter {key}: {detail}"))
                    }
                    None => ApiError::invalid_body(format!("invalid path: {detail}")),
                })
            }
            Err(other) => Err(ApiError::Internal(format!(
                "path parameters unavailable: {}",
                other.body_text()
            ))),
        }
    }
}

fn backticked(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(&text[start..start + len])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::model::SendMessageRequest;

    fn field_of(body: &str) -> Option<String> {
        match parse::<SendMessageRequest>(body.as_bytes(), false) {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("{body}: expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn names_the_field_at_fault() {
        let rows = [
            ("{}", Some("to")),
            (r#"{"to": 5}"#, Some("to")),
            (r#"{"to": "+1555", "bogus": 1}"#, Some("bogus")),
            (
                r#"{"to": "x", "media": [{"url": 3}]}"#,
                Some("media[0].url"),
            ),
            (
                r#"{"to": "x", "media": [{"nope": 3}]}"#,
                Some("media[0].nope"),
            ),
            (r#"{"to": "#, None),
            ("[1,2]", None),
            ("", None),
        ];
        for (body, want) in rows {
            assert_eq!(field_of(body).as_deref(), want, "body {body:?}");
        }
    }

    #[test]
    fn empty_body_is_an_object_where_allowed() {
        let v: crate::model::LoginRequest = parse(b"", true).unwrap();
        assert_eq!(v.method, crate::model::LoginMethod::Qr);
    }
}
