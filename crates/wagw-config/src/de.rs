//! A serde `Deserializer` over the positioned JSON5 tree that records every problem and
//! keeps going.
//!
//! serde's usual deserializers stop at the first error. Here a wrong type, an unknown key,
//! a duplicate key or an unknown enum value is written to a [`Collector`] with its dotted
//! path and position, and a placeholder value is handed to the visitor instead, so the rest
//! of the file is still checked. The placeholder never escapes: a config with problems is
//! rejected as a whole. This works because every field of the file types in
//! [`crate::file`] is optional, so no visitor has a reason to fail on its own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::error::{Problem, ProblemKind};
use crate::json5::{Key, Node, Number, Pos, Value};

/// Where problems go while a file is read.
#[derive(Default)]
pub(crate) struct Collector {
    problems: RefCell<Vec<Problem>>,
}

impl Collector {
    pub fn push(&self, path: &str, pos: Option<Pos>, kind: ProblemKind, message: String) {
        self.problems.borrow_mut().push(Problem {
            path: path.to_string(),
            pos,
            kind,
            message,
        });
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems.into_inner()
    }
}

/// The error type serde needs. `recorded` errors are already in the collector.
#[derive(Debug)]
pub(crate) struct DeError {
    message: String,
    recorded: bool,
}

impl DeError {
    fn recorded() -> DeError {
        DeError {
            message: String::new(),
            recorded: true,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            recorded: false,
        }
    }
}

/// Appends a key to a dotted path: `a.b` for plain names, `a["x@g.us"]` otherwise.
pub(crate) fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

