//! Splitting reply text into WhatsApp-sized messages.
//!
//! Rules (see `docs/outbound.md`):
//! - The limit (`textChunkLimit`, default [`DEFAULT_TEXT_CHUNK_LIMIT`]) counts Unicode
//!   characters (scalar values), and no chunk is ever cut inside a grapheme cluster (an emoji
//!   with its modifiers, a letter with its accents, a flag).
//! - A chunk ends at the last newline that fits, else the last whitespace, else — only for a
//!   word longer than the limit — at the limit. Breaks outside an open parenthesis come
//!   first, as in the reference: `"Heads up now (Though now I'm curious)ok"` at 35 gives
//!   `["Heads up now", "(Though now I'm curious)ok"]`. Unlike the reference, a window that
//!   is all inside a parenthesis still breaks at its last newline or whitespace (the
//!   reference cuts a word there), and a break right after a full window is allowed (its
//!   quirk Q17). Whitespace around a break is dropped.
//! - Code fences are kept balanced: a chunk that has to end inside a fenced block closes it
//!   with the fence's own marker, and the next chunk reopens it with the same opening line
//!   (info string included). Text inside a fence is never trimmed, and breaks inside a fence
//!   happen at line ends when one fits.
//! - [`ChunkMode::Newline`] first splits at blank lines outside fences, every paragraph its
//!   own message (paragraphs are not packed together), then length-chunks long paragraphs.
//! - CRLF and lone CR become LF. Text that is empty or only whitespace gives no chunk.

mod fence;

use unicode_segmentation::GraphemeCursor;
use wagw_core::ChunkMode;

use fence::{Fence, find_fences};

/// `textChunkLimit` when the config does not set one.
pub const DEFAULT_TEXT_CHUNK_LIMIT: usize = 4000;

/// Splits `text` into chunks of at most `limit` characters under `mode`.
///
/// A `limit` of 0 means "no limit": the (newline-normalized) text comes back whole (or, in
/// newline mode, one chunk per paragraph). A chunk may exceed `limit` only when a single
/// grapheme cluster or a fence's opening line is itself longer than the limit.
///
/// ```
/// use wagw_core::ChunkMode;
/// use wagw_outbound::chunk_text;
/// assert_eq!(chunk_text("hello world foo bar", 11, ChunkMode::Length), ["hello world", "foo bar"]);
/// let code = "```py\nprint(1)\nprint(2)\n```";
/// assert_eq!(
///     chunk_text(code, 20, ChunkMode::Length),
///     ["```py\nprint(1)\n```", "```py\nprint(2)\n```"],
/// );
/// ```
pub fn chunk_text(text: &str, limit: usize, mode: ChunkMode) -> Vec<String> {
    let normalized = normalize_newlines(text);
    let text = normalized.as_ref();
    match mode {
        ChunkMode::Length => chunk_markdown(text, limit),
        ChunkMode::Newline => split_paragraphs(text)
            .into_iter()
            .flat_map(|p| chunk_markdown(p, limit))
            .collect(),
    }
}

fn normalize_newlines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Whitespace a chunk may break at. Non-breaking spaces are excluded on purpose.
fn is_break_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}')
}

/// Paragraphs of `text`: parts separated by blank (or whitespace-only) lines outside fences.
fn split_paragraphs(text: &str) -> Vec<&str> {
    let fences = find_fences(text);
    let in_fence = |p: usize| fences.iter().any(|f| p > f.open_start && p < f.close_end);
    let mut parts = Vec::new();
    let mut part_start = 0;
    let mut pos = 0;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..line_end];
        if line.trim_matches([' ', '\t']).is_empty() && !in_fence(pos) {
            parts.push(&text[part_start..pos]);
            part_start = (line_end + 1).min(text.len());
        }
        pos = line_end + 1;
    }
    parts.push(&text[part_start.min(text.len())..]);
    parts
        .into_iter()
        .map(|p| p.trim_start_matches('\n').trim_end())
        .filter(|p| !p.is_empty())
        .collect()
}

fn is_grapheme_boundary(text: &str, at: usize) -> bool {
    // Fast path: between two ASCII bytes there is always a boundary (text has no CR left,
    // so the CR LF pair cannot occur; every combining or joining character is non-ASCII).
    let b = text.as_bytes();
    if at == 0 || at >= b.len() || (b[at - 1] < 0x80 && b[at] < 0x80) {
        return true;
    }
    GraphemeCursor::new(at, text.len(), true)
        .is_boundary(text, 0)
        .unwrap_or(true)
}

