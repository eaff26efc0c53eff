//! A JSON5 parser that keeps the line and column of every value and key.
//!
//! Why not the `json5` crate: it deserializes straight into Rust types, stops at the first
//! problem and forgets where values were. wagw reports every problem of a file at once, each
//! with its dotted path and `line:column`, so it needs a tree that remembers positions. The
//! grammar is the one at <https://spec.json5.org>; the `json5` crate is used in the tests as
//! an oracle that both parsers agree.

use std::fmt;

/// A 1-based position in the source: line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A parsed value, where it starts, and the byte range of its text (for in-place edits).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub pos: Pos,
    pub value: Value,
    /// The value's text: `source[span.0..span.1]` (quotes, brackets and braces included).
    pub span: (usize, usize),
}

/// An object member's key and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub name: String,
    pub pos: Pos,
    /// Byte offset of the key's first character (its quote, when quoted).
    pub start: usize,
}

/// A JSON5 number, kept as an integer when it is one so that integer fields can say so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// A non-negative integer.
    PosInt(u64),
    /// A negative integer.
    NegInt(i64),
    /// Anything else: fractions, exponents, `Infinity`, `NaN`, integers out of range.
    Float(f64),
}

/// A JSON5 value. Objects keep their members in source order, duplicates included (the
/// deserializer reports duplicates with both positions).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(Key, Node)>),
}

impl Value {
    /// A short name of the value's type for error messages ("a string", "an array", ...).
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Bool(b) => format!("the boolean {b}"),
            Value::Number(Number::PosInt(n)) => format!("the number {n}"),
            Value::Number(Number::NegInt(n)) => format!("the number {n}"),
            Value::Number(Number::Float(n)) => format!("the number {n}"),
            Value::String(s) => format!("the string {s:?}"),
            Value::Array(_) => "an array".to_string(),
            Value::Object(_) => "an object".to_string(),
        }
    }
}

/// A syntax error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses a whole JSON5 document (one value, surrounded by optional whitespace and comments).
pub(crate) fn parse(source: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        chars: source.chars().collect(),
        i: 0,
        byte: 0,
        line: 1,
        column: 1,
        depth: 0,
    };
    p.skip_trivia()?;
    if p.peek().is_none() {
        return Err(p.error("the file is empty: expected a JSON5 object such as { channels: {} }"));
    }
    let node = p.value()?;
    p.skip_trivia()?;
    if let Some(c) = p.peek() {
        return Err(p.error(&format!(
            "unexpected {} after the end of the document",
            show(c)
        )));
    }
    Ok(node)
}

/// Nesting deeper than this is rejected instead of overflowing the stack.
const MAX_DEPTH: usize = 128;

struct Parser {
    chars: Vec<char>,
    i: usize,
    /// Byte offset of `chars[i]` in the source.
    byte: usize,
    line: u32,
    column: u32,
    depth: usize,
}

