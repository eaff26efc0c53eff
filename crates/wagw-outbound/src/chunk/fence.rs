//! Markdown code fences: finding them, so the chunker never leaves one open.
//!
//! A fence opens on a line of up to three spaces of indent followed by three or more
//! backticks or tildes (backtick fences may not have a backtick in their info string). It
//! closes on a line with the same indent rules and at least as many of the same character,
//! followed only by spaces or tabs. A fence that never closes runs to the end of the text.

/// One fenced code block, as byte offsets into the text it was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fence {
    /// Start of the opening line.
    pub open_start: usize,
    /// First byte of the body (just after the opening line's `\n`), or the text length.
    pub body_start: usize,
    /// Start of the closing line (the text length when unclosed).
    pub close_start: usize,
    /// Just past the closing marker run (indent and marker), before any trailing blanks.
    pub close_marker_end: usize,
    /// Just past the closing line, its `\n` included when there is one.
    pub close_end: usize,
    /// True when the text ends before the fence is closed.
    pub unclosed: bool,
    /// The opening line as written (`"```rust"`), without its `\n`.
    pub open_line: String,
    /// What closes the fence when the chunker has to: indent plus marker (`"```"`).
    pub close_line: String,
}

struct Marker {
    indent: usize,
    ch: u8,
    len: usize,
}

/// Parses a line (without its `\n`) as a fence marker line: indent, marker char, run
/// length, and the rest of the line.
fn parse_marker(line: &str) -> Option<(Marker, &str)> {
    let bytes = line.as_bytes();
    let indent = bytes.iter().take_while(|&&b| b == b' ').count();
    if indent > 3 {
        return None;
    }
    let ch = *bytes.get(indent)?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = bytes[indent..].iter().take_while(|&&b| b == ch).count();
    if len < 3 {
        return None;
    }
    Some((Marker { indent, ch, len }, &line[indent + len..]))
}

/// Finds every fenced block in `text` (which uses `\n` line endings).
pub(crate) fn find_fences(text: &str) -> Vec<Fence> {
    let mut fences = Vec::new();
    // Fast path: no fence character run at all.
    if !text.contains("```") && !text.contains("~~~") {
        return fences;
    }
    let mut open: Option<(usize, usize, Marker, String)> = None;
    let mut pos = 0;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let next = if line_end < text.len() {
            line_end + 1
        } else {
            line_end
        };
        let line = &text[pos..line_end];
        match &open {
            None => {
                if let Some((m, info)) = parse_marker(line)
                    && !(m.ch == b'`' && info.contains('`'))
                {
                    open = Some((pos, next, m, line.to_string()));
                }
            }
            Some((open_start, body_start, m, open_line)) => {
                if let Some((c, rest)) = parse_marker(line)
                    && c.ch == m.ch
                    && c.len >= m.len
                    && rest.trim_matches([' ', '\t']).is_empty()
                {
                    fences.push(Fence {
                        open_start: *open_start,
                        body_start: *body_start,
                        close_start: pos,
                        close_marker_end: pos + c.indent + c.len,
                        close_end: next,
                        unclosed: false,
                        open_line: open_line.clone(),
                        close_line: close_line_for(m),
                    });
                    open = None;
                }
            }
        }
        if next == pos {
            break;
        }
        pos = next;
    }
    if let Some((open_start, body_start, m, open_line)) = open {
        fences.push(Fence {
            open_start,
            body_start,
            close_start: text.len(),
            close_marker_end: text.len(),
            close_end: text.len(),
            unclosed: true,
            open_line,
            close_line: close_line_for(&m),
        });
    }
    fences
}

fn close_line_for(m: &Marker) -> String {
    let mut s = " ".repeat(m.indent);
    s.extend(std::iter::repeat_n(m.ch as char, m.len));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_closed_and_unclosed_fences() {
        let t = "a\n```rust\nfn x() {}\n```\nb\n~~~~\ncode\n";
        let f = find_fences(t);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].open_line, "```rust");
        assert_eq!(&t[f[0].body_start..f[0].close_start], "fn x() {}\n");
        assert!(!f[0].unclosed);
        assert_eq!(f[1].close_line, "~~~~");
        assert!(f[1].unclosed);
        assert_eq!(f[1].close_end, t.len());
    }

    #[test]
    fn closer_must_be_as_long_and_bare() {
        let t = "````\n```\nstill code\n```` trailing\n````  \nout\n";
        let f = find_fences(t);
        assert_eq!(f.len(), 1);
        assert_eq!(&t[f[0].close_start..f[0].close_end], "````  \n");
    }

    #[test]
    fn indent_and_info_rules() {
        assert!(find_fences("    ```\ncode\n").is_empty());
        assert!(find_fences("``` a`b\nx\n").is_empty());
        let f = find_fences("   ~~~ py\nx\n   ~~~\n");
        assert_eq!(f[0].close_line, "   ~~~");
    }
}