/// The last grapheme boundary at or before `at`, but after `floor`; if none, the first one
/// after `at` (a single cluster longer than the budget goes whole).
fn boundary_at_or_before(text: &str, floor: usize, at: usize) -> usize {
    if is_grapheme_boundary(text, at) {
        return at;
    }
    let mut cur = GraphemeCursor::new(at, text.len(), true);
    match cur.prev_boundary(text, 0) {
        Ok(Some(b)) if b > floor => b,
        _ => {
            let mut cur = GraphemeCursor::new(at, text.len(), true);
            cur.next_boundary(text, 0)
                .ok()
                .flatten()
                .unwrap_or(text.len())
        }
    }
}

/// Byte offset `n` characters after `from` (or the text's end).
fn advance_chars(text: &str, from: usize, n: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| from + i)
}

/// Where a break position sits relative to the fences.
enum Place<'f> {
    /// Outside every fence: a normal break.
    Outside,
    /// Inside this fence's body: the chunk must close it and the next reopen it.
    Inside(&'f Fence),
    /// On a fence's opening line: never break there.
    Forbidden,
}

fn place<'f>(fences: &'f [Fence], cursor: &mut usize, p: usize) -> Place<'f> {
    while *cursor < fences.len() && fences[*cursor].close_end <= p {
        *cursor += 1;
    }
    match fences.get(*cursor) {
        Some(f) if p > f.open_start && p < f.body_start => Place::Forbidden,
        Some(f) if p >= f.body_start && (p < f.close_marker_end || f.unclosed) => Place::Inside(f),
        _ => Place::Outside,
    }
}

/// Length-chunks one block of markdown, keeping fences balanced.
fn chunk_markdown(text: &str, limit: usize) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    if limit == 0 {
        return vec![text.to_string()];
    }
    let fences = find_fences(text);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut reopen: Option<&Fence> = None;
    loop {
        let prefix_chars = reopen.map_or(0, |f| f.open_line.chars().count() + 1);
        // Keep at least one character of progress even when an opening line is absurdly long.
        let budget = limit.saturating_sub(prefix_chars).max(1);
        let mut chunk = String::new();
        if let Some(f) = reopen {
            chunk.push_str(&f.open_line);
            chunk.push('\n');
        }

        let Window {
            last_nl,
            last_ws,
            last_inside_nl,
            at_budget,
        } = scan_window(text, &fences, pos, budget);

        // Everything left fits when no character sits past the window, or only whitespace.
        if at_budget.is_none_or(|b| text[b..].trim_end().is_empty()) {
            chunk.push_str(text[pos..].trim_end());
            if !chunk.trim().is_empty() {
                out.push(chunk);
            }
            return out;
        }

        let next_pos;
        if let Some((p, width)) = last_nl.map(|p| (p, 1)).or(last_ws) {
            chunk.push_str(text[pos..p].trim_end());
            next_pos = skip_outside_space(text, p + width);
            reopen = None;
        } else if let Some((p, f)) = last_inside_nl {
            chunk.push_str(&text[pos..p]);
            close_into(&mut chunk, f);
            (next_pos, reopen) = continue_inside(text, f, p + 1);
        } else {
            // Hard break: a word (or code line) longer than what is left of the window.
            let mut cursor = 0;
            let at = advance_chars(text, pos, budget);
            let inside = match place(&fences, &mut cursor, at) {
                Place::Inside(f) => Some(f),
                Place::Forbidden => fences.get(cursor),
                Place::Outside => None,
            };
            match inside {
                Some(f) => {
                    let suffix = 1 + f.close_line.chars().count();
                    let want = advance_chars(text, pos, budget.saturating_sub(suffix).max(1));
                    let mut at = boundary_at_or_before(text, pos, want);
                    if at <= f.body_start {
                        // The opening line and its closer alone exceed the limit: take one
                        // character of the body anyway so that the text moves on.
                        at = boundary_at_or_before(
                            text,
                            f.body_start,
                            advance_chars(text, f.body_start, 1),
                        );
                    }
                    chunk.push_str(&text[pos..at]);
                    close_into(&mut chunk, f);
                    (next_pos, reopen) = continue_inside(text, f, at);
                }
                None => {
                    let at = boundary_at_or_before(text, pos, at);
                    chunk.push_str(&text[pos..at]);
                    next_pos = skip_outside_space(text, at);
                    reopen = None;
                }
            }
        }
        if !chunk.trim().is_empty() {
            out.push(chunk);
        }
        if next_pos >= text.len() {
            return out;
        }
        pos = next_pos;
    }
}

/// Break candidates in one window: `budget` characters from `pos`, plus the one after.
/// `last_nl` and `last_ws` are the best outside fences: at parenthesis depth 0 when the
/// window has such a break, else at any depth.
struct Window<'f> {
    /// Last newline outside fences (byte offset).
    last_nl: Option<usize>,
    /// Last other break space outside fences (byte offset, byte width).
    last_ws: Option<(usize, usize)>,
    /// Last newline inside a fence that leaves room for the closing line.
    last_inside_nl: Option<(usize, &'f Fence)>,
    /// Byte offset of the character right after a full window, if the text goes on.
    at_budget: Option<usize>,
}

