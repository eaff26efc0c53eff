//! Older layouts users paste, rewritten into `channels.whatsapp` in place (comments kept):
//! `wagw config migrate`.
//!
//! - A top-level `whatsapp: {…}` (Equabot's older samples, the reference's legacy config)
//!   moves under `channels.whatsapp`.
//! - Milady's `connectors.whatsapp` moves under `channels.whatsapp`. Milady's
//!   `messagePrefix` is an **outgoing** prefix, while the OpenClaw family (and wagw) read
//!   `messagePrefix` as an inbound one: from a Milady file it becomes
//!   `messages.responsePrefix`, and the notes say so. Milady's top-level `env` section
//!   stays where it is.
//!
//! Only the moved keys' text changes; the values (and comments inside them) are kept as
//! written.

use crate::edit::{self, ConfigPath, EditError, Segment};
use crate::json5::{self, Node, Value};

/// Which older layout a file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Layout {
    /// Top-level `whatsapp`.
    TopLevelWhatsapp,
    /// Milady's `connectors.whatsapp`.
    Milady,
}

/// A rewritten file and what was done.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// The layouts found (empty: nothing to do).
    pub layouts: Vec<Layout>,
    /// The new text (equal to the input when nothing was done).
    pub text: String,
    /// One line per change, and what needs a person.
    pub notes: Vec<String>,
}

fn top_member<'a>(root: &'a Node, name: &str) -> Option<&'a (json5::Key, Node)> {
    match &root.value {
        Value::Object(members) => members.iter().find(|(k, _)| k.name == name),
        _ => None,
    }
}

fn key_text(text: &str, key: &json5::Key, name: &str) -> String {
    let quoted = matches!(text.as_bytes().get(key.start), Some(b'"' | b'\''));
    if quoted {
        serde_json::Value::String(name.to_owned()).to_string()
    } else {
        name.to_owned()
    }
}

fn splice(text: &str, from: usize, to: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..from], &text[to..])
}

fn parse(text: &str) -> Result<Node, EditError> {
    json5::parse(text).map_err(|e| EditError::Syntax {
        line: e.pos.line,
        column: e.pos.column,
        message: e.message,
    })
}

