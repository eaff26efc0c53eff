//! The envelope header every turn starts with: `[WhatsApp <from>[ +<elapsed>][ <timestamp>]]`.
//!
//! `from` is the sender (E.164, or the LID when WhatsApp did not share the number) for DMs and
//! the group JID for groups. `elapsed` is the time since the previous message of the same
//! session (`Ns`, `Nm`, `Nh` or `Nd`, floored). The timestamp is the message time in the
//! configured zone (`messages.envelope.timezone`): UTC gives `2025-01-02T03:04Z`, any other
//! zone `2025-01-02 04:04 CET` (the zone's tz-database abbreviation).

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::NormalizeError;

/// The channel name shown first in every envelope.
pub const CHANNEL_LABEL: &str = "WhatsApp";

/// The zone envelope timestamps are shown in (`messages.envelope.timezone`, default UTC).
///
/// ```
/// use wagw_normalize::EnvelopeTimezone;
/// let tz = EnvelopeTimezone::parse("Europe/Berlin", None)?;
/// let mut out = String::new();
/// tz.write_timestamp(1_735_787_040_000, &mut out); // 2025-01-02T03:04Z
/// assert_eq!(out, "2025-01-02 04:04 CET");
/// # Ok::<(), wagw_normalize::NormalizeError>(())
/// ```
#[derive(Clone, Default)]
pub struct EnvelopeTimezone {
    repr: TzRepr,
}

#[derive(Clone, Default)]
enum TzRepr {
    #[default]
    Utc,
    Zone {
        name: Box<str>,
        tz: TimeZone,
    },
}

impl fmt::Debug for EnvelopeTimezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnvelopeTimezone({})", self.name())
    }
}

impl PartialEq for EnvelopeTimezone {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl EnvelopeTimezone {
    /// UTC: timestamps look like `2025-01-02T03:04Z`.
    pub fn utc() -> EnvelopeTimezone {
        EnvelopeTimezone { repr: TzRepr::Utc }
    }

    /// Parses the config value. `utc` and `gmt` (any case) give UTC; `local` (or `host`) uses
    /// `host_zone`, the IANA name of the host's zone, which the caller determines at the edge
    /// (this crate reads no files); anything else must be an IANA zone name, looked up in the
    /// tz database bundled into the binary.
    pub fn parse(value: &str, host_zone: Option<&str>) -> Result<EnvelopeTimezone, NormalizeError> {
        let trimmed = value.trim();
        let lowered = trimmed.to_ascii_lowercase();
        let name = match lowered.as_str() {
            "" | "utc" | "gmt" | "z" => return Ok(EnvelopeTimezone::utc()),
            "local" | "host" => match host_zone.map(str::trim) {
                Some(zone) if !zone.is_empty() => zone,
                _ => return Err(NormalizeError::LocalTimezoneUnknown),
            },
            _ => trimmed,
        };
        let tz = TimeZone::get(name).map_err(|_| NormalizeError::UnknownTimezone {
            value: value.to_string(),
        })?;
        Ok(EnvelopeTimezone {
            repr: TzRepr::Zone {
                name: name.into(),
                tz,
            },
        })
    }

    /// `utc`, or the IANA name of the zone.
    pub fn name(&self) -> &str {
        match &self.repr {
            TzRepr::Utc => "utc",
            TzRepr::Zone { name, .. } => name,
        }
    }

    /// Appends the message time (Unix milliseconds) in this zone's envelope format.
    pub fn write_timestamp(&self, timestamp_ms: i64, out: &mut String) {
        let seconds = timestamp_ms.div_euclid(1000);
        match &self.repr {
            TzRepr::Utc => {
                write_civil(out, seconds, 'T');
                out.push('Z');
            }
            TzRepr::Zone { tz, .. } => match Timestamp::from_second(seconds) {
                Ok(ts) => {
                    let info = tz.to_offset_info(ts);
                    let local = seconds + i64::from(info.offset().seconds());
                    write_civil(out, local, ' ');
                    let abbreviation = info.abbreviation();
                    if !abbreviation.is_empty() {
                        out.push(' ');
                        out.push_str(abbreviation);
                    }
                }
                // Outside jiff's range (years beyond ±9999): show UTC rather than nothing.
                Err(_) => {
                    write_civil(out, seconds, 'T');
                    out.push('Z');
                }
            },
        }
    }
}

/// How envelopes are written (`messages.envelope.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeSettings {
    /// `messages.envelope.timezone`. Default: UTC.
    pub timezone: EnvelopeTimezone,
    /// Show the message time (`envelopeTimestamp`, default on).
    pub include_timestamp: bool,
    /// Show the time since the previous message of the session (`envelopeElapsed`, default on).
    pub include_elapsed: bool,
}