fn scan_window<'f>(text: &str, fences: &'f [Fence], pos: usize, budget: usize) -> Window<'f> {
    let bytes = text.as_bytes();
    // Fewer bytes than the budget means fewer characters too: everything fits.
    if bytes.len() - pos <= budget {
        return Window {
            last_nl: None,
            last_ws: None,
            last_inside_nl: None,
            at_budget: None,
        };
    }
    // Fast path for the common case: an ASCII window that touches no fence. The search is
    // then two reverse byte scans instead of a walk over every character.
    let end = pos.saturating_add(budget);
    let touches_fence = fences
        .iter()
        .any(|f| f.close_end > pos && f.open_start <= end);
    if !touches_fence && end < bytes.len() && bytes[pos..=end].is_ascii() {
        let window = &bytes[pos..=end];
        let (last_nl, last_ws) = ascii_breaks(window);
        return Window {
            last_nl: last_nl.map(|i| pos + i),
            last_ws: last_ws.map(|i| (pos + i, 1)),
            last_inside_nl: None,
            at_budget: Some(end),
        };
    }

    // General path: one pass over the window records the best candidate of each kind.
    let mut w = Window {
        last_nl: None,
        last_ws: None,
        last_inside_nl: None,
        at_budget: None,
    };
    let mut cursor = 0;
    // Parenthesis depth outside fences, counted from the window's start as the reference
    // does; breaks found inside a parenthesis are kept apart as the fallback.
    let mut depth = 0usize;
    let mut nested_nl = None;
    let mut nested_ws = None;
    for (count, (i, c)) in text[pos..].char_indices().enumerate() {
        let p = pos + i;
        if count == budget {
            // The character right after a full window: breaking here gives a full chunk.
            w.at_budget = Some(p);
        }
        if count > budget {
            break;
        }
        if c == '(' || c == ')' {
            if matches!(place(fences, &mut cursor, p), Place::Outside) {
                if c == '(' {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
            }
            continue;
        }
        if count == 0 || !is_break_space(c) {
            continue;
        }
        match place(fences, &mut cursor, p) {
            Place::Forbidden => {}
            Place::Outside => {
                if !is_grapheme_boundary(text, p) || !is_grapheme_boundary(text, p + c.len_utf8()) {
                    continue;
                }
                let (nl, ws) = if depth == 0 {
                    (&mut w.last_nl, &mut w.last_ws)
                } else {
                    (&mut nested_nl, &mut nested_ws)
                };
                if c == '\n' {
                    *nl = Some(p);
                } else {
                    *ws = Some((p, c.len_utf8()));
                }
            }
            Place::Inside(f) => {
                let suffix = 1 + f.close_line.chars().count();
                if c == '\n' && count + suffix <= budget {
                    w.last_inside_nl = Some((p, f));
                }
            }
        }
    }
    if w.last_nl.is_none() && w.last_ws.is_none() {
        w.last_nl = nested_nl;
        w.last_ws = nested_ws;
    }
    w
}

