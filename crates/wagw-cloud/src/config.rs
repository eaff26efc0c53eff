//! What a Cloud API account is built from: its credentials and how hard to retry.

use std::fmt;
use std::time::Duration;

use wagw_core::AccountId;

/// Meta's Graph API prefix, version included, used when `apiBase` is not set.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v23.0";

/// A credential: printable only on purpose ([`Secret::expose`]), never by `Debug` or
/// `Display`, so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How sends that Meta rate-limits (Graph errors 4, 80007, 130429, 131056, HTTP 429) are
/// retried: `attempts` tries in all, waiting `initial`, then twice that, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(16),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1` (`attempt` counts from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// One Cloud API account: the business phone number wagw sends from and receives for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudConfig {
    /// The wagw account this number serves.
    pub account: AccountId,
    /// `cloud.accessToken`: a System User (permanent) or temporary access token.
    pub access_token: Secret,
    /// `cloud.phoneNumberId`: the id Meta gives the business phone number (not the number).
    pub phone_number_id: String,
    /// `cloud.businessAccountId`: the WhatsApp Business Account (WABA) id; informational.
    pub business_account_id: Option<String>,
    /// `cloud.verifyToken`: what Meta's webhook verification must present.
    pub verify_token: Option<Secret>,
    /// `cloud.appSecret`: the app's secret, which signs each webhook (`X-Hub-Signature-256`).
    /// Without it webhooks are accepted unsigned (`config check` warns).
    pub app_secret: Option<Secret>,
    /// `cloud.apiBase`: the Graph prefix including the version, no trailing slash.
    pub api_base: String,
    /// Rate-limit retries for sends.
    pub retry: RetryPolicy,
    /// How long a webhook waits for the gateway to commit its messages before answering
    /// Meta with an error (Meta then retries the webhook).
    pub commit_timeout: Duration,
    /// Timeout of each Graph request.
    pub request_timeout: Duration,
}

impl CloudConfig {
    /// A config with Meta's defaults for everything but the credentials.
    pub fn new(
        account: AccountId,
        access_token: Secret,
        phone_number_id: impl Into<String>,
    ) -> CloudConfig {
        CloudConfig {
            account,
            access_token,
            phone_number_id: phone_number_id.into(),
            business_account_id: None,
            verify_token: None,
            app_secret: None,
            api_base: DEFAULT_API_BASE.to_string(),
            retry: RetryPolicy::default(),
            commit_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(30),
        }
    }

    /// `{apiBase}/{path}` with exactly one slash between.
    pub(crate) fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.api_base.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("EAAG-very-secret");
        assert_eq!(format!("{s}"), "<redacted>");
        assert!(!format!("{s:?}").contains("very"));
        let c = CloudConfig::new(AccountId::default_account(), s, "1234");
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 6,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
        };
        let d: Vec<u128> = (1..=5).map(|a| p.delay(a).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn urls_join_with_one_slash() {
        let mut c = CloudConfig::new(AccountId::default_account(), Secret::new("t"), "99");
        c.api_base = "http://127.0.0.1:9/v23.0/".into();
        assert_eq!(
            c.url("/99/messages"),
            "http://127.0.0.1:9/v23.0/99/messages"
        );
    }
}