impl Default for EnvelopeSettings {
    fn default() -> Self {
        EnvelopeSettings {
            timezone: EnvelopeTimezone::utc(),
            include_timestamp: true,
            include_elapsed: true,
        }
    }
}

/// Appends `YYYY-MM-DD<sep>HH:MM` for a count of seconds since the epoch (already shifted to
/// local time). Hand-rolled because it runs for every message and history line.
fn write_civil(out: &mut String, seconds: i64, sep: char) {
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        // Years outside 0000..=9999 are not worth a fast path.
        out.push_str(&format!("{year:04}-{month:02}-{day:02}"));
        out.push(sep);
        let (h, m) = (secs_of_day / 3600, (secs_of_day % 3600) / 60);
        out.push_str(&format!("{h:02}:{m:02}"));
        return;
    }
    let two = |v: u32| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
    let y = year as u32;
    let (y1, y2) = (two(y / 100), two(y % 100));
    let (mo, d) = (two(month), two(day));
    let (h, mi) = (
        two((secs_of_day / 3600) as u32),
        two(((secs_of_day % 3600) / 60) as u32),
    );
    let sep = if sep == 'T' { b'T' } else { b' ' };
    let buf = [
        y1[0], y1[1], y2[0], y2[1], b'-', mo[0], mo[1], b'-', d[0], d[1], sep, h[0], h[1], b':',
        mi[0], mi[1],
    ];
    // Only ASCII digits and separators were written.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends the elapsed label (`45s`, `5m`, `2h`, `3d`, floored) for `current - previous`
/// milliseconds. Returns false (and writes nothing) when the difference is negative.
pub fn write_elapsed(current_ms: i64, previous_ms: i64, out: &mut String) -> bool {
    let Some(elapsed) = current_ms.checked_sub(previous_ms) else {
        return false;
    };
    if elapsed < 0 {
        return false;
    }
    let seconds = elapsed / 1000;
    let (value, unit) = if seconds < 60 {
        (seconds, 's')
    } else if seconds < 3600 {
        (seconds / 60, 'm')
    } else if seconds < 86_400 {
        (seconds / 3600, 'h')
    } else {
        (seconds / 86_400, 'd')
    };
    push_int(out, value);
    out.push(unit);
    true
}