/// Appends an array index to a path.
pub(crate) fn join_index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// The closest candidate to `key`, if one is close enough to be a likely typo.
pub(crate) fn suggest<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(key)) {
        return Some(c);
    }
    candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()),
                *c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn one_of(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// Deserializes `T` from `node`, recording problems. Returns `None` only when a problem
/// stopped the value from being built at all (it is recorded too).
pub(crate) fn from_node<T: de::DeserializeOwned>(node: &Node, c: &Collector) -> Option<T> {
    match T::deserialize(NodeDe {
        node,
        path: String::new(),
        c,
    }) {
        Ok(v) => Some(v),
        Err(e) => {
            if !e.recorded {
                c.push("", Some(node.pos), ProblemKind::Type, e.message);
            }
            None
        }
    }
}

/// Records every position in the tree by path: the key's position for object members, the
/// value's for array items. Validation after deserialization uses it to point at lines.
pub(crate) fn index_positions(node: &Node) -> HashMap<String, Pos> {
    fn walk(node: &Node, path: &str, out: &mut HashMap<String, Pos>) {
        match &node.value {
            Value::Object(members) => {
                for (key, value) in members {
                    let p = join_key(path, &key.name);
                    out.entry(p.clone()).or_insert(key.pos);
                    walk(value, &p, out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = join_index(path, i);
                    out.insert(p.clone(), item.pos);
                    walk(item, &p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    out.insert(String::new(), node.pos);
    walk(node, "", &mut out);
    out
}

struct NodeDe<'a> {
    node: &'a Node,
    path: String,
    c: &'a Collector,
}

impl NodeDe<'_> {
    fn wrong_type(&self, expected: &str) {
        self.c.push(
            &self.path,
            Some(self.node.pos),
            ProblemKind::Type,
            format!("expected {expected}, found {}", self.node.value.describe()),
        );
    }

    fn record(&self, kind: ProblemKind, message: String) {
        self.c.push(&self.path, Some(self.node.pos), kind, message);
    }

    /// Records an error a visitor raised on its own (not expected with the file types).
    fn absorb(&self, e: DeError) -> DeError {
        if !e.recorded {
            self.record(ProblemKind::Type, e.message);
        }
        DeError::recorded()
    }

    fn integer(&self, min: i128, max: i128) -> Option<i128> {
        let v = match self.node.value {
            Value::Number(Number::PosInt(n)) => n as i128,
            Value::Number(Number::NegInt(n)) => n as i128,
            Value::Number(Number::Float(f)) if f.is_finite() && f.fract() == 0.0 => {
                self.record(
                    ProblemKind::Type,
                    format!(
                        "expected a whole number, found {f} written with a decimal point or exponent (write {f})"
                    ),
                );
                return None;
            }
            _ => {
                self.wrong_type(if min >= 0 {
                    "a whole number of 0 or more"
                } else {
                    "a whole number"
                });
                return None;
            }
        };
        if v < min {
            self.record(
                ProblemKind::Value,
                if min == 0 {
                    format!("must be 0 or more, found {v}")
                } else {
                    format!("must be at least {min}, found {v}")
                },
            );
            return None;
        }
        if v > max {
            self.record(
                ProblemKind::Value,
                format!("must be at most {max}, found {v}"),
            );
            return None;
        }
        Some(v)
    }
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let v = self.integer(<$ty>::MIN as i128, <$ty>::MAX as i128);
            visitor.$visit(v.and_then(|v| <$ty>::try_from(v).ok()).unwrap_or(0))
        }
    };
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(Number::PosInt(n)) => visitor.visit_u64(*n),
            Value::Number(Number::NegInt(n)) => visitor.visit_i64(*n),
            Value::Number(Number::Float(f)) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_str(s),
            Value::Array(_) => self.deserialize_seq(visitor),
            Value::Object(_) => self.deserialize_map(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => {
                self.wrong_type("true or false");
                visitor.visit_bool(false)
            }
        }
    }

    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);
    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let f = match self.node.value {
            Value::Number(Number::PosInt(n)) => n as f64,
            Value::Number(Number::NegInt(n)) => n as f64,
            Value::Number(Number::Float(f)) if f.is_finite() => f,
            Value::Number(Number::Float(_)) => {
                self.record(
                    ProblemKind::Value,
                    "must be a finite number (not Infinity or NaN)".to_string(),
                );
                0.0
            }
            _ => {
                self.wrong_type("a number");
                0.0
            }
        };
        visitor.visit_f64(f)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::String(s) => visitor.visit_str(s),
            _ => {
                self.wrong_type("a string");
                visitor.visit_str("")
            }
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.value != Value::Null {
            self.wrong_type("null");
        }
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items: &[Node] = match &self.node.value {
            Value::Array(items) => items,
            _ => {
                self.wrong_type("a list [ ... ]");
                &[]
            }
        };
        let seq = SeqDe {
            items: items.iter().enumerate(),
            path: &self.path,
            c: self.c,
        };
        visitor.visit_seq(seq).map_err(|e| self.absorb(e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.object(None, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.object(Some((name, fields)), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let fallback = variants.first().copied().unwrap_or("");
        let chosen = match &self.node.value {
            Value::String(s) if variants.contains(&s.as_str()) => s.as_str(),
            Value::String(s) => {
                let hint = suggest(s, variants)
                    .map(|v| format!(" (did you mean {v:?}?)"))
                    .unwrap_or_default();
                self.record(
                    ProblemKind::Value,
                    format!("unknown value {s:?}: expected {}{hint}", one_of(variants)),
                );
                fallback
            }
            _ => {
                self.wrong_type(&one_of(variants));
                fallback
            }
        };
        visitor
            .visit_enum(chosen.into_deserializer())
            .map_err(|e: DeError| self.absorb(e))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

impl<'a> NodeDe<'a> {
    fn object<'de, V: Visitor<'de>>(
        self,
        fields: Option<(&'static str, &'static [&'static str])>,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let members: &[(Key, Node)] = match &self.node.value {
            Value::Object(m) => m,
            _ => {
                self.wrong_type("an object { ... }");
                &[]
            }
        };
        let mut seen: HashMap<&str, Pos> = HashMap::new();
        let mut kept: Vec<&(Key, Node)> = Vec::with_capacity(members.len());
        for member in members {
            let (key, _) = member;
            let path = join_key(&self.path, &key.name);
            if let Some(first) = seen.get(key.name.as_str()) {
                self.c.push(
                    &path,
                    Some(key.pos),
                    ProblemKind::DuplicateKey,
                    format!("`{}` is set twice (first at {first}); keep one", key.name),
                );
                continue;
            }
            seen.insert(&key.name, key.pos);
            if let Some((type_name, known)) = fields
                && !known.contains(&key.name.as_str())
            {
                self.c.push(
                    &path,
                    Some(key.pos),
                    ProblemKind::UnknownKey,
                    unknown_key_message(type_name, &key.name, known),
                );
                continue;
            }
            kept.push(member);
        }
        let map = MapDe {
            members: kept.into_iter(),
            value: None,
            path: &self.path,
            c: self.c,
        };
        visitor.visit_map(map).map_err(|e| self.absorb(e))
    }
}

fn unknown_key_message(type_name: &str, key: &str, known: &[&str]) -> String {
    if let Some(reason) = crate::file::unsupported_key_reason(type_name, key) {
        return format!("`{key}` is not supported by wagw: {reason}");
    }
    let mut msg = format!("unknown key `{key}`");
    if let Some(hint) = crate::file::misplaced_key_hint(type_name, key) {
        msg.push_str(&format!(": {hint}"));
    } else if let Some(s) = suggest(key, known) {
        msg.push_str(&format!(" (did you mean `{s}`?)"));
    } else {
        let mut names: Vec<&str> = known.to_vec();
        names.sort_unstable();
        msg.push_str(&format!("; valid keys here: {}", names.join(", ")));
    }
    msg
}

struct SeqDe<'a, I> {
    items: I,
    path: &'a str,
    c: &'a Collector,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Node)>> de::SeqAccess<'de> for SeqDe<'a, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => {
                let de = NodeDe {
                    node,
                    path: join_index(self.path, i),
                    c: self.c,
                };
                match seed.deserialize(de) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) => {
                        if !e.recorded {
                            self.c.push(
                                &join_index(self.path, i),
                                Some(node.pos),
                                ProblemKind::Type,
                                e.message,
                            );
                        }
                        Err(DeError::recorded())
                    }
                }
            }
        }
    }
}

struct MapDe<'a, I> {
    members: I,
    value: Option<(&'a Key, &'a Node)>,
    path: &'a str,
    c: &'a Collector,
}

