//! The pairing reply: the text an unknown sender gets with their code.

use wagw_core::{AccountId, Sender};

use crate::AccessError;

/// The pairing reply template (`channels.whatsapp.pairing.replyTemplate`).
///
/// Placeholders: `{code}` (required), `{sender}` (`+E164`, or the LID when no phone is
/// known; `{phone}` is an alias, the name wagw-config documents), `{sender_label}` (`phone number` or `ID`), `{command}` (the approve command,
/// with `--account <id>` for non-default accounts) and `{account}`. `{{` and `}}` are
/// literal braces.
///
/// ```
/// use wagw_access::PairingTemplate;
/// use wagw_core::{AccountId, Phone, Sender};
/// let sender = Sender::phone(Phone::parse("+15551234567").unwrap());
/// let text = PairingTemplate::default().render("ABCD2345", &sender, &AccountId::default());
/// assert!(text.ends_with("wagw pairing approve whatsapp ABCD2345"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairingTemplate {
    source: String,
}

/// The default reply, the reference's text naming this product and its command.
pub const DEFAULT_PAIRING_TEMPLATE: &str = "wagw: access not configured.\n\nYour WhatsApp {sender_label}: {sender}\n\nPairing code: {code}\n\nAsk the bot owner to approve with:\n{command}";

const PLACEHOLDERS: [&str; 6] = [
    "code",
    "sender",
    "phone",
    "sender_label",
    "command",
    "account",
];

impl PairingTemplate {
    /// Validates a template: braces balanced, only known placeholders, `{code}` present
    /// (without it the sender cannot be approved).
    pub fn parse(source: &str) -> Result<PairingTemplate, AccessError> {
        let mut saw_code = false;
        let mut rest = source;
        while let Some(i) = rest.find(['{', '}']) {
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(AccessError::InvalidTemplate {
                    reason: "unmatched '}' (write '}}' for a literal brace)".into(),
                });
            }
            let Some(end) = tail.find('}') else {
                return Err(AccessError::InvalidTemplate {
                    reason: "unclosed '{' (write '{{' for a literal brace)".into(),
                });
            };
            let name = &tail[1..end];
            if !PLACEHOLDERS.contains(&name) {
                return Err(AccessError::InvalidTemplate {
                    reason: format!(
                        "unknown placeholder {{{name}}}; known: {{code}}, {{sender}}, {{phone}}, {{sender_label}}, {{command}}, {{account}}"
                    ),
                });
            }
            saw_code |= name == "code";
            rest = &tail[end + 1..];
        }
        if !saw_code {
            return Err(AccessError::InvalidTemplate {
                reason: "{code} is missing, so the sender could not be approved".into(),
            });
        }
        Ok(PairingTemplate {
            source: source.to_string(),
        })
    }

    /// The template text as configured.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The approve command an owner runs for `code` on `account`.
    pub fn approve_command(code: &str, account: &AccountId) -> String {
        if account.is_default() {
            format!("wagw pairing approve whatsapp {code}")
        } else {
            format!("wagw pairing approve whatsapp {code} --account {account}")
        }
    }

    /// Renders the reply for `sender` with `code`.
    pub fn render(&self, code: &str, sender: &Sender, account: &AccountId) -> String {
        let label = if sender.phone.is_some() {
            "phone number"
        } else {
            "ID"
        };
        let mut out = String::with_capacity(self.source.len() + 64);
        let mut rest = self.source.as_str();
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            // `parse` guarantees a closing brace and a known name.
            let end = tail.find('}').unwrap_or(tail.len() - 1);
            match &tail[1..end] {
                "code" => out.push_str(code),
                "sender" | "phone" => out.push_str(&sender.to_string()),
                "sender_label" => out.push_str(label),
                "command" => out.push_str(&Self::approve_command(code, account)),
                "account" => out.push_str(account.as_str()),
                other => {
                    out.push('{');
                    out.push_str(other);
                    out.push('}');
                }
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

impl Default for PairingTemplate {
    fn default() -> Self {
        PairingTemplate {
            source: DEFAULT_PAIRING_TEMPLATE.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wagw_core::{Lid, Phone};

    #[test]
    fn default_text_matches_reference_shape() {
        let s = Sender::phone(Phone::parse("+15551234567").unwrap());
        let text = PairingTemplate::default().render("ABCD2345", &s, &AccountId::default());
        assert_eq!(
            text,
            "wagw: access not configured.\n\nYour WhatsApp phone number: +15551234567\n\nPairing code: ABCD2345\n\nAsk the bot owner to approve with:\nwagw pairing approve whatsapp ABCD2345"
        );
    }

    #[test]
    fn non_default_account_and_lid() {
        let s = Sender::lid(Lid::parse("987654321@lid").unwrap());
        let acct = AccountId::parse("work").unwrap();
        let text = PairingTemplate::default().render("ZZZZ9999", &s, &acct);
        assert!(text.contains("Your WhatsApp ID: 987654321@lid"));
        assert!(text.ends_with("wagw pairing approve whatsapp ZZZZ9999 --account work"));
    }

    #[test]
    fn custom_templates() {
        let t = PairingTemplate::parse("{{code}} is {code} for {account}").unwrap();
        let p = PairingTemplate::parse("Code {code} for {phone}").unwrap();
        let bob = Sender::phone(Phone::parse("+15551234567").unwrap());
        assert_eq!(
            p.render("AAAA2222", &bob, &AccountId::default()),
            "Code AAAA2222 for +15551234567"
        );
        let s = Sender::phone(Phone::parse("+15551234567").unwrap());
        assert_eq!(
            t.render("AAAA2222", &s, &AccountId::default()),
            "{code} is AAAA2222 for default"
        );
        for bad in [
            "no code here",
            "{code} {nope}",
            "{code",
            "code}",
            "{code} }",
        ] {
            assert!(PairingTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