/// The break in an ASCII window with no fence (offsets into `window`, never 0): the last
/// newline at parenthesis depth 0, else the last other whitespace there; when every break
/// is inside a parenthesis, the same at any depth.
fn ascii_breaks(window: &[u8]) -> (Option<usize>, Option<usize>) {
    let is_ws = |b: u8| matches!(b, b' ' | b'\t' | 0x0B | 0x0C);
    let last_in = |range: &[u8], base: usize, want: &dyn Fn(u8) -> bool| {
        range
            .iter()
            .rposition(|&b| want(b))
            .map(|i| base + i)
            .filter(|&i| i > 0)
    };
    let any = |want: &dyn Fn(u8) -> bool| last_in(window, 0, want);
    let Some(first_open) = memchr::memchr(b'(', window) else {
        // No parenthesis opens here: everything is at depth 0 (a ')' alone changes nothing).
        let nl = any(&|b| b == b'\n');
        return match nl {
            Some(_) => (nl, None),
            None => (None, any(&is_ws)),
        };
    };
    // The stretches at depth 0 are the gaps between nested spans; search them from the end.
    // (A ')' before the first '(' changes nothing, so the scan starts there.)
    let mut gaps: Vec<(usize, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut gap_start = 0;
    for i in memchr::memchr2_iter(b'(', b')', &window[first_open..]).map(|i| first_open + i) {
        if window[i] == b'(' {
            if depth == 0 {
                gaps.push((gap_start, i));
            }
            depth += 1;
        } else if depth > 0 {
            depth -= 1;
            if depth == 0 {
                gap_start = i + 1;
            }
        }
    }
    if depth == 0 {
        gaps.push((gap_start, window.len()));
    }
    let at_depth_0 = |want: &dyn Fn(u8) -> bool| {
        gaps.iter()
            .rev()
            .find_map(|&(a, b)| last_in(&window[a..b], a, want))
    };
    if let Some(nl) = at_depth_0(&|b| b == b'\n') {
        return (Some(nl), None);
    }
    if let Some(ws) = at_depth_0(&is_ws) {
        return (None, Some(ws));
    }
    let nl = any(&|b| b == b'\n');
    match nl {
        Some(_) => (nl, None),
        None => (None, any(&is_ws)),
    }
}

fn close_into(chunk: &mut String, f: &Fence) {
    if !chunk.ends_with('\n') {
        chunk.push('\n');
    }
    chunk.push_str(&f.close_line);
}

/// Where the next chunk starts after a break inside `f` at `at`, and whether it reopens `f`.
/// When nothing of the body is left, the original closing line is skipped (already closed).
fn continue_inside<'f>(text: &str, f: &'f Fence, at: usize) -> (usize, Option<&'f Fence>) {
    if at >= f.close_start && !f.unclosed {
        (skip_outside_space(text, f.close_end), None)
    } else {
        (at, Some(f))
    }
}

fn skip_outside_space(text: &str, from: usize) -> usize {
    let from = from.min(text.len());
    let rest = &text[from..];
    from + (rest.len() - rest.trim_start_matches(is_break_space).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars_ok(chunks: &[String], limit: usize) -> bool {
        chunks.iter().all(|c| c.chars().count() <= limit)
    }

    #[test]
    fn q17_fixed_full_window_break() {
        assert_eq!(
            chunk_text("hello world foo bar", 11, ChunkMode::Length),
            ["hello world", "foo bar"]
        );
    }

    #[test]
    fn prefers_a_break_outside_parentheses() {
        // Reference §10.3 (issue 23).
        assert_eq!(
            chunk_text(
                "Heads up now (Though now I'm curious)ok",
                35,
                ChunkMode::Length
            ),
            ["Heads up now", "(Though now I'm curious)ok"]
        );
        // The same through the general (non-ASCII) path.
        assert_eq!(
            chunk_text(
                "Heads up nów (Though now I'm curious)ok",
                35,
                ChunkMode::Length
            ),
            ["Heads up nów", "(Though now I'm curious)ok"]
        );
        // A closed parenthesis does not hold the break back.
        assert_eq!(
            chunk_text("see (this) and that and more", 20, ChunkMode::Length),
            ["see (this) and that", "and more"]
        );
        // All inside a parenthesis: the last whitespace, never a cut word.
        assert_eq!(
            chunk_text("(aaa bbb ccc ddd eee)", 12, ChunkMode::Length),
            ["(aaa bbb ccc", "ddd eee)"]
        );
        // Parentheses inside a fence do not count.
        assert_eq!(
            chunk_text("x y\n```\nf(x\n```\nc d e f", 18, ChunkMode::Length),
            ["x y\n```\nf(x\n```", "c d e f"]
        );
    }

    #[test]
    fn never_splits_a_grapheme() {
        let family = "👨‍👩‍👧‍👦"; // 7 chars, one cluster
        let text = format!("{family}{family}{family}");
        let chunks = chunk_text(&text, 10, ChunkMode::Length);
        assert_eq!(chunks, [family, family, family]);
    }

    #[test]
    fn long_fence_is_closed_and_reopened() {
        let body: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let text = format!("```rust\n{body}```");
        let chunks = chunk_text(&text, 50, ChunkMode::Length);
        assert!(chunks.len() > 2);
        assert!(chars_ok(&chunks, 50));
        for c in &chunks {
            assert!(c.starts_with("```rust\n"), "{c:?}");
            assert!(c.ends_with("\n```"), "{c:?}");
            assert_eq!(
                find_fences(c).iter().filter(|f| f.unclosed).count(),
                0,
                "{c:?}"
            );
        }
        let joined: String = chunks
            .iter()
            .map(|c| c.trim_start_matches("```rust\n").trim_end_matches("```"))
            .collect();
        assert_eq!(joined, body);
    }

    #[test]
    fn paragraphs_in_newline_mode() {
        let text = "one\n\n  \ntwo\n```\na\n\nb\n```\n\nthree";
        assert_eq!(
            chunk_text(text, 100, ChunkMode::Newline),
            ["one", "two\n```\na\n\nb\n```", "three"]
        );
    }
}
