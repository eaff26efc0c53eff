//! What the operator is told when an account stops, waits out a ban, or gives up.
//!
//! A [`Notice`] is data (it travels in [`Action::Notify`](crate::Action::Notify) and shows in
//! status); [`Notice::message`] renders the sentence a person reads, with the exact command
//! to run where one helps.

use std::fmt;

use serde::{Deserialize, Serialize};
use wagw_core::AccountId;

/// The exact command that links (or relinks) an account: `wagw channels login --account <id>`.
///
/// ```
/// use wagw_core::AccountId;
/// let work = AccountId::parse("work")?;
/// assert_eq!(wagw_reconnect::relink_command(&work), "wagw channels login --account work");
/// # Ok::<(), wagw_core::IdentityError>(())
/// ```
pub fn relink_command(account: &AccountId) -> String {
    format!("wagw channels login --account {account}")
}

/// How loudly a notice should be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The account is waiting or needs a routine step (link it, wait out a ban).
    Warn,
    /// The account is down until a person acts.
    Error,
}

/// Something the operator must know about an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Notice {
    /// The account has no credentials; it must be linked.
    NotLinked,
    /// WhatsApp logged the device out (401); the stale credentials were discarded.
    LoggedOut,
    /// Another client holds the session (440); wagw stopped instead of fighting over it.
    SessionConflict,
    /// WhatsApp refused this client version (405).
    ClientOutdated,
    /// Linking did not complete.
    LinkingFailed {
        /// What happened.
        detail: String,
    },
    /// WhatsApp temporarily banned the account; wagw waits until `until_ms`.
    TemporaryBan {
        /// WhatsApp's ban code.
        code: u16,
        /// When wagw tries again, Unix ms.
        until_ms: i64,
        /// True when WhatsApp gave the expiry; false when `until_ms` is wagw's default wait.
        expiry_known: bool,
    },
    /// `maxAttempts` failures in a row: wagw stopped retrying.
    Degraded {
        /// Failures in a row.
        attempts: u32,
        /// The configured `web.reconnect.maxAttempts`.
        max_attempts: u32,
    },
}

impl Notice {
    /// A stable snake_case label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Notice::NotLinked => "not_linked",
            Notice::LoggedOut => "logged_out",
            Notice::SessionConflict => "session_conflict",
            Notice::ClientOutdated => "client_outdated",
            Notice::LinkingFailed { .. } => "linking_failed",
            Notice::TemporaryBan { .. } => "temporary_ban",
            Notice::Degraded { .. } => "degraded",
        }
    }

    /// How loudly to log it.
    pub fn severity(&self) -> Severity {
        match self {
            Notice::NotLinked | Notice::LinkingFailed { .. } | Notice::TemporaryBan { .. } => {
                Severity::Warn
            }
            Notice::LoggedOut
            | Notice::SessionConflict
            | Notice::ClientOutdated
            | Notice::Degraded { .. } => Severity::Error,
        }
    }

    /// The sentence for the operator, naming `account` and the command to run.
    ///
    /// ```
    /// use wagw_core::AccountId;
    /// use wagw_reconnect::Notice;
    /// let msg = Notice::LoggedOut.message(&AccountId::parse("work")?);
    /// assert!(msg.ends_with("Relink with `wagw channels login --account work`."));
    /// # Ok::<(), wagw_core::IdentityError>(())
    /// ```
    pub fn message(&self, account: &AccountId) -> String {
        let relink = relink_command(account);
        match self {
            Notice::NotLinked => format!(
                "WhatsApp account {account} is not linked. Link it with `{relink}` \
                 (scan the QR in WhatsApp → Linked devices)."
            ),
            Notice::LoggedOut => format!(
                "WhatsApp account {account} was logged out (401): the phone removed this \
                 linked device or WhatsApp invalidated it. Its stale credentials were deleted \
                 and wagw will not retry. Relink with `{relink}`."
            ),
            Notice::SessionConflict => format!(
                "WhatsApp account {account}: another client holds the session (440 conflict), \
                 e.g. a second gateway using the same credentials. wagw stopped this account \
                 instead of fighting over the session. Stop the other client, then start this \
                 account again; if the session is lost, relink with `{relink}`."
            ),
            Notice::ClientOutdated => format!(
                "WhatsApp account {account}: WhatsApp refused this client as outdated (405). \
                 Update wagw to a newer release, then start the account again; wagw will not \
                 retry until then."
            ),
            Notice::LinkingFailed { detail } => format!(
                "Linking WhatsApp account {account} failed: {detail}. Try again with `{relink}`."
            ),
            Notice::TemporaryBan {
                code,
                until_ms,
                expiry_known: true,
            } => format!(
                "WhatsApp temporarily banned account {account} (code {code}) until {}. wagw \
                 waits until then before reconnecting (reconnecting early can extend a ban). \
                 Slow the account's sending (channels.whatsapp.pacing) to avoid another ban.",
                format_utc(*until_ms)
            ),
            Notice::TemporaryBan {
                code,
                until_ms,
                expiry_known: false,
            } => format!(
                "WhatsApp temporarily banned account {account} (code {code}) without saying for \
                 how long. wagw waits until {} (web.reconnect.banDefaultWaitMs) before trying \
                 again (reconnecting early can extend a ban). Slow the account's sending \
                 (channels.whatsapp.pacing) to avoid another ban.",
                format_utc(*until_ms)
            ),
            Notice::Degraded {
                attempts,
                max_attempts,
            } => format!(
                "WhatsApp account {account}: giving up after {attempts} failed connection \
                 attempts in a row (web.reconnect.maxAttempts = {max_attempts}); the account \
                 stays offline. Check the network and the gateway log (target wagw::reconnect), \
                 then start the account again or restart the gateway."
            ),
        }
    }
}