fn show(c: char) -> String {
    match c {
        '\n' => "end of line".to_string(),
        c if c.is_control() => format!("character U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn is_json5_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}'
            | '\u{c}'
            | ' '
            | '\u{a0}'
            | '\u{feff}'
            | '\u{1680}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    ) || ('\u{2000}'..='\u{200a}').contains(&c)
        || is_line_terminator(c)
}

fn is_ident_start(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    is_ident_start(c) || c.is_alphanumeric() || c == '\u{200c}' || c == '\u{200d}'
}

impl Parser {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            pos: self.pos(),
            message: message.to_string(),
        }
    }

    fn error_at(&self, pos: Pos, message: &str) -> SyntaxError {
        SyntaxError {
            pos,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        self.byte += c.len_utf8();
        // CR LF counts as one line break; a lone CR, LS or PS counts as one too.
        let breaks = match c {
            '\n' => true,
            '\r' => self.peek() != Some('\n'),
            '\u{2028}' | '\u{2029}' => true,
            _ => false,
        };
        if breaks {
            self.line += 1;
            self.column = 1;
        } else if c != '\r' {
            self.column += 1;
        }
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(c) if is_json5_space(c) => {
                    self.bump();
                }
                Some('/') if self.peek_at(1) == Some('/') => {
                    while let Some(c) = self.peek() {
                        if is_line_terminator(c) {
                            break;
                        }
                        self.bump();
                    }
                }
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.peek() {
                            None => {
                                return Err(
                                    self.error_at(start, "this /* comment is never closed: add */")
                                );
                            }
                            Some('*') if self.peek_at(1) == Some('/') => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            Some(_) => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        let pos = self.pos();
        let start = self.byte;
        let value = match self.peek() {
            None => return Err(self.error("unexpected end of file: a value is missing")),
            Some('{') => self.object()?,
            Some('[') => self.array()?,
            Some('"') | Some('\'') => Value::String(self.string()?),
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => {
                Value::Number(self.number()?)
            }
            Some(c) if is_ident_start(c) => {
                let word = self.identifier()?;
                match word.as_str() {
                    "null" => Value::Null,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "Infinity" => Value::Number(Number::Float(f64::INFINITY)),
                    "NaN" => Value::Number(Number::Float(f64::NAN)),
                    _ => {
                        return Err(self.error_at(
                            pos,
                            &format!(
                                "unexpected word `{word}`: a text value needs quotes, as in \"{word}\""
                            ),
                        ));
                    }
                }
            }
            Some(c) => return Err(self.error(&format!("unexpected {}: expected a value", show(c)))),
        };
        Ok(Node {
            pos,
            value,
            span: (start, self.byte),
        })
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("the document nests deeper than 128 levels"));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, SyntaxError> {
        let open = self.pos();
        self.enter()?;
        self.bump(); // '{'
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some('}') => {
                    self.bump();
                    break;
                }
                None => {
                    return Err(self.error_at(open, "this '{' is never closed: add '}'"));
                }
                _ => {}
            }
            let key_pos = self.pos();
            let key_start = self.byte;
            let name = match self.peek() {
                Some('"') | Some('\'') => self.string()?,
                Some(c) if is_ident_start(c) => self.identifier()?,
                Some(c) => {
                    return Err(self.error(&format!(
                        "unexpected {}: expected a key (a name or a quoted string) or '}}'",
                        show(c)
                    )));
                }
                None => return Err(self.error_at(open, "this '{' is never closed: add '}'")),
            };
            self.skip_trivia()?;
            if !self.eat(':') {
                return Err(match self.peek() {
                    Some(c) => self.error(&format!(
                        "expected ':' after the key `{name}`, found {}",
                        show(c)
                    )),
                    None => self.error(&format!("expected ':' after the key `{name}`")),
                });
            }
            self.skip_trivia()?;
            let value = self.value()?;
            members.push((
                Key {
                    name,
                    pos: key_pos,
                    start: key_start,
                },
                value,
            ));
            self.skip_trivia()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {
                    self.bump();
                    break;
                }
                Some(c) => {
                    return Err(self.error(&format!(
                        "expected ',' or '}}' after a member, found {} (is a comma missing?)",
                        show(c)
                    )));
                }
                None => return Err(self.error_at(open, "this '{' is never closed: add '}'")),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(members))
    }

    fn array(&mut self) -> Result<Value, SyntaxError> {
        let open = self.pos();
        self.enter()?;
        self.bump(); // '['
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(']') => {
                    self.bump();
                    break;
                }
                None => return Err(self.error_at(open, "this '[' is never closed: add ']'")),
                _ => {}
            }
            items.push(self.value()?);
            self.skip_trivia()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {
                    self.bump();
                    break;
                }
                Some(c) => {
                    return Err(self.error(&format!(
                        "expected ',' or ']' after an array item, found {} (is a comma missing?)",
                        show(c)
                    )));
                }
                None => return Err(self.error_at(open, "this '[' is never closed: add ']'")),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn identifier(&mut self) -> Result<String, SyntaxError> {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                return Err(self.error("escapes in unquoted keys are not supported: quote the key"));
            }
            if !is_ident_continue(c) {
                break;
            }
            s.push(c);
            self.bump();
        }
        Ok(s)
    }

    fn hex_digits(&mut self, n: usize) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..n {
            let pos = self.pos();
            match self.bump().and_then(|c| c.to_digit(16)) {
                Some(d) => v = v * 16 + d,
                None => return Err(self.error_at(pos, "expected a hexadecimal digit in an escape")),
            }
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let open = self.pos();
        let quote = self.bump().unwrap_or('"');
        let mut s = String::new();
        loop {
            let c = match self.peek() {
                None => return Err(self.error_at(open, "this string is never closed")),
                Some(c) => c,
            };
            if c == quote {
                self.bump();
                return Ok(s);
            }
            if c == '\n' || c == '\r' {
                return Err(self.error_at(
                    open,
                    "this string runs past the end of the line: close the quote (or end the line with \\ to continue it)",
                ));
            }
            self.bump();
            if c != '\\' {
                s.push(c);
                continue;
            }
            let esc_pos = self.pos();
            let e = match self.bump() {
                None => return Err(self.error_at(open, "this string is never closed")),
                Some(e) => e,
            };
            match e {
                'b' => s.push('\u{8}'),
                'f' => s.push('\u{c}'),
                'n' => s.push('\n'),
                'r' => {
                    s.push('\r');
                }
                't' => s.push('\t'),
                'v' => s.push('\u{b}'),
                '0' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => s.push('\0'),
                '1'..='9' | '0' => {
                    return Err(self.error_at(esc_pos, "digit escapes such as \\1 are not allowed"));
                }
                'x' => {
                    let v = self.hex_digits(2)?;
                    s.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                'u' => {
                    let hi = self.hex_digits(4)?;
                    if (0xD800..0xDC00).contains(&hi)
                        && self.peek() == Some('\\')
                        && self.peek_at(1) == Some('u')
                    {
                        let save = (self.i, self.byte, self.line, self.column);
                        self.bump();
                        self.bump();
                        let lo = self.hex_digits(4)?;
                        if (0xDC00..0xE000).contains(&lo) {
                            let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            s.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        } else {
                            // Not a pair: emit the lone surrogate as U+FFFD and re-read.
                            (self.i, self.byte, self.line, self.column) = save;
                            s.push('\u{fffd}');
                        }
                    } else {
                        s.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                    }
                }
                // Line continuation: the backslash and the line break vanish.
                '\r' => {
                    self.eat('\n');
                }
                '\n' | '\u{2028}' | '\u{2029}' => {}
                other => s.push(other),
            }
        }
    }

    fn number(&mut self) -> Result<Number, SyntaxError> {
        let start = self.pos();
        let mut negative = false;
        if let Some(sign @ ('+' | '-')) = self.peek() {
            negative = sign == '-';
            self.bump();
        }
        match self.peek() {
            Some('I') => {
                let word = self.identifier()?;
                if word != "Infinity" {
                    return Err(self.error_at(start, &format!("`{word}` is not a number")));
                }
                return Ok(Number::Float(if negative {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }));
            }
            Some('N') => {
                let word = self.identifier()?;
                if word != "NaN" {
                    return Err(self.error_at(start, &format!("`{word}` is not a number")));
                }
                return Ok(Number::Float(f64::NAN));
            }
            _ => {}
        }
        if self.peek() == Some('0') && matches!(self.peek_at(1), Some('x' | 'X')) {
            self.bump();
            self.bump();
            let mut digits = String::new();
            while let Some(c) = self.peek().filter(char::is_ascii_hexdigit) {
                digits.push(c);
                self.bump();
            }
            if digits.is_empty() {
                return Err(self.error("expected hexadecimal digits after 0x"));
            }
            self.reject_trailing_ident(start)?;
            return Ok(match u64::from_str_radix(&digits, 16) {
                Ok(v) if !negative => Number::PosInt(v),
                Ok(v) => match i64::try_from(v) {
                    Ok(v) => Number::NegInt(-v),
                    Err(_) => Number::Float(-(v as f64)),
                },
                Err(_) => {
                    let f = digits.chars().fold(0f64, |acc, c| {
                        acc * 16.0 + c.to_digit(16).unwrap_or(0) as f64
                    });
                    Number::Float(if negative { -f } else { f })
                }
            });
        }
        let mut text = String::new();
        if negative {
            text.push('-');
        }
        let mut int_digits = 0;
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            text.push(c);
            int_digits += 1;
            self.bump();
        }
        if int_digits > 1 && text.trim_start_matches('-').starts_with('0') {
            return Err(self.error_at(start, "numbers cannot have leading zeros"));
        }
        let mut is_float = false;
        let mut frac_digits = 0;
        if self.eat('.') {
            is_float = true;
            text.push('.');
            while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                text.push(c);
                frac_digits += 1;
                self.bump();
            }
        }
        if int_digits == 0 && frac_digits == 0 {
            return Err(self.error_at(start, "expected digits in a number"));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            is_float = true;
            text.push('e');
            self.bump();
            if let Some(sign @ ('+' | '-')) = self.peek() {
                text.push(sign);
                self.bump();
            }
            let mut exp_digits = 0;
            while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                text.push(c);
                exp_digits += 1;
                self.bump();
            }
            if exp_digits == 0 {
                return Err(self.error("expected digits in the exponent of a number"));
            }
        }
        self.reject_trailing_ident(start)?;
        if !is_float {
            if negative {
                if let Ok(v) = text.parse::<i64>() {
                    return Ok(if v == 0 {
                        Number::Float(-0.0)
                    } else {
                        Number::NegInt(v)
                    });
                }
            } else if let Ok(v) = text.parse::<u64>() {
                return Ok(Number::PosInt(v));
            }
        }
        // Rust's float syntax accepts "5." and ".5" forms once normalized.
        let normalized = text.replace("-.", "-0.");
        let normalized = if normalized.starts_with('.') {
            format!("0{normalized}")
        } else {
            normalized
        };
        normalized
            .parse::<f64>()
            .map(Number::Float)
            .map_err(|_| self.error_at(start, "malformed number"))
    }

    fn reject_trailing_ident(&self, start: Pos) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(c) if is_ident_continue(c) => Err(self.error_at(
                start,
                &format!(
                    "unexpected {} in a number: a text value needs quotes",
                    show(c)
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn to_json(node: &Node) -> serde_json::Value {
        match &node.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(Number::PosInt(n)) => serde_json::Value::from(*n),
            Value::Number(Number::NegInt(n)) => serde_json::Value::from(*n),
            Value::Number(Number::Float(f)) => serde_json::Value::from(*f),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.name.clone(), to_json(v)))
                    .collect(),
            ),
        }
    }

    /// Both parsers must agree on what these documents mean.
    const AGREED: &[&str] = &[
        "{}",
        "[]",
        "{a: 1, 'b': 2, \"c\": 3,}",
        "// comment\n{ /* block */ a: [1, 2, 3,], }",
        "{s: 'it\\'s', t: \"tab\\there\", u: '\\u00e9\\x41', n: null, b: true, f: false}",
        "{x: .5, y: 5., z: +1, w: -2, e: 1e3, h: 0xFF}",
        "{$key: 1, _k2: 2, ünï: 3}",
        "{multi: 'line one \\\nline two'}",
        "{nested: {deep: {deeper: [{a: 1}, {b: [true, false]}]}}}",
        "{emoji: '👀', esc: '\\uD83D\\uDC40'}",
        "\u{feff}{bom: 1}",
        "{a: 'x'}\r\n",
        "{big: 9223372036854775807, neg: -9223372036854775808, f: 1.25e-2}",
    ];

    #[test]
    fn agrees_with_the_json5_crate() {
        for src in AGREED {
            let mine = to_json(&parse(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}")));
            let theirs: serde_json::Value =
                json5::from_str(src).unwrap_or_else(|e| panic!("json5 crate on {src:?}: {e}"));
            assert_eq!(mine, theirs, "document {src:?}");
        }
    }

    #[test]
    fn rejects_what_the_json5_crate_rejects() {
        for src in [
            "",
            "{",
            "{a 1}",
            "{a: 1 b: 2}",
            "[1 2]",
            "{a: 'unterminated}",
            "{a: 01}",
            "{a: bare}",
            "{a: 1} x",
            "/* open",
            "{a: 0x}",
            "{a: 1e}",
            "{'a\nb': 1}",
        ] {
            assert!(parse(src).is_err(), "mine accepted {src:?}");
            assert!(
                json5::from_str::<serde_json::Value>(src).is_err(),
                "json5 crate accepted {src:?}"
            );
        }
    }

    #[test]
    fn positions_are_line_and_column() {
        let src = "{\n  // c\n  a: {\n    b: 'x',\n  },\n}";
        let root = parse(src).unwrap();
        let Value::Object(m) = &root.value else {
            panic!()
        };
        assert_eq!(m[0].0.pos, Pos { line: 3, column: 3 });
        assert_eq!(m[0].1.pos, Pos { line: 3, column: 6 });
        let Value::Object(inner) = &m[0].1.value else {
            panic!()
        };
        assert_eq!(inner[0].1.pos, Pos { line: 4, column: 8 });
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = parse("{\n  a: 1\n  b: 2\n}").unwrap_err();
        assert_eq!(e.pos, Pos { line: 3, column: 3 });
        assert!(e.message.contains("comma missing"), "{}", e.message);
        let e = parse("{a: open}").unwrap_err();
        assert!(e.message.contains("needs quotes"), "{}", e.message);
        let e = parse("{a: [1, 2}").unwrap_err();
        assert_eq!(
            e.pos,
            Pos {
                line: 1,
                column: 10
            }
        );
    }

    #[test]
    fn negative_hex_follows_the_spec() {
        // The spec allows a sign before hex digits; the json5 crate 0.4 fails on it.
        let root = parse("[-0x10, +0x10]").unwrap();
        let Value::Array(items) = root.value else {
            panic!()
        };
        assert_eq!(items[0].value, Value::Number(Number::NegInt(-16)));
        assert_eq!(items[1].value, Value::Number(Number::PosInt(16)));
    }

    #[test]
    fn infinity_and_nan_are_floats() {
        let root = parse("[Infinity, -Infinity, NaN, +NaN]").unwrap();
        let Value::Array(items) = root.value else {
            panic!()
        };
        assert!(matches!(items[0].value, Value::Number(Number::Float(f)) if f == f64::INFINITY));
        assert!(
            matches!(items[1].value, Value::Number(Number::Float(f)) if f == f64::NEG_INFINITY)
        );
        assert!(matches!(items[2].value, Value::Number(Number::Float(f)) if f.is_nan()));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "[".repeat(1000);
        assert!(parse(&src).unwrap_err().message.contains("128"));
    }
}