/// Moves the member `name` (its key and value text) of the top level into `channels` as
/// `whatsapp`.
fn move_into_channels(
    text: &str,
    outer: &str,
    inner: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Option<String>, EditError> {
    let root = parse(text)?;
    let from = match inner {
        None => outer.to_owned(),
        Some(i) => format!("{outer}.{i}"),
    };
    let Some((okey, ovalue)) = top_member(&root, outer) else {
        return Ok(None);
    };
    let (value_node, only_member) = match inner {
        None => (ovalue, true),
        Some(i) => match &ovalue.value {
            Value::Object(m) => match m.iter().find(|(k, _)| k.name == i) {
                Some((_, v)) => (v, m.len() == 1),
                None => return Ok(None),
            },
            _ => return Ok(None),
        },
    };
    if let Some((_, channels)) = top_member(&root, "channels") {
        let has_whatsapp = matches!(&channels.value, Value::Object(m) if m.iter().any(|(k, _)| k.name == "whatsapp"));
        if has_whatsapp {
            notes.push(format!(
                "{from} was left in place: channels.whatsapp exists too; merge the two by hand"
            ));
            return Ok(None);
        }
        // Insert the value's text as written under channels, then drop the old member.
        let value_text = text[value_node.span.0..value_node.span.1].to_owned();
        let placeholder = serde_json::Value::String("\u{0}wagw-migrate\u{0}".to_owned());
        let path = ConfigPath::from_segments(vec![
            Segment::Key("channels".to_owned()),
            Segment::Key("whatsapp".to_owned()),
        ]);
        let with = edit::set(text, &path, &placeholder)?;
        let with = with.replacen(&placeholder.to_string(), &value_text, 1);
        let old = if only_member {
            ConfigPath::from_segments(vec![Segment::Key(outer.to_owned())])
        } else {
            ConfigPath::parse(&from)?
        };
        let out = edit::unset(&with, &old)?.unwrap_or(with);
        notes.push(format!("Moved {from} → channels.whatsapp."));
        return Ok(Some(out));
    }
    // No `channels` yet: rename the key in place, so the file keeps its order and comments.
    let out = if only_member {
        // `whatsapp: {…}` → `channels: { whatsapp: {…} }`; `connectors: { whatsapp: {…} }` →
        // `channels: { whatsapp: {…} }`.
        let channels = key_text(text, okey, "channels");
        match inner {
            None => {
                let whatsapp = key_text(text, okey, "whatsapp");
                let t = splice(text, ovalue.span.1, ovalue.span.1, " }");
                splice(
                    &t,
                    okey.start,
                    value_node.span.0,
                    &format!("{channels}: {{ {whatsapp}: "),
                )
            }
            Some(_) => {
                let key_end = okey.start + text[okey.start..].find(':').unwrap_or(okey.name.len());
                splice(text, okey.start, key_end, &channels)
            }
        }
    } else {
        let value_text = text[value_node.span.0..value_node.span.1].to_owned();
        let placeholder = serde_json::Value::String("\u{0}wagw-migrate\u{0}".to_owned());
        let path = ConfigPath::from_segments(vec![Segment::Key("channels".to_owned())]);
        let with = edit::set(text, &path, &placeholder)?;
        let whatsapp = key_text(text, okey, "whatsapp");
        let with = with.replacen(
            &placeholder.to_string(),
            &format!("{{ {whatsapp}: {value_text} }}"),
            1,
        );
        edit::unset(&with, &ConfigPath::parse(&from)?)?.unwrap_or(with)
    };
    notes.push(format!("Moved {from} → channels.whatsapp."));
    Ok(Some(out))
}

/// Milady's outgoing `messagePrefix` → `messages.responsePrefix`.
fn milady_prefix(text: &str, notes: &mut Vec<String>) -> Result<String, EditError> {
    let mut text = text.to_owned();
    let channel = ConfigPath::parse("channels.whatsapp.messagePrefix")?;
    if let Some(prefix) = edit::get(&text, &channel)? {
        let response = ConfigPath::parse("messages.responsePrefix")?;
        if edit::get(&text, &response)?.is_some() {
            notes.push(
                "channels.whatsapp.messagePrefix was removed: in Milady it is an outgoing prefix, and messages.responsePrefix is set already".to_owned(),
            );
        } else {
            text = edit::set(&text, &response, &prefix)?;
            notes.push(format!(
                "Moved channels.whatsapp.messagePrefix → messages.responsePrefix ({prefix}): Milady's messagePrefix is put before outgoing replies; in wagw (as in OpenClaw) messagePrefix is put before inbound messages, so it becomes responsePrefix."
            ));
        }
        text = edit::unset(&text, &channel)?.unwrap_or(text);
    }
    let accounts = ConfigPath::parse("channels.whatsapp.accounts")?;
    if let Some(serde_json::Value::Object(map)) = edit::get(&text, &accounts)? {
        for (id, account) in map {
            if account.get("messagePrefix").is_some() {
                let path = ConfigPath::from_segments(vec![
                    Segment::Key("channels".to_owned()),
                    Segment::Key("whatsapp".to_owned()),
                    Segment::Key("accounts".to_owned()),
                    Segment::Key(id.clone()),
                    Segment::Key("messagePrefix".to_owned()),
                ]);
                text = edit::unset(&text, &path)?.unwrap_or(text);
                notes.push(format!(
                    "Removed {path}: an outgoing prefix in Milady; wagw's outgoing prefix is messages.responsePrefix, one for every account."
                ));
            }
        }
    }
    Ok(text)
}

/// Rewrites the older layouts in `text`. Nothing found: `layouts` is empty and `text`
/// unchanged.
pub fn migrate(text: &str) -> Result<Migration, EditError> {
    let mut notes = Vec::new();
    let mut layouts = Vec::new();
    let mut out = text.to_owned();
    let root = parse(text)?;
    let milady = top_member(&root, "connectors").is_some_and(
        |(_, c)| matches!(&c.value, Value::Object(m) if m.iter().any(|(k, _)| k.name == "whatsapp")),
    );
    if milady {
        if let Some(t) = move_into_channels(&out, "connectors", Some("whatsapp"), &mut notes)? {
            out = milady_prefix(&t, &mut notes)?;
            layouts.push(Layout::Milady);
        }
        if top_member(&root, "env").is_some() {
            notes.push(
                "The top-level env section stays where it is (the Cloud API's credentials)."
                    .to_owned(),
            );
        }
        let foreign: Vec<&str> = match &root.value {
            Value::Object(m) => m
                .iter()
                .map(|(k, _)| k.name.as_str())
                .filter(|k| {
                    matches!(
                        *k,
                        "name" | "description" | "bio" | "modelProvider" | "secrets" | "plugins"
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        if !foreign.is_empty() {
            notes.push(format!(
                "Left as written, for you to remove: {} (Milady character settings, not wagw's).",
                foreign.join(", ")
            ));
        }
    }
    if top_member(&parse(&out)?, "whatsapp").is_some()
        && let Some(t) = move_into_channels(&out, "whatsapp", None, &mut notes)?
    {
        out = t;
        layouts.push(Layout::TopLevelWhatsapp);
    }
    Ok(Migration {
        layouts,
        text: out,
        notes,
    })
}

/// A line diff of `old` → `new` in unified form (`-`/`+` lines, two lines of context,
/// `@@ -a,b +c,d @@` hunk headers). Empty when they are equal.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table (config files are small).
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // (tag, old line index, new line index, text)
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as `diff -u` shows them.
            ops.push(('-', i, j, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 2;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = String::new();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let old_len = hunk.iter().filter(|o| o.0 != '+').count();
        let new_len = hunk.iter().filter(|o| o.0 != '-').count();
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            hunk[0].1 + 1,
            hunk[0].2 + 1
        ));
        for (tag, _, _, line) in hunk {
            out.push(*tag);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn diff_marks_changes_with_context() {
        let d = line_diff("a\nb\nc\nd\n", "a\nB\nc\nd\n");
        assert_eq!(d, "@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n");
        assert_eq!(line_diff("x\n", "x\n"), "");
    }
}