impl fmt::Display for Notice {
    /// The notice without an account name (for places that already show it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A delay as the reference prints it: `<1000` → `"850ms"`, otherwise seconds with up to two
/// decimals and trailing zeros trimmed (`"2s"`, `"3.6s"`, `"4.46s"`).
///
/// ```
/// use wagw_reconnect::format_duration_ms;
/// assert_eq!(format_duration_ms(850), "850ms");
/// assert_eq!(format_duration_ms(3600), "3.6s");
/// assert_eq!(format_duration_ms(4455), "4.46s");
/// ```
pub fn format_duration_ms(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    // Round to hundredths of a second in integers, so 4455 ms gives 4.46 s, not 4.45.
    let centis = ms / 10 + u64::from(ms % 10 >= 5);
    let (whole, frac) = (centis / 100, centis % 100);
    match frac {
        0 => format!("{whole}s"),
        f if f % 10 == 0 => format!("{whole}.{}s", f / 10),
        f => format!("{whole}.{f:02}s"),
    }
}

/// A Unix-ms timestamp as ISO 8601 UTC with second precision, e.g. `2026-05-01T12:00:00Z`.
///
/// ```
/// use wagw_reconnect::format_utc;
/// assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
/// assert_eq!(format_utc(1_777_636_800_000), "2026-05-01T12:00:00Z");
/// ```
pub fn format_utc(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3_600,
        sod % 3_600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`). Pure integer arithmetic, valid for every i64 ms input.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn work() -> AccountId {
        AccountId::parse("work").unwrap()
    }

    #[test]
    fn durations_format_like_the_reference() {
        let cases = [
            (0, "0ms"),
            (999, "999ms"),
            (1_000, "1s"),
            (2_000, "2s"),
            (3_600, "3.6s"),
            (4_455, "4.46s"),
            (6_480, "6.48s"),
            (20_995, "21s"),
            (30_000, "30s"),
            (1_005, "1.01s"),
            (3_600_000, "3600s"),
        ];
        for (ms, want) in cases {
            assert_eq!(format_duration_ms(ms), want, "{ms} ms");
        }
    }

    #[test]
    fn utc_formatting_handles_leap_years_and_the_past() {
        assert_eq!(format_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(-1_000), "1969-12-31T23:59:59Z");
        assert_eq!(format_utc(1_709_251_199_999), "2024-02-29T23:59:59Z");
        assert_eq!(format_utc(4_102_444_800_000), "2100-01-01T00:00:00Z");
        // Extremes do not panic.
        let _ = format_utc(i64::MAX);
        let _ = format_utc(i64::MIN);
    }

    #[test]
    fn every_stop_message_names_the_account() {
        let notices = [
            Notice::NotLinked,
            Notice::LoggedOut,
            Notice::SessionConflict,
            Notice::ClientOutdated,
            Notice::LinkingFailed {
                detail: "QR codes ran out".into(),
            },
            Notice::TemporaryBan {
                code: 403,
                until_ms: 0,
                expiry_known: true,
            },
            Notice::TemporaryBan {
                code: 403,
                until_ms: 0,
                expiry_known: false,
            },
            Notice::Degraded {
                attempts: 12,
                max_attempts: 12,
            },
        ];
        for n in notices {
            let msg = n.message(&work());
            assert!(msg.contains("account work"), "{msg}");
        }
    }

    #[test]
    fn relink_notices_carry_the_exact_command() {
        for n in [
            Notice::NotLinked,
            Notice::LoggedOut,
            Notice::SessionConflict,
            Notice::LinkingFailed { detail: "x".into() },
        ] {
            let msg = n.message(&work());
            assert!(
                msg.contains("`wagw channels login --account work`"),
                "{}: {msg}",
                n.label()
            );
        }
        assert!(
            Notice::SessionConflict
                .message(&work())
                .contains("another client holds the session")
        );
        assert!(
            Notice::ClientOutdated
                .message(&work())
                .contains("Update wagw")
        );
    }

    #[test]
    fn notices_round_trip_through_json() {
        let n = Notice::TemporaryBan {
            code: 402,
            until_ms: 5,
            expiry_known: false,
        };
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"temporary_ban","code":402,"untilMs":5,"expiryKnown":false}"#
        );
        assert_eq!(serde_json::from_str::<Notice>(&json).unwrap(), n);
    }
}