impl<'de, 'a, I: Iterator<Item = &'a (Key, Node)>> de::MapAccess<'de> for MapDe<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.members.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some((key, value));
                let k: de::value::StrDeserializer<'_, DeError> =
                    key.name.as_str().into_deserializer();
                seed.deserialize(k).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((key, node)) = self.value.take() else {
            return Err(de::Error::custom("a value was asked for before its key"));
        };
        let de = NodeDe {
            node,
            path: join_key(self.path, &key.name),
            c: self.c,
        };
        seed.deserialize(de)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(join_key("", "channels"), "channels");
        assert_eq!(join_key("a", "work-1"), "a.work-1");
        assert_eq!(join_key("groups", "123@g.us"), "groups[\"123@g.us\"]");
        assert_eq!(join_key("groups", "*"), "groups[\"*\"]");
        assert_eq!(join_index("allowFrom", 2), "allowFrom[2]");
    }

    #[test]
    fn suggestions() {
        let keys = ["dmPolicy", "allowFrom", "groupAllowFrom", "groupPolicy"];
        assert_eq!(suggest("dmPolcy", &keys), Some("dmPolicy"));
        assert_eq!(suggest("allowfrom", &keys), Some("allowFrom"));
        assert_eq!(suggest("allow_from", &keys), Some("allowFrom"));
        assert_eq!(suggest("zzz", &keys), None);
    }
}
