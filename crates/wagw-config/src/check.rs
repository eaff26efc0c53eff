//! Value checks that need more than a JSON type: phone numbers, JIDs, regexes, ranges.
//!
//! Each check records a [`Problem`] at the value's dotted path (with its line and column)
//! and returns what it could parse, so one pass reports every problem of a file.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use regex::{Regex, RegexBuilder};
use wagw_core::{IdentityError, Jid, JidKind, Phone};

use crate::de::{join_index, join_key};
use crate::error::{Problem, ProblemKind};
use crate::file::{DmEntry, GroupEntry};
use crate::json5::Pos;
use crate::settings::{AllowEntry, DmSettings, GroupKey, GroupSettings};

/// Collects problems and warnings during validation, pointing each at its line.
pub(crate) struct Checker<'a> {
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    positions: &'a HashMap<String, Pos>,
    /// Paths whose value already failed its type check (it holds a placeholder).
    failed: BTreeSet<String>,
}

impl<'a> Checker<'a> {
    pub fn new(positions: &'a HashMap<String, Pos>, failed: BTreeSet<String>) -> Checker<'a> {
        Checker {
            problems: Vec::new(),
            warnings: Vec::new(),
            positions,
            failed,
        }
    }

    /// True when the value at `path` failed its type check, so checks that depend on it
    /// (a sink's `url` depends on its `type`) would only report noise.
    pub fn failed(&self, path: &str) -> bool {
        self.failed.contains(path)
    }

    /// The position of `path`, or of its nearest written ancestor.
    pub fn pos(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            // Drop the last segment: `a.b`, `a[0]` or `a["k"]`.
            let cut = if p.ends_with(']') {
                p.rfind('[')
            } else {
                p.rfind(['.', '['])
            };
            match cut {
                Some(i) => p = &p[..i],
                None => return self.positions.get("").copied(),
            }
        }
    }

    /// True when the file wrote this path.
    pub fn written(&self, path: &str) -> bool {
        self.positions.contains_key(path)
    }

    pub fn error(&mut self, path: &str, kind: ProblemKind, message: impl Into<String>) {
        let pos = self.pos(path);
        self.problems.push(Problem {
            path: path.to_string(),
            pos,
            kind,
            message: message.into(),
        });
    }

    pub fn warn(&mut self, path: &str, kind: ProblemKind, message: impl Into<String>) {
        let pos = self.pos(path);
        self.warnings.push(Problem {
            path: path.to_string(),
            pos,
            kind,
            message: message.into(),
        });
    }

    /// A whole number that must be at least `min`.
    pub fn at_least<T: Copy + Into<u64>>(&mut self, path: &str, value: Option<T>, min: u64) {
        if let Some(v) = value
            && v.into() < min
        {
            self.error(
                path,
                ProblemKind::Value,
                format!("must be at least {min}, found {}", v.into()),
            );
        }
    }

