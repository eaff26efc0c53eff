//! The crate's one error type.

use thiserror::Error;

/// What went wrong while building settings or normalizing a message. Every variant says what
/// to fix or what the caller should do next.
#[derive(Debug, Error)]
pub enum NormalizeError {
    /// A `mentionPatterns` entry is not a valid regular expression.
    #[error(
        "mention pattern {pattern:?} is not a valid regular expression ({reason}); fix or remove \
         it in agents.list[].groupChat.mentionPatterns or messages.groupChat.mentionPatterns"
    )]
    InvalidMentionPattern {
        /// The pattern as configured.
        pattern: String,
        /// The regex compiler's explanation.
        reason: String,
    },
    /// `messages.envelope.timezone` names no known zone.
    #[error(
        "envelope timezone {value:?} is unknown: use \"utc\", \"local\" or an IANA zone name such \
         as \"Europe/Berlin\" in messages.envelope.timezone"
    )]
    UnknownTimezone {
        /// The configured value.
        value: String,
    },
    /// `messages.envelope.timezone` is `local` but the caller could not say which zone the host
    /// is in.
    #[error(
        "messages.envelope.timezone is \"local\" but the host's zone is unknown (no TZ, no \
         /etc/localtime); set an IANA zone name such as \"Europe/Berlin\" instead"
    )]
    LocalTimezoneUnknown,
    /// The message carries nothing an agent could read (an empty text). Skip it.
    #[error("message {id} has no text, media or other content to show the agent; skip it")]
    EmptyMessage {
        /// The message id.
        id: String,
    },
}

impl NormalizeError {
    /// A stable snake_case name for the kind of error (used by fixtures and JSON output).
    pub fn kind(&self) -> &'static str {
        match self {
            NormalizeError::InvalidMentionPattern { .. } => "invalid_mention_pattern",
            NormalizeError::UnknownTimezone { .. } => "unknown_timezone",
            NormalizeError::LocalTimezoneUnknown => "local_timezone_unknown",
            NormalizeError::EmptyMessage { .. } => "empty_message",
        }
    }
}
