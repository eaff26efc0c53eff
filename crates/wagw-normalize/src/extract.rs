//! Body extraction: the text an agent reads for one message's content.
//!
//! Text is trimmed; media keep their caption or become `<media:image|video|audio|document|
//! sticker>`; locations, live locations and contact cards are described in the reference's
//! formats; reactions, polls and poll votes get short descriptions; anything else becomes
//! `<unsupported:kind>` so that no message silently vanishes.

use std::borrow::Cow;
use std::fmt::Write as _;

use wagw_core::{ContactCard, Content, Location, MessageKey};

/// The body an agent reads for `content`. Empty only for an empty (or whitespace) text or
/// caption-less content that has nothing to show, which callers treat as "skip".
///
/// ```
/// use wagw_core::{Content, Media, MediaKind};
/// use wagw_normalize::extract_body;
/// assert_eq!(extract_body(&Content::text("  hi  ")), "hi");
/// assert_eq!(extract_body(&Content::Media(Media::new(MediaKind::Sticker))), "<media:sticker>");
/// ```
pub fn extract_body(content: &Content) -> Cow<'_, str> {
    match content {
        Content::Text { text } => clean_text(text),
        Content::Media(media) => match media.caption.as_deref().map(str::trim) {
            Some(caption) if !caption.is_empty() => clean_text(caption),
            _ => Cow::Owned(media_placeholder(media.kind().as_str())),
        },
        Content::Location(location) => Cow::Owned(location_text(location, false)),
        Content::LiveLocation(location) => Cow::Owned(location_text(location, true)),
        Content::Contacts { contacts } => Cow::Owned(contacts_text(contacts)),
        Content::Reaction { target, emoji } => Cow::Owned(reaction_text(target, emoji)),
        Content::Poll { name, options, .. } => Cow::Owned(poll_text(name, options)),
        Content::PollVote { poll, selected } => Cow::Owned(poll_vote_text(poll, selected)),
        Content::Unsupported { kind } => Cow::Owned(unsupported_placeholder(kind)),
    }
}

/// `<media:kind>`.
pub fn media_placeholder(kind: &str) -> String {
    let mut s = String::with_capacity(8 + kind.len());
    s.push_str("<media:");
    s.push_str(kind);
    s.push('>');
    s
}

/// `<unsupported:kind>`, with the kind reduced to a safe token.
pub fn unsupported_placeholder(kind: &str) -> String {
    let kind: String = kind
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if kind.is_empty() { "unknown" } else { &kind };
    format!("<unsupported:{kind}>")
}

