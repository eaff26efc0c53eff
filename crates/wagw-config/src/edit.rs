//! Reading and editing one value of a config file's text in place.
//!
//! `/config set` from a chat and the layout migration change a file the user wrote by
//! hand. Re-serializing the parsed tree would drop every comment and reorder keys, so the
//! edits here splice the text instead: the JSON5 parser records the byte range of every
//! value and key, and only the edited value (or member) changes. Everything outside it —
//! comments, order, indentation, quoting style — stays byte for byte.
//!
//! ```
//! use wagw_config::edit::{ConfigPath, set, unset};
//! let text = "{\n  // who may DM\n  channels: { whatsapp: { dmPolicy: 'pairing' } },\n}\n";
//! let path = ConfigPath::parse("channels.whatsapp.dmPolicy")?;
//! let edited = set(text, &path, &serde_json::json!("allowlist"))?;
//! assert_eq!(edited, "{\n  // who may DM\n  channels: { whatsapp: { dmPolicy: \"allowlist\" } },\n}\n");
//! let removed = unset(&edited, &path)?.expect("it was set");
//! assert_eq!(removed, "{\n  // who may DM\n  channels: { whatsapp: { } },\n}\n");
//! # Ok::<(), wagw_config::edit::EditError>(())
//! ```

use std::fmt;

use serde_json::Value as Json;
use thiserror::Error;

use crate::json5::{self, Node, Number, Value};

/// One step of a [`ConfigPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member.
    Key(String),
    /// An array item.
    Index(usize),
}

/// A dotted path into the config: `channels.whatsapp.allowFrom[0]`,
/// `channels.whatsapp.groups["123@g.us"].requireMention`. It displays in the form the
/// loader's problems use, so a path from an error message can be pasted back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath(Vec<Segment>);

/// Why a path or an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    /// The path is not well formed.
    #[error("invalid path `{path}`: {reason}")]
    Path {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file does not parse; it has to be fixed before it can be edited.
    #[error("the config file does not parse (line {line}, column {column}): {message}")]
    Syntax {
        /// Line of the syntax error.
        line: u32,
        /// Column of the syntax error.
        column: u32,
        /// What the parser said.
        message: String,
    },
    /// The path goes through something that is not an object or array (a string, a number),
    /// or indexes past the end of an array.
    #[error("cannot reach `{path}`: `{at}` is {found}")]
    Unreachable {
        /// The path as given.
        path: String,
        /// The part of the path that was reached.
        at: String,
        /// What is there.
        found: String,
    },
}

impl ConfigPath {
    /// Parses `a.b[0]["x.y"].c`. Keys are bare (any characters but `.`, `[`, `]`, quotes
    /// and spaces) or quoted inside brackets; indexes are decimal.
    pub fn parse(text: &str) -> Result<ConfigPath, EditError> {
        let err = |reason: &str| EditError::Path {
            path: text.to_owned(),
            reason: reason.to_owned(),
        };
        let chars: Vec<char> = text.trim().chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        let mut expect_key = true;
        while i < chars.len() {
            match chars[i] {
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|k| i + k)
                        .ok_or_else(|| err("a '[' is never closed"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if let Some(q) = inner.chars().next().filter(|c| *c == '"' || *c == '\'') {
                        if inner.len() < 2 || !inner.ends_with(q) {
                            return Err(err("a quoted key in brackets needs its closing quote"));
                        }
                        let key: Json = if q == '"' {
                            serde_json::from_str(inner)
                                .map_err(|_| err("the quoted key is not a valid string"))?
                        } else {
                            Json::String(inner[1..inner.len() - 1].to_owned())
                        };
                        segments.push(Segment::Key(key.as_str().unwrap_or_default().to_owned()));
                    } else {
                        let index = inner.parse::<usize>().map_err(|_| {
                            err("brackets hold an index ([0]) or a quoted key ([\"123@g.us\"])")
                        })?;
                        segments.push(Segment::Index(index));
                    }
                    i = close + 1;
                    expect_key = false;
                }
                '.' => {
                    if expect_key {
                        return Err(err("a key is missing around a '.'"));
                    }
                    i += 1;
                    expect_key = true;
                    if i == chars.len() {
                        return Err(err("the path ends with '.'"));
                    }
                }
                _ => {
                    if !expect_key {
                        return Err(err("expected '.' or '[' between keys"));
                    }
                    let start = i;
                    while i < chars.len() && !matches!(chars[i], '.' | '[') {
                        let c = chars[i];
                        if c == ']' || c == '"' || c == '\'' || c.is_whitespace() {
                            return Err(err(&format!(
                                "unexpected {c:?} in a key (quote keys like [\"a b\"])"
                            )));
                        }
                        i += 1;
                    }
                    segments.push(Segment::Key(chars[start..i].iter().collect()));
                    expect_key = false;
                }
            }
        }
        if segments.is_empty() {
            return Err(err("the path is empty"));
        }
        Ok(ConfigPath(segments))
    }

