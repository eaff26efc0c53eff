//! Server-Sent Events framing (the WHATWG `text/event-stream` format).

/// One SSE frame: an optional `id:` line, an optional `event:` line, one `data:` line per
/// line of `data` (split on `\n`, `\r\n` or `\r`, as a client rejoins them with `\n`), and
/// the blank line that ends the event. Newlines in `id` and `event` would end the field
/// early, so they are removed.
///
/// ```
/// use wagw_agents::sse_frame;
/// assert_eq!(sse_frame(Some(7), Some("turn"), "a\nb"), "id: 7\nevent: turn\ndata: a\ndata: b\n\n");
/// assert_eq!(sse_frame(None, None, ""), "data: \n\n");
/// ```
pub fn sse_frame(id: Option<u64>, event: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(&id.to_string());
        out.push('\n');
    }
    if let Some(event) = event {
        out.push_str("event: ");
        out.extend(event.chars().filter(|c| *c != '\n' && *c != '\r'));
        out.push('\n');
    }
    for line in split_lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// An SSE comment line (ignored by clients): a keep-alive that stops proxies from closing
/// an idle stream.
///
/// ```
/// assert_eq!(wagw_agents::sse_comment("ping"), ": ping\n\n");
/// ```
pub fn sse_comment(text: &str) -> String {
    let mut out = String::new();
    for line in split_lines(text) {
        out.push_str(": ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Splits on `\r\n`, `\n` and `\r`; always yields at least one (possibly empty) line.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push(&text[start..]);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal client-side parser (per the WHATWG algorithm) to check round trips.
    fn parse(frame: &str) -> (Option<String>, Option<String>, String) {
        let (mut id, mut event, mut data) = (None, None, Vec::new());
        for line in frame.split('\n') {
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push(v.to_owned());
            }
        }
        (id, event, data.join("\n"))
    }

    #[test]
    fn multi_line_data_round_trips() {
        let rows = [
            ("one line", "one line"),
            ("a\nb", "a\nb"),
            ("a\r\nb", "a\nb"),
            ("a\rb", "a\nb"),
            ("a\n\nb", "a\n\nb"),
            ("trailing\n", "trailing\n"),
            ("\r\n", "\n"),
            ("", ""),
        ];
        for (input, want) in rows {
            let frame = sse_frame(Some(1), Some("turn"), input);
            assert!(frame.ends_with("\n\n"), "{input:?}: {frame:?}");
            assert!(
                !frame[..frame.len() - 2].contains("\n\n"),
                "{input:?} ends the event early: {frame:?}"
            );
            assert_eq!(parse(&frame).2, want, "input {input:?}");
        }
    }

    #[test]
    fn event_names_cannot_inject_fields() {
        let frame = sse_frame(None, Some("turn\ndata: evil"), "x");
        assert_eq!(frame, "event: turndata: evil\ndata: x\n\n");
        assert_eq!(sse_comment("a\nb"), ": a\n: b\n\n");
    }
}