/// Trims and turns `\r\n` / `\r` into `\n`, borrowing when nothing changes.
///
/// The reference also turned the two characters `\` `n` into a newline; wagw does not, because
/// that mangles code and paths people paste.
pub fn clean_text(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim();
    if trimmed.contains('\r') {
        Cow::Owned(trimmed.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// The reference's location text: a pin `📍 <lat>, <lon>[ ±Nm]`, a place
/// `📍 <name — address> (<lat>, <lon>[ ±Nm])` or `🛰 Live location: <lat>, <lon>[ ±Nm]`, with
/// the caption on the next line.
pub fn location_text(location: &Location, live: bool) -> String {
    let mut coords = format!("{:.6}, {:.6}", location.latitude, location.longitude);
    if let Some(acc) = location.accuracy_m.filter(|a| a.is_finite()) {
        // JS Math.round: halves go up.
        let _ = write!(coords, " ±{}m", (acc + 0.5).floor() as i64);
    }
    let name = location
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let address = location
        .address
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut out = if live {
        format!("🛰 Live location: {coords}")
    } else if name.is_some() || address.is_some() {
        let label: Vec<&str> = [name, address].into_iter().flatten().collect();
        format!("📍 {} ({coords})", label.join(" — "))
    } else {
        format!("📍 {coords}")
    };
    if let Some(caption) = location
        .caption
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        out.push('\n');
        out.push_str(&clean_text(caption));
    }
    out
}

/// `<contact: Name, +phone[ (+N more)]>` for one card, `<contacts: Label, Label[ +N more]>`
/// for several (cards with neither name nor phone count toward `+N more`), `<contact>` or
/// `<contacts: N contacts>` when nothing is known.
pub fn contacts_text(contacts: &[ContactCard]) -> String {
    match contacts {
        [] => "<contacts: 0 contacts>".to_string(),
        [one] => match contact_label(one) {
            Some(label) => format!("<contact: {label}>"),
            None => "<contact>".to_string(),
        },
        many => {
            let labels: Vec<String> = many.iter().filter_map(contact_label).collect();
            if labels.is_empty() {
                return format!("<contacts: {} contacts>", many.len());
            }
            let remaining = many.len() - labels.len();
            let mut out = format!("<contacts: {}", labels.join(", "));
            if remaining > 0 {
                let _ = write!(out, " +{remaining} more");
            }
            out.push('>');
            out
        }
    }
}

fn contact_label(card: &ContactCard) -> Option<String> {
    let vcard = card.vcard.as_deref().map(parse_vcard).unwrap_or_default();
    let name = Some(card.name.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or(vcard.name);
    let given: Vec<&str> = card
        .numbers
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    let phones: Vec<&str> = if given.is_empty() {
        vcard.phones.iter().map(String::as_str).collect()
    } else {
        given
    };
    let phone = phones.first().map(|first| {
        if phones.len() > 1 {
            format!("{first} (+{} more)", phones.len() - 1)
        } else {
            (*first).to_string()
        }
    });
    match (name, phone) {
        (Some(n), Some(p)) => Some(format!("{n}, {p}")),
        (Some(n), None) => Some(n),
        (None, Some(p)) => Some(p),
        (None, None) => None,
    }
}

#[derive(Default)]
struct VcardInfo {
    name: Option<String>,
    phones: Vec<String>,
}

/// Reads `FN`, `N` and `TEL` from a vCard (grouping prefixes like `item1.TEL` and parameters
/// after `;` accepted; `\n` becomes a space, `\,` and `\;` are unescaped, `tel:` stripped).
fn parse_vcard(vcard: &str) -> VcardInfo {
    let mut full_name = None;
    let mut n_name = None;
    let mut phones = Vec::new();
    for line in vcard.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let key = key.rsplit_once('.').map_or(key, |(_, k)| k);
        let key = key.split(';').next().unwrap_or(key).trim();
        let value = unescape_vcard(value.trim());
        if key.eq_ignore_ascii_case("FN") {
            if !value.is_empty() && full_name.is_none() {
                full_name = Some(value);
            }
        } else if key.eq_ignore_ascii_case("N") {
            let joined = value
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if !joined.is_empty() && n_name.is_none() {
                n_name = Some(joined);
            }
        } else if key.eq_ignore_ascii_case("TEL") {
            let value = value.trim();
            let value = if value.len() >= 4 && value[..4].eq_ignore_ascii_case("tel:") {
                value[4..].trim()
            } else {
                value
            };
            if !value.is_empty() {
                phones.push(value.to_string());
            }
        }
    }
    VcardInfo {
        name: full_name.or(n_name),
        phones,
    }
}

fn unescape_vcard(value: &str) -> String {
    value
        .replace("\\n", " ")
        .replace("\\N", " ")
        .replace("\\,", ",")
        .replace("\\;", ";")
}

fn reaction_text(target: &MessageKey, emoji: &str) -> String {
    let emoji = emoji.trim();
    if emoji.is_empty() {
        format!("<reaction removed id:{}>", target.id)
    } else {
        format!("<reaction: {emoji} id:{}>", target.id)
    }
}

fn poll_text(name: &str, options: &[String]) -> String {
    let options: Vec<&str> = options
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if options.is_empty() {
        format!("<poll: {}>", name.trim())
    } else {
        format!("<poll: {} | {}>", name.trim(), options.join(" | "))
    }
}

fn poll_vote_text(poll: &MessageKey, selected: &[String]) -> String {
    if selected.is_empty() {
        format!("<poll vote: none id:{}>", poll.id)
    } else {
        format!("<poll vote: {} id:{}>", selected.join(", "), poll.id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wagw_core::{Media, MediaKind};

    #[test]
    fn media_with_and_without_caption() {
        for kind in [
            MediaKind::Image,
            MediaKind::Video,
            MediaKind::Audio,
            MediaKind::Document,
            MediaKind::Sticker,
        ] {
            let bare = Content::Media(Media::new(kind));
            assert_eq!(extract_body(&bare), format!("<media:{}>", kind.as_str()));
            let captioned = Content::Media(Media {
                caption: Some("  look \r\n here ".into()),
                ..Media::new(kind)
            });
            assert_eq!(extract_body(&captioned), "look \n here");
            let blank = Content::Media(Media {
                caption: Some("   ".into()),
                ..Media::new(kind)
            });
            assert_eq!(extract_body(&blank), format!("<media:{}>", kind.as_str()));
        }
    }

    #[test]
    fn locations() {
        let pin = Location {
            latitude: 48.858_37,
            longitude: 2.294_481,
            accuracy_m: Some(12.5),
            ..Location::default()
        };
        assert_eq!(location_text(&pin, false), "📍 48.858370, 2.294481 ±13m");
        let place = Location {
            name: Some("Eiffel Tower".into()),
            address: Some("Champ de Mars, Paris".into()),
            caption: Some("meet here".into()),
            accuracy_m: None,
            ..pin.clone()
        };
        assert_eq!(
            location_text(&place, false),
            "📍 Eiffel Tower — Champ de Mars, Paris (48.858370, 2.294481)\nmeet here"
        );
        assert_eq!(
            location_text(&pin, true),
            "🛰 Live location: 48.858370, 2.294481 ±13m"
        );
    }

    #[test]
    fn contacts() {
        let card = |name: &str, numbers: &[&str], vcard: Option<&str>| ContactCard {
            name: name.into(),
            numbers: numbers.iter().map(|s| s.to_string()).collect(),
            vcard: vcard.map(str::to_string),
        };
        assert_eq!(
            contacts_text(&[card("Ann", &["+1 555 0100"], None)]),
            "<contact: Ann, +1 555 0100>"
        );
        assert_eq!(
            contacts_text(&[card("Ann", &["+1", "+2", "+3"], None)]),
            "<contact: Ann, +1 (+2 more)>"
        );
        assert_eq!(contacts_text(&[card("", &[], None)]), "<contact>");
        let vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nitem1.TEL;type=CELL:tel:+15550001\r\nEND:VCARD";
        assert_eq!(
            contacts_text(&[card("", &[], Some(vcard))]),
            "<contact: Doe Jane, +15550001>"
        );
        let fn_card = "FN:Jane\\, PhD\nTEL:+1";
        assert_eq!(
            contacts_text(&[card("", &[], Some(fn_card))]),
            "<contact: Jane, PhD, +1>"
        );
        assert_eq!(
            contacts_text(&[
                card("A", &[], None),
                card("", &[], None),
                card("B", &["+9"], None)
            ]),
            "<contacts: A, B, +9 +1 more>"
        );
        assert_eq!(
            contacts_text(&[card("", &[], None), card(" ", &[], None)]),
            "<contacts: 2 contacts>"
        );
    }

    #[test]
    fn unsupported_kind_is_sanitized() {
        assert_eq!(unsupported_placeholder("buttons"), "<unsupported:buttons>");
        assert_eq!(unsupported_placeholder("a b>c"), "<unsupported:a_b_c>");
        assert_eq!(unsupported_placeholder(""), "<unsupported:unknown>");
    }
}