    /// A required value: records a `Missing` problem when absent.
    pub fn required<'v, T>(
        &mut self,
        path: &str,
        value: &'v Option<T>,
        what: &str,
    ) -> Option<&'v T> {
        if value.is_none() {
            let key = path.rsplit('.').next().unwrap_or(path);
            self.error(
                path,
                ProblemKind::Missing,
                format!("`{key}` is required: {what}"),
            );
        }
        value.as_ref()
    }

    /// `allowFrom` / `groupAllowFrom`: `"*"`, phone numbers or `<digits>@lid`.
    pub fn allow_list(&mut self, path: &str, list: &[String]) -> Vec<AllowEntry> {
        let mut out = Vec::with_capacity(list.len());
        for (i, raw) in list.iter().enumerate() {
            let p = join_index(path, i);
            if raw.trim() == "*" {
                out.push(AllowEntry::Any);
                continue;
            }
            let stripped = wagw_core::strip_whatsapp_prefix(raw);
            if stripped.to_ascii_lowercase().ends_with("@lid") {
                match wagw_core::Lid::parse(stripped) {
                    Ok(lid) => out.push(AllowEntry::Lid(lid)),
                    Err(e) => self.error(&p, ProblemKind::Phone, e.to_string()),
                }
                continue;
            }
            match Phone::parse(raw) {
                Ok(phone) => out.push(AllowEntry::Phone(phone)),
                Err(e) => {
                    let msg = allowlist_message(&e);
                    self.error(&p, ProblemKind::Phone, msg);
                }
            }
        }
        out
    }

    /// A single phone number value.
    pub fn phone(&mut self, path: &str, raw: &str) -> Option<Phone> {
        match Phone::parse(raw) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(path, ProblemKind::Phone, e.to_string());
                None
            }
        }
    }

    /// A group JID value.
    pub fn group_jid(&mut self, path: &str, raw: &str) -> Option<Jid> {
        match Jid::parse(raw) {
            Ok(j) if j.is_group() => Some(j),
            Ok(j) => {
                self.error(
                    path,
                    ProblemKind::Identity,
                    format!(
                        "{raw:?} is a {} JID; a group JID looks like \"120363012345678901@g.us\"",
                        j.kind()
                    ),
                );
                None
            }
            Err(e) => {
                self.error(
                    path,
                    ProblemKind::Identity,
                    format!("{e}; a group JID looks like \"120363012345678901@g.us\""),
                );
                None
            }
        }
    }

    /// The `groups` map: keys are `"*"` or group JIDs.
    pub fn groups(
        &mut self,
        path: &str,
        map: &BTreeMap<String, GroupEntry>,
    ) -> BTreeMap<GroupKey, GroupSettings> {
        let mut out = BTreeMap::new();
        for (key, entry) in map {
            let p = join_key(path, key);
            let k = if key.trim() == "*" {
                Some(GroupKey::Any)
            } else {
                match Jid::parse(key) {
                    Ok(j) if j.is_group() => Some(GroupKey::Group(j)),
                    Ok(j) if j.kind() == JidKind::User || j.kind() == JidKind::Lid => {
                        self.error(
                            &p,
                            ProblemKind::Identity,
                            format!(
                                "{key:?} is a person, not a group: `groups` keys are group JIDs (\"120363012345678901@g.us\") or \"*\"; to let a person trigger the agent in groups, add the number to groupAllowFrom"
                            ),
                        );
                        None
                    }
                    Ok(j) => {
                        self.error(
                            &p,
                            ProblemKind::Identity,
                            format!(
                                "{key:?} is a {} JID: `groups` keys are group JIDs (\"120363012345678901@g.us\") or \"*\"",
                                j.kind()
                            ),
                        );
                        None
                    }
                    Err(_) if Phone::parse(key).is_ok() => {
                        self.error(
                            &p,
                            ProblemKind::Identity,
                            format!(
                                "{key:?} is a phone number: `groups` keys are group JIDs (\"120363012345678901@g.us\") or \"*\"; to let a person trigger the agent in groups, add the number to groupAllowFrom"
                            ),
                        );
                        None
                    }
                    Err(e) => {
                        self.error(
                            &p,
                            ProblemKind::Identity,
                            format!(
                                "{e}; `groups` keys are group JIDs (\"120363012345678901@g.us\") or \"*\""
                            ),
                        );
                        None
                    }
                }
            };
            if let Some(k) = k {
                out.insert(
                    k,
                    GroupSettings {
                        require_mention: entry.require_mention,
                    },
                );
            }
        }
        out
    }

    /// The `dms` map: keys are phone numbers; two spellings of one number are an error.
    pub fn dms(
        &mut self,
        path: &str,
        map: &BTreeMap<String, DmEntry>,
    ) -> BTreeMap<Phone, DmSettings> {
        let mut out = BTreeMap::new();
        let mut spelled: BTreeMap<Phone, &str> = BTreeMap::new();
        for (key, entry) in map {
            let p = join_key(path, key);
            let Some(phone) = self.phone(&p, key) else {
                continue;
            };
            if let Some(first) = spelled.get(&phone) {
                self.error(
                    &p,
                    ProblemKind::DuplicateKey,
                    format!("{key:?} is the same number as {first:?} ({phone}); keep one"),
                );
                continue;
            }
            spelled.insert(phone.clone(), key);
            out.insert(
                phone,
                DmSettings {
                    history_limit: entry.history_limit,
                },
            );
        }
        out
    }

    /// Compiles a list of regexes; `case_insensitive` for mention patterns.
    pub fn regexes(&mut self, path: &str, list: &[String], case_insensitive: bool) -> Vec<Regex> {
        list.iter()
            .enumerate()
            .filter_map(|(i, p)| self.regex(&join_index(path, i), p, case_insensitive))
            .collect()
    }

    /// Compiles one regex.
    pub fn regex(&mut self, path: &str, pattern: &str, case_insensitive: bool) -> Option<Regex> {
        match RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()
        {
            Ok(r) => Some(r),
            Err(e) => {
                let text = e.to_string();
                let detail = text
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("error: "))
                    .or_else(|| text.lines().last())
                    .unwrap_or("invalid")
                    .to_string();
                self.error(
                    path,
                    ProblemKind::Regex,
                    format!("invalid regular expression {pattern:?}: {detail}"),
                );
                None
            }
        }
    }
}

/// The `Phone::parse` error plus what to do for the usual allowlist mix-ups.
fn allowlist_message(e: &IdentityError) -> String {
    let hint = match e {
        IdentityError::NotAPhone {
            kind: JidKind::Lid, ..
        } => {
            "; list the person's phone number instead (LID senders are matched through their number)"
        }
        IdentityError::NotAPhone {
            kind: JidKind::Group,
            ..
        } => "; groups go in the `groups` map, not in an allowlist",
        IdentityError::InvalidCharacter { ch: '*', .. } => "; the wildcard is \"*\" on its own",
        _ => "",
    };
    format!("{e}{hint}")
}

/// Time zones: `UTC`, `GMT`, `local` (the host's zone, resolved at start), or an IANA
/// `Area/Location` name.
pub(crate) fn timezone_ok(tz: &str) -> bool {
    const AREAS: &[&str] = &[
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
        "Etc",
    ];
    if tz == "UTC" || tz == "GMT" || tz == "local" {
        return true;
    }
    let mut parts = tz.split('/');
    let area = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    AREAS.contains(&area)
        && !rest.is_empty()
        && rest.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timezones() {
        for ok in [
            "UTC",
            "local",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+3",
        ] {
            assert!(timezone_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "utc",
            "Berlin",
            "Europe/",
            "Mars/Olympus",
            "Europe/Ber lin",
        ] {
            assert!(!timezone_ok(bad), "{bad}");
        }
    }

    #[test]
    fn nearest_position() {
        let mut positions = HashMap::new();
        positions.insert(String::new(), Pos { line: 1, column: 1 });
        positions.insert("a".to_string(), Pos { line: 2, column: 3 });
        positions.insert("a.b[\"x.y\"]".to_string(), Pos { line: 4, column: 5 });
        let c = Checker::new(&positions, BTreeSet::new());
        assert_eq!(c.pos("a.c.d"), Some(Pos { line: 2, column: 3 }));
        assert_eq!(c.pos("a.b[\"x.y\"]"), Some(Pos { line: 4, column: 5 }));
        assert_eq!(c.pos("a.b[\"x.y\"].z"), Some(Pos { line: 4, column: 5 }));
        assert_eq!(c.pos("q[3]"), Some(Pos { line: 1, column: 1 }));
    }
}