fn push_int(out: &mut String, mut value: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Appends a full envelope header and the space after it:
/// `[WhatsApp <from>[ +<elapsed>][ <timestamp>]] `.
///
/// `previous_ms` is the time of the previous message in the same session; the elapsed part is
/// shown only when it is known, not after the message, and `include_elapsed` is on.
pub fn write_header(
    out: &mut String,
    settings: &EnvelopeSettings,
    from: &str,
    timestamp_ms: i64,
    previous_ms: Option<i64>,
) {
    out.push('[');
    out.push_str(CHANNEL_LABEL);
    let from = from.trim();
    if !from.is_empty() {
        out.push(' ');
        push_header_part(out, from);
    }
    if settings.include_elapsed
        && let Some(previous) = previous_ms.filter(|p| *p > 0)
        && timestamp_ms > 0
    {
        out.push_str(" +");
        let mark = out.len();
        if !write_elapsed(timestamp_ms, previous, out) {
            out.truncate(mark - 2);
        }
    }
    if settings.include_timestamp && timestamp_ms > 0 {
        out.push(' ');
        settings.timezone.write_timestamp(timestamp_ms, out);
    }
    out.push_str("] ");
}

/// Header parts come from the network: keep them on one line and away from `]`.
fn push_header_part(out: &mut String, part: &str) {
    if part.bytes().any(|b| b < 0x20 || b == b']' || b == b'[') {
        for ch in part.chars() {
            out.push(match ch {
                c if c.is_control() => ' ',
                '[' => '(',
                ']' => ')',
                c => c,
            });
        }
    } else {
        out.push_str(part);
    }
}

/// Formats one complete envelope line: header, then `body`.
///
/// ```
/// use wagw_normalize::{EnvelopeSettings, format_envelope};
/// let line = format_envelope(&EnvelopeSettings::default(), "+15551234567", "hello",
///                            1_735_787_040_000, Some(1_735_786_740_000));
/// assert_eq!(line, "[WhatsApp +15551234567 +5m 2025-01-02T03:04Z] hello");
/// ```
pub fn format_envelope(
    settings: &EnvelopeSettings,
    from: &str,
    body: &str,
    timestamp_ms: i64,
    previous_ms: Option<i64>,
) -> String {
    let mut out = String::with_capacity(48 + from.len() + body.len());
    write_header(&mut out, settings, from, timestamp_ms, previous_ms);
    out.push_str(body);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ts(tz: &EnvelopeTimezone, ms: i64) -> String {
        let mut s = String::new();
        tz.write_timestamp(ms, &mut s);
        s
    }

    #[test]
    fn utc_format() {
        let utc = EnvelopeTimezone::utc();
        assert_eq!(ts(&utc, 1_735_787_040_000), "2025-01-02T03:04Z");
        assert_eq!(ts(&utc, 0), "1970-01-01T00:00Z");
        assert_eq!(ts(&utc, 951_782_400_000), "2000-02-29T00:00Z");
        assert_eq!(ts(&utc, -1000), "1969-12-31T23:59Z");
    }

    #[test]
    fn civil_matches_jiff_over_a_long_range() {
        let utc = EnvelopeTimezone::utc();
        let mut ms: i64 = -2_208_988_800_000; // 1900
        while ms < 4_102_444_800_000 {
            let jiff_ts = Timestamp::from_millisecond(ms).unwrap();
            let expected = jiff_ts.strftime("%Y-%m-%dT%H:%MZ").to_string();
            assert_eq!(ts(&utc, ms), expected, "{ms}");
            ms += 86_400_000 * 37 + 3_600_000 * 5 + 60_000 * 7;
        }
    }

    #[test]
    fn zones() {
        let ny = EnvelopeTimezone::parse("America/New_York", None).unwrap();
        assert_eq!(ts(&ny, 1_735_787_040_000), "2025-01-01 22:04 EST");
        assert_eq!(ts(&ny, 1_751_425_440_000), "2025-07-01 23:04 EDT");
        let kolkata = EnvelopeTimezone::parse("Asia/Kolkata", None).unwrap();
        assert_eq!(ts(&kolkata, 1_735_787_040_000), "2025-01-02 08:34 IST");
        assert_eq!(
            EnvelopeTimezone::parse("GMT", None).unwrap(),
            EnvelopeTimezone::utc()
        );
        let local = EnvelopeTimezone::parse("local", Some("Europe/Paris")).unwrap();
        assert_eq!(local.name(), "Europe/Paris");
        assert_eq!(
            EnvelopeTimezone::parse("local", None).unwrap_err().kind(),
            "local_timezone_unknown"
        );
        assert_eq!(
            EnvelopeTimezone::parse("Mars/Olympus", None)
                .unwrap_err()
                .kind(),
            "unknown_timezone"
        );
    }

    #[test]
    fn elapsed_units_floor() {
        let cases = [
            (0, "0s"),
            (59_999, "59s"),
            (60_000, "1m"),
            (3_599_999, "59m"),
            (3_600_000, "1h"),
            (86_399_999, "23h"),
            (86_400_000, "1d"),
            (864_000_000_000, "10000d"),
        ];
        for (diff, want) in cases {
            let mut s = String::new();
            assert!(write_elapsed(
                1_000_000_000_000 + diff,
                1_000_000_000_000,
                &mut s
            ));
            assert_eq!(s, want);
        }
        let mut s = String::new();
        assert!(!write_elapsed(1, 2, &mut s));
        assert!(s.is_empty());
    }

    #[test]
    fn header_variants() {
        let mut settings = EnvelopeSettings::default();
        let now = 1_735_787_040_000;
        assert_eq!(
            format_envelope(&settings, "+1555", "x", now, Some(now + 5)),
            "[WhatsApp +1555 2025-01-02T03:04Z] x"
        );
        settings.include_timestamp = false;
        assert_eq!(
            format_envelope(&settings, "+1555", "x", now, Some(now - 2_000)),
            "[WhatsApp +1555 +2s] x"
        );
        settings.include_elapsed = false;
        assert_eq!(
            format_envelope(&settings, "a]b\nc", "x", now, Some(now - 2_000)),
            "[WhatsApp a)b c] x"
        );
    }
}