    /// The steps, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// A path from steps (none: the whole document).
    pub fn from_segments(segments: Vec<Segment>) -> ConfigPath {
        ConfigPath(segments)
    }

    /// True when `self` is `other` or lies inside it.
    pub fn starts_with(&self, other: &ConfigPath) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for s in &self.0 {
            out = match s {
                Segment::Key(k) => crate::de::join_key(&out, k),
                Segment::Index(i) => crate::de::join_index(&out, *i),
            };
        }
        f.write_str(&out)
    }
}

impl std::str::FromStr for ConfigPath {
    type Err = EditError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConfigPath::parse(s)
    }
}

fn parse_doc(text: &str) -> Result<Node, EditError> {
    json5::parse(text).map_err(|e| EditError::Syntax {
        line: e.pos.line,
        column: e.pos.column,
        message: e.message,
    })
}

/// A parsed value as JSON (`NaN` and infinities become `null`).
pub(crate) fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(Number::PosInt(n)) => Json::from(*n),
        Value::Number(Number::NegInt(n)) => Json::from(*n),
        Value::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(members) => Json::Object(
            members
                .iter()
                .map(|(k, v)| (k.name.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// Parses one JSON5 value (`"x"`, `'x'`, `[1, 2]`, `{ a: true }`, `42`) as JSON.
pub fn parse_value(text: &str) -> Result<Json, EditError> {
    parse_doc(text).map(|n| to_json(&n))
}

/// The whole document as JSON.
pub fn document(text: &str) -> Result<Json, EditError> {
    parse_doc(text).map(|n| to_json(&n))
}

/// Where a path leads in a parsed document.
enum Found<'a> {
    /// The value is there.
    Value(&'a Node),
    /// The path stops at `depth` steps: `node` (an object) has no member `segments[depth]`.
    MissingIn { node: &'a Node, depth: usize },
}

fn find<'a>(root: &'a Node, path: &ConfigPath) -> Result<Found<'a>, EditError> {
    let mut node = root;
    for (depth, segment) in path.0.iter().enumerate() {
        let next = match (&node.value, segment) {
            (Value::Object(members), Segment::Key(k)) => {
                // A duplicate key is a problem the loader reports; the last one is edited,
                // as it is the one JSON readers keep.
                match members.iter().rev().find(|(key, _)| &key.name == k) {
                    Some((_, v)) => v,
                    None => return Ok(Found::MissingIn { node, depth }),
                }
            }
            (Value::Array(items), Segment::Index(i)) => match items.get(*i) {
                Some(v) => v,
                None => {
                    return Err(EditError::Unreachable {
                        path: path.to_string(),
                        at: ConfigPath(path.0[..=depth].to_vec()).to_string(),
                        found: format!("past the end of an array of {}", items.len()),
                    });
                }
            },
            (value, _) => {
                return Err(EditError::Unreachable {
                    path: path.to_string(),
                    at: ConfigPath(path.0[..depth].to_vec()).to_string(),
                    found: match (value, segment) {
                        (Value::Object(_), Segment::Index(_)) => {
                            "an object, not an array (use a key)".to_owned()
                        }
                        (Value::Array(_), Segment::Key(_)) => {
                            "an array, not an object (use an index like [0])".to_owned()
                        }
                        (other, _) => other.describe(),
                    },
                });
            }
        };
        node = next;
    }
    Ok(Found::Value(node))
}

/// The value at `path`, or `None` when the file does not set it.
pub fn get(text: &str, path: &ConfigPath) -> Result<Option<Json>, EditError> {
    let root = parse_doc(text)?;
    match find(&root, path) {
        Ok(Found::Value(n)) => Ok(Some(to_json(n))),
        Ok(Found::MissingIn { .. }) => Ok(None),
        Err(EditError::Unreachable { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The value at `path` (`None`: the whole document) as pretty JSON in file order, every
/// secret inside replaced by `"[redacted]"`; `None` when the file does not set it.
pub fn show(text: &str, path: Option<&ConfigPath>) -> Result<Option<String>, EditError> {
    let root = parse_doc(text)?;
    let empty = ConfigPath(Vec::new());
    let path = path.unwrap_or(&empty);
    let node = match find(&root, path) {
        Ok(Found::Value(n)) => n,
        Ok(Found::MissingIn { .. }) | Err(EditError::Unreachable { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = String::new();
    pretty(node, &mut path.0.clone(), 0, &mut out);
    Ok(Some(out))
}

fn pretty(node: &Node, path: &mut Vec<Segment>, depth: usize, out: &mut String) {
    if is_secret(&ConfigPath(path.clone())) {
        out.push_str("\"[redacted]\"");
        return;
    }
    let pad = |d: usize| "  ".repeat(d);
    match &node.value {
        Value::Object(members) if !members.is_empty() => {
            out.push_str("{\n");
            for (i, (k, v)) in members.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&Json::String(k.name.clone()).to_string());
                out.push_str(": ");
                path.push(Segment::Key(k.name.clone()));
                pretty(v, path, depth + 1, out);
                path.pop();
                out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                path.push(Segment::Index(i));
                pretty(v, path, depth + 1, out);
                path.pop();
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        _ => out.push_str(&to_json(node).to_string()),
    }
}

/// A key as written in the file: bare when it is an identifier, quoted otherwise (or when
/// the object's keys are quoted, as in a JSON file).
fn render_key(name: &str, quoted_style: bool) -> String {
    let ident = name
        .chars()
        .next()
        .is_some_and(|c| c == '$' || c == '_' || c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c == '$' || c == '_' || c.is_ascii_alphanumeric());
    if ident && !quoted_style {
        name.to_owned()
    } else {
        Json::String(name.to_owned()).to_string()
    }
}

/// A new value's text: JSON, which is JSON5. Objects and arrays stay on one line.
fn render_value(value: &Json) -> String {
    value.to_string()
}

/// Byte offset of the start of the line holding `at`.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Skips spaces, tabs and comments from `at`; line breaks too when `lines`.
fn skip_trivia(text: &str, mut at: usize, lines: bool) -> usize {
    let b = text.as_bytes();
    loop {
        match b.get(at) {
            Some(b' ' | b'\t') => at += 1,
            Some(b'\r' | b'\n') if lines => at += 1,
            Some(b'/') if b.get(at + 1) == Some(&b'/') => {
                at = text[at..].find('\n').map_or(text.len(), |i| at + i);
            }
            Some(b'/') if b.get(at + 1) == Some(&b'*') => {
                at = text[at + 2..]
                    .find("*/")
                    .map_or(text.len(), |i| at + 2 + i + 2);
            }
            _ => return at,
        }
    }
}

/// The offset just after the comma that follows a member or item ending at `end`, if one
/// does (comments and line breaks may come between).
fn comma_after(text: &str, end: usize) -> Option<usize> {
    let at = skip_trivia(text, end, true);
    (text.as_bytes().get(at) == Some(&b',')).then_some(at + 1)
}

/// Splices `replacement` over `range`.
fn splice(text: &str, range: (usize, usize), replacement: &str) -> String {
    let mut out = String::with_capacity(text.len() + replacement.len());
    out.push_str(&text[..range.0]);
    out.push_str(replacement);
    out.push_str(&text[range.1..]);
    out
}

/// Sets `path` to `value`, creating missing objects on the way, and returns the new text.
/// An existing value is replaced where it is written; a new member goes after the last
/// member of its object, indented like it.
pub fn set(text: &str, path: &ConfigPath, value: &Json) -> Result<String, EditError> {
    let root = parse_doc(text)?;
    match find(&root, path)? {
        Found::Value(node) => Ok(splice(text, node.span, &render_value(value))),
        Found::MissingIn { node, depth } => {
            // Wrap the value in the objects still missing below the first absent key.
            let mut wrapped = value.clone();
            for segment in path.0[depth + 1..].iter().rev() {
                match segment {
                    Segment::Key(k) => {
                        let mut m = serde_json::Map::new();
                        m.insert(k.clone(), wrapped);
                        wrapped = Json::Object(m);
                    }
                    Segment::Index(_) => {
                        return Err(EditError::Unreachable {
                            path: path.to_string(),
                            at: ConfigPath(path.0[..depth + 1].to_vec()).to_string(),
                            found: "not set, and a new array cannot be created by index".to_owned(),
                        });
                    }
                }
            }
            let Segment::Key(key) = &path.0[depth] else {
                // `find` only stops at a missing object member.
                return Err(EditError::Unreachable {
                    path: path.to_string(),
                    at: path.to_string(),
                    found: "not an object".to_owned(),
                });
            };
            Ok(insert_member(text, node, key, &render_value(&wrapped)))
        }
    }
}

/// Adds `key: value` to the object `node`, in the style of its last member.
fn insert_member(text: &str, node: &Node, key: &str, value: &str) -> String {
    let Value::Object(members) = &node.value else {
        return text.to_owned();
    };
    let Some((last_key, last_value)) = members.last() else {
        // `{}` or `{ }` (possibly spanning lines with comments): right after the brace.
        let open = node.span.0 + 1;
        let inner = &text[open..node.span.1 - 1];
        let member = format!("{}: {value}", render_key(key, false));
        return if inner.contains('\n') {
            let indent = indent_of(text, node.span.0);
            splice(text, (open, open), &format!("\n{indent}  {member},"))
        } else if inner.trim().is_empty() {
            splice(text, (open, node.span.1 - 1), &format!(" {member} "))
        } else {
            splice(text, (open, open), &format!(" {member},"))
        };
    };
    let quoted = matches!(text.as_bytes().get(last_key.start), Some(b'"' | b'\''));
    let member = format!("{}: {value}", render_key(key, quoted));
    let multiline = text[node.span.0..last_key.start].contains('\n');
    let comma = comma_after(text, last_value.span.1);
    if multiline {
        let indent = &text[line_start(text, last_key.start)..last_key.start];
        let indent: String = indent.chars().take_while(|c| c.is_whitespace()).collect();
        // After the last member's line (its comma and any comment on that line stay put).
        let after = comma.unwrap_or(last_value.span.1);
        let eol = text[after..].find('\n').map_or(text.len(), |i| after + i);
        let eol = if text[..eol].ends_with('\r') {
            eol - 1
        } else {
            eol
        };
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        match comma {
            Some(_) => splice(text, (eol, eol), &format!("{nl}{indent}{member},")),
            None => {
                let t = splice(text, (eol, eol), &format!("{nl}{indent}{member}"));
                splice(&t, (last_value.span.1, last_value.span.1), ",")
            }
        }
    } else {
        match comma {
            Some(c) => splice(text, (c, c), &format!(" {member},")),
            None => splice(
                text,
                (last_value.span.1, last_value.span.1),
                &format!(", {member}"),
            ),
        }
    }
}

/// The leading whitespace of the line holding `at`.
fn indent_of(text: &str, at: usize) -> String {
    text[line_start(text, at)..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Removes `path` and returns the new text, or `None` when the file does not set it.
/// The member's line goes too when nothing else is on it; comments stay.
pub fn unset(text: &str, path: &ConfigPath) -> Result<Option<String>, EditError> {
    let root = parse_doc(text)?;
    let Some((last, parent_path)) = path.0.split_last() else {
        return Ok(None);
    };
    let parent = match find(&root, &ConfigPath(parent_path.to_vec())) {
        Ok(Found::Value(n)) => n,
        Ok(Found::MissingIn { .. }) | Err(EditError::Unreachable { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    // (start of the member or item, end of its value) in document order.
    let spans: Vec<(usize, usize)> = match &parent.value {
        Value::Object(members) => members.iter().map(|(k, v)| (k.start, v.span.1)).collect(),
        Value::Array(items) => items.iter().map(|v| v.span).collect(),
        _ => return Ok(None),
    };
    let index = match (&parent.value, last) {
        (Value::Object(members), Segment::Key(k)) => {
            members.iter().rposition(|(key, _)| &key.name == k)
        }
        (Value::Array(items), Segment::Index(i)) => (*i < items.len()).then_some(*i),
        _ => None,
    };
    let Some(index) = index else {
        return Ok(None);
    };
    let (start, end) = spans[index];
    let own_comma = comma_after(text, end);
    let mut del = (start, own_comma.unwrap_or(end));
    // The last member loses the comma before it instead, so `{a: 1, b: 2}` becomes `{a: 1}`.
    let mut before: Option<(usize, usize)> = None;
    if own_comma.is_none() && index > 0 {
        let prev_end = spans[index - 1].1;
        if let Some(c) = comma_after(text, prev_end) {
            before = Some((c - 1, c));
        }
    }
    let ls = line_start(text, start);
    let rest_of_line = text[del.1..].find('\n').map_or(text.len(), |i| del.1 + i);
    let alone = text[ls..start].trim().is_empty() && text[del.1..rest_of_line].trim().is_empty();
    if alone && text[node_open(parent)..ls].contains('\n') {
        del = (ls, (rest_of_line + 1).min(text.len()));
    } else if !alone {
        // `{ a: 1, b: 2 }` → `{ b: 2 }`: the space after the comma goes too.
        let b = text.as_bytes();
        while b.get(del.1) == Some(&b' ') && own_comma.is_some() {
            del.1 += 1;
        }
        if own_comma.is_none() {
            // `{ a: 1, b: 2 }` → `{ a: 1 }`: the space before the member goes.
            while del.0 > 0 && b.get(del.0 - 1) == Some(&b' ') {
                del.0 -= 1;
            }
            if let Some(bf) = before {
                // Merge: delete from the comma to the end of the member.
                del.0 = bf.0;
                before = None;
            }
        }
    }
    let mut out = splice(text, del, "");
    if let Some(bf) = before
        && bf.1 <= del.0
    {
        out = splice(&out, bf, "");
    }
    Ok(Some(out))
}

/// Where an object or array's opening bracket is.
fn node_open(node: &Node) -> usize {
    node.span.0
}

/// Config paths that hold secrets: they are never shown or set from a chat. A key whose
/// name says token, secret or password is one wherever it is, and so are the database URL
/// (it carries a password), the top-level `env` (credentials for transports) and an exec
/// sink's environment.
pub fn is_secret(path: &ConfigPath) -> bool {
    let keys: Vec<&str> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    if keys.iter().any(|k| secret_name(k)) {
        return true;
    }
    matches!(keys.as_slice(), ["storage", "url", ..] | ["env", ..])
        || (keys.len() >= 3 && keys[0] == "gateway" && keys[1] == "agents" && keys[2] == "env")
}

/// The host's settings, by path, as `text` sets them: what the gateway runs and listens on
/// (`gateway`: sinks, their commands and URLs, the listen address, the data directory), its
/// storage, its environment (`env`), which local files and private addresses media may come
/// from (`media.localRoots`, `media.allowPrivateNetworks`), and where credentials go (every
/// `apiBase`: the Cloud API token is sent there; every `authDir`: a link is stored there). A chat edit must leave all of them as they
/// were, whatever path it names (a parent object or the whole section included): someone
/// holding the phone must not get to run commands on the host, read its files or redirect
/// its credentials.
pub fn host_settings(text: &str) -> Result<Vec<(String, Json)>, EditError> {
    fn walk(value: &Json, path: &str, out: &mut Vec<(String, Json)>) {
        match value {
            Json::Object(m) => {
                for (k, v) in m {
                    let here = format!("{path}.{k}");
                    if k == "apiBase" || k == "authDir" {
                        out.push((here.clone(), v.clone()));
                    }
                    walk(v, &here, out);
                }
            }
            Json::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let root = get(text, &ConfigPath(Vec::new()))?.unwrap_or(Json::Null);
    let mut out = Vec::new();
    for key in ["gateway", "storage", "env"] {
        out.push((key.to_owned(), root.get(key).cloned().unwrap_or(Json::Null)));
    }
    for key in ["localRoots", "allowPrivateNetworks"] {
        let value = root.get("media").and_then(|m| m.get(key)).cloned();
        out.push((format!("media.{key}"), value.unwrap_or(Json::Null)));
    }
    walk(&root, "", &mut out);
    Ok(out)
}

fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "apikey",
        "api_key",
        "credential",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// A copy of `value` (found at `path`) with every secret inside replaced by
/// `"[redacted]"`, for showing a section in a chat.
pub fn redact(value: &Json, path: &ConfigPath) -> Json {
    if is_secret(path) {
        return Json::String("[redacted]".to_owned());
    }
    match value {
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut p = path.0.clone();
                    p.push(Segment::Key(k.clone()));
                    (k.clone(), redact(v, &ConfigPath(p)))
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut p = path.0.clone();
                    p.push(Segment::Index(i));
                    redact(v, &ConfigPath(p))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> ConfigPath {
        ConfigPath::parse(s).unwrap()
    }

    #[test]
    fn spans_cover_the_value_text() {
        let src = "{ a: 'é👀', b: [1, {c: 2}], d: -0x10 }";
        let root = json5::parse(src).unwrap();
        let Value::Object(m) = &root.value else {
            panic!()
        };
        let texts: Vec<&str> = m.iter().map(|(_, v)| &src[v.span.0..v.span.1]).collect();
        assert_eq!(texts, ["'é👀'", "[1, {c: 2}]", "-0x10"]);
        assert_eq!(&src[m[1].0.start..m[1].0.start + 1], "b");
        assert_eq!(root.span, (0, src.len()));
    }

    #[test]
    fn insert_in_multiline_object_keeps_style() {
        let src = "{\n  channels: {\n    whatsapp: {\n      dmPolicy: 'pairing', // why\n    },\n  },\n}\n";
        let out = set(
            src,
            &p("channels.whatsapp.allowFrom"),
            &json!(["+15551234567"]),
        )
        .unwrap();
        assert_eq!(
            out,
            "{\n  channels: {\n    whatsapp: {\n      dmPolicy: 'pairing', // why\n      allowFrom: [\"+15551234567\"],\n    },\n  },\n}\n"
        );
        let src = "{\n  \"a\": 1\n}";
        assert_eq!(
            set(src, &p("b.c"), &json!(true)).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": {\"c\":true}\n}"
        );
    }

    #[test]
    fn unset_removes_the_line_or_the_member() {
        let src = "{\n  a: 1, // one\n  b: 2,\n  c: 3\n}";
        assert_eq!(
            unset(src, &p("b")).unwrap().unwrap(),
            "{\n  a: 1, // one\n  c: 3\n}"
        );
        assert_eq!(
            unset(src, &p("c")).unwrap().unwrap(),
            "{\n  a: 1, // one\n  b: 2\n}"
        );
        assert_eq!(
            unset("{ a: 1, b: 2 }", &p("b")).unwrap().unwrap(),
            "{ a: 1 }"
        );
        assert_eq!(
            unset("{ a: 1, b: 2 }", &p("a")).unwrap().unwrap(),
            "{ b: 2 }"
        );
        assert_eq!(
            unset("{ a: [1, 2, 3] }", &p("a[1]")).unwrap().unwrap(),
            "{ a: [1, 3] }"
        );
        assert_eq!(unset("{ a: 1 }", &p("z")).unwrap(), None);
        assert_eq!(unset("{ a: 1 }", &p("a.b")).unwrap(), None);
    }

    #[test]
    fn secrets() {
        for s in [
            "gateway.token",
            "gateway.agents[0].secret",
            "channels.whatsapp.cloud.accessToken",
            "channels.whatsapp.cloud.appSecret",
            "channels.whatsapp.accounts.biz.cloud.verifyToken",
            "storage.url",
            "env.WHATSAPP_ACCESS_TOKEN",
            "env",
        ] {
            assert!(is_secret(&p(s)), "{s}");
        }
        for s in [
            "gateway.listen",
            "channels.whatsapp.dmPolicy",
            "gateway.agents[0].url",
        ] {
            assert!(!is_secret(&p(s)), "{s}");
        }
        let shown = redact(
            &json!({"listen": "127.0.0.1:7420", "token": "x", "agents": [{"id": "a", "secret": "s"}]}),
            &p("gateway"),
        );
        assert_eq!(
            shown,
            json!({"listen": "127.0.0.1:7420", "token": "[redacted]", "agents": [{"id": "a", "secret": "[redacted]"}]})
        );
    }
}
