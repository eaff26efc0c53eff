//! `GET /metrics`: the gateway's per-account counters and gauges, each account's transport
//! resources, the webhook outbox's depth, and then the protocol library's own series, as
//! Prometheus text (exposition format 0.0.4). The gateway's names follow its metric names
//! with a `wagw_` prefix and carry an `account` label; the library's keep their `wa_` names
//! (as whatsapp-rust documents them) and are process-wide (see [`super::recorder`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use wagw_agents::OutboxCounts;
use wagw_core::{AccountId, TransportResources};
use wagw_gateway::MetricsSnapshot;

/// Escapes a label value (`\`, `"`, newline).
pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A family with one sample per account: `name{account="…"} value`.
fn per_account<T, V: std::fmt::Display>(
    out: &mut String,
    rows: &BTreeMap<AccountId, T>,
    (name, kind, help): (&str, &str, &str),
    get: impl Fn(&T) -> V,
) {
    family(out, name, kind, help);
    for (id, row) in rows {
        let _ = writeln!(
            out,
            "{name}{{account=\"{}\"}} {}",
            label(id.as_str()),
            get(row)
        );
    }
}

/// A family with one sample per account and key of a map the account carries:
/// `name{account="…",<key_label>="…"} n`.
fn per_account_by_key<T>(
    out: &mut String,
    rows: &BTreeMap<AccountId, T>,
    (name, kind, help): (&str, &str, &str),
    key_label: &str,
    get: impl Fn(&T) -> &BTreeMap<String, u64>,
) {
    family(out, name, kind, help);
    for (id, row) in rows {
        for (key, n) in get(row) {
            let _ = writeln!(
                out,
                "{name}{{account=\"{}\",{key_label}=\"{}\"}} {n}",
                label(id.as_str()),
                label(key)
            );
        }
    }
}

/// The whole exposition: the gateway's families, then `library` (the recorder's rendering
/// of the `wa_*` series, whose names never collide with `wagw_*`).
pub fn render(
    accounts: &BTreeMap<AccountId, MetricsSnapshot>,
    resources: &BTreeMap<AccountId, TransportResources>,
    outbox: Option<&OutboxCounts>,
    library: Option<&str>,
) -> String {
    let mut out = String::new();
    type Get = fn(&MetricsSnapshot) -> i64;
    let plain: [(&str, &str, &str, Get); 11] = [
        (
            "wagw_messages_in_total",
            "counter",
            "Inbound messages read from WhatsApp.",
            |m| m.messages_in as i64,
        ),
        (
            "wagw_messages_out_total",
            "counter",
            "Messages WhatsApp confirmed sent.",
            |m| m.messages_out as i64,
        ),
        (
            "wagw_turns_delivered_total",
            "counter",
            "Turns handed to an agent.",
            |m| m.turns_delivered as i64,
        ),
        (
            "wagw_pairing_challenges_total",
            "counter",
            "Pairing codes sent to unknown senders.",
            |m| m.pairing_challenges as i64,
        ),
        (
            "wagw_send_failures_total",
            "counter",
            "Sends that failed for good.",
            |m| m.send_failures as i64,
        ),
        (
            "wagw_sink_failures_total",
            "counter",
            "Turns an agent failed to handle.",
            |m| m.sink_failures as i64,
        ),
        (
            "wagw_queue_depth",
            "gauge",
            "Inbound messages waiting in the account's inbox.",
            |m| m.queue_depth,
        ),
        (
            "wagw_turns_in_flight",
            "gauge",
            "Turns being processed now.",
            |m| m.in_flight,
        ),
        (
            "wagw_last_inbound_timestamp_ms",
            "gauge",
            "Unix ms of the last inbound message (0: none yet).",
            |m| m.last_inbound_ms,
        ),
        (
            "wagw_last_outbound_timestamp_ms",
            "gauge",
            "Unix ms of the last send WhatsApp confirmed (0: none yet).",
            |m| m.last_outbound_ms,
        ),
        (
            "wagw_reconnect_attempts",
            "gauge",
            "Failed connection attempts in a row since the last stable connection.",
            |m| i64::from(m.reconnect_attempts),
        ),
    ];
    for (name, kind, help, get) in plain {
        per_account(&mut out, accounts, (name, kind, help), get);
    }
    per_account_by_key(
        &mut out,
        accounts,
        (
            "wagw_dropped_total",
            "counter",
            "Inbound messages dropped, by reason.",
        ),
        "reason",
        |m| &m.drops,
    );
    per_account_by_key(
        &mut out,
        accounts,
        (
            "wagw_reconnects_total",
            "counter",
            "Reconnects, by close reason.",
        ),
        "reason",
        |m| &m.reconnects,
    );
    family(
        &mut out,
        "wagw_account_state",
        "gauge",
        "1 for the account's current supervisor state.",
    );
    for (id, m) in accounts {
        let _ = writeln!(
            out,
            "wagw_account_state{{account=\"{}\",state=\"{}\"}} 1",
            label(id.as_str()),
            label(&m.state)
        );
    }
    transport(&mut out, resources);
    if let Some(c) = outbox {
        family(
            &mut out,
            "wagw_webhook_deliveries",
            "gauge",
            "Webhook deliveries in the durable outbox, by state.",
        );
        for (state, n) in [
            ("pending", c.pending),
            ("dead", c.dead),
            ("delivered", c.delivered),
        ] {
            let _ = writeln!(out, "wagw_webhook_deliveries{{state=\"{state}\"}} {n}");
        }
    }
    if let Some(library) = library {
        out.push_str(library);
    }
    out
}

/// The `wagw_transport_*` families: each account's [`TransportResources`].
fn transport(out: &mut String, resources: &BTreeMap<AccountId, TransportResources>) {
    type Get = fn(&TransportResources) -> u64;
    let plain: [(&str, &str, &str, Get); 9] = [
        (
            "wagw_transport_connected",
            "gauge",
            "1 while the account's transport has a connection.",
            |r| u64::from(r.connected),
        ),
        (
            "wagw_transport_messages_sent_total",
            "counter",
            "Messages sent on the current connection (resets on reconnect).",
            |r| r.messages_sent,
        ),
        (
            "wagw_transport_messages_received_total",
            "counter",
            "Messages received on the current connection (resets on reconnect).",
            |r| r.messages_received,
        ),
        (
            "wagw_transport_sent_bytes_total",
            "counter",
            "Wire bytes sent on the current connection (resets on reconnect).",
            |r| r.bytes_sent,
        ),
        (
            "wagw_transport_received_bytes_total",
            "counter",
            "Wire bytes received on the current connection (resets on reconnect).",
            |r| r.bytes_received,
        ),
        (
            "wagw_transport_events_dropped_total",
            "counter",
            "Events the transport shed because the gateway fell behind.",
            |r| r.events_dropped,
        ),
        (
            "wagw_transport_undecryptable_total",
            "counter",
            "Inbound messages that could not be decrypted.",
            |r| r.undecryptable,
        ),
        (
            "wagw_transport_memory_bytes",
            "gauge",
            "Estimated memory the account's session retains (a lower bound).",
            |r| r.estimated_memory_bytes,
        ),
        (
            "wagw_transport_store_bytes",
            "gauge",
            "The account's protocol store size on disk.",
            |r| r.store_bytes_on_disk,
        ),
    ];
    if resources.is_empty() {
        return;
    }
    for (name, kind, help, get) in plain {
        per_account(out, resources, (name, kind, help), get);
    }
    per_account_by_key(
        out,
        resources,
        (
            "wagw_transport_entries",
            "gauge",
            "Entries in the transport's caches and queues, by collection.",
        ),
        "collection",
        |r| &r.sizes,
    );
}

/// Checks `text` line by line as Prometheus exposition (format 0.0.4): every line is a
/// `# HELP`, a `# TYPE` (once per family, before its samples) or a sample
/// `name{label="value",...} number` of a declared family (histograms: `_bucket`, `_sum`,
/// `_count`), each family's samples together, no series twice. Returns the samples.
#[cfg(test)]
pub(crate) fn parse_exposition(text: &str) -> Result<Vec<(String, String, f64)>, String> {
    use std::collections::{HashMap, HashSet};
    fn valid_name(n: &str) -> bool {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    let mut types: HashMap<String, String> = HashMap::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {line:?}", i + 1);
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| at("TYPE without a kind"))?;
            if !valid_name(name) {
                return Err(at("bad family name"));
            }
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at("unknown kind"));
            }
            if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                return Err(at("second TYPE for the family"));
            }
            if let Some(prev) = current.replace(name.to_owned()) {
                finished.insert(prev);
            }
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or_else(|| at("no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| at("value is not a number"))?,
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.strip_suffix('}').ok_or_else(|| at("unclosed labels"))?),
            None => (series, ""),
        };
        if !valid_name(name) {
            return Err(at("bad metric name"));
        }
        // label="value" pairs, values with \\, \" and \n escapes.
        let mut rest = labels;
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").ok_or_else(|| at("bad label"))?;
            if !valid_name(key) {
                return Err(at("bad label name"));
            }
            let mut chars = after.char_indices();
            let mut end = None;
            while let Some((j, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, '\\' | '"' | 'n')) => {}
                        _ => return Err(at("bad escape in a label value")),
                    },
                    '"' => {
                        end = Some(j);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or_else(|| at("unterminated label value"))?;
            rest = &after[end + 1..];
            rest = match rest.strip_prefix(',') {
                Some(r) => r,
                None if rest.is_empty() => rest,
                None => return Err(at("labels not separated by commas")),
            };
        }
        let family = [name, name.strip_suffix("_bucket").unwrap_or(name)]
            .into_iter()
            .chain(name.strip_suffix("_sum"))
            .chain(name.strip_suffix("_count"))
            .find(|f| types.contains_key(*f))
            .ok_or_else(|| at("sample of an undeclared family"))?;
        if finished.contains(family) || current.as_deref() != Some(family) {
            return Err(at("family's samples are not together under its TYPE"));
        }
        if !seen.insert((name.to_owned(), labels.to_owned())) {
            return Err(at("series repeated"));
        }
        samples.push((name.to_owned(), labels.to_owned(), value));
    }
    Ok(samples)
}

/// The agent heartbeats: runs by agent and outcome, and each one's next due time.
pub fn render_heartbeats(
    counts: &BTreeMap<(String, &'static str), u64>,
    due: &BTreeMap<String, i64>,
) -> String {
    let mut out = String::new();
    if counts.is_empty() && due.is_empty() {
        return out;
    }
    family(
        &mut out,
        "wagw_agent_heartbeats_total",
        "counter",
        "Agent heartbeats run, by agent and outcome (ok: HEARTBEAT_OK, nothing sent).",
    );
    for ((agent, outcome), n) in counts {
        let _ = writeln!(
            out,
            "wagw_agent_heartbeats_total{{agent=\"{}\",outcome=\"{outcome}\"}} {n}",
            label(agent)
        );
    }
    family(
        &mut out,
        "wagw_agent_heartbeat_next_due_seconds",
        "gauge",
        "When each agent's next heartbeat is due, Unix seconds.",
    );
    for (agent, at_ms) in due {
        let _ = writeln!(
            out,
            "wagw_agent_heartbeat_next_due_seconds{{agent=\"{}\"}} {}",
            label(agent),
            at_ms / 1000
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_sample_belongs_to_a_declared_family_and_labels_are_escaped() {
        let mut m = MetricsSnapshot {
            messages_in: 3,
            state: "connected".into(),
            ..MetricsSnapshot::default()
        };
        m.drops.insert("not_in_allowlist".into(), 2);
        m.reconnects.insert("stream \"error\"".into(), 1);
        let mut accounts = BTreeMap::new();
        accounts.insert(AccountId::parse("work").unwrap(), m);
        let counts = OutboxCounts {
            pending: 4,
            dead: 1,
            delivered: 7,
        };
        let mut resources = BTreeMap::new();
        let mut r = TransportResources {
            connected: true,
            bytes_received: 900,
            ..TransportResources::default()
        };
        r.sizes.insert("signal_sessions".into(), 12);
        resources.insert(AccountId::parse("work").unwrap(), r);
        let library = "# TYPE wa_recv_total counter\nwa_recv_total{outcome=\"decrypted\"} 2\n";
        let text = render(&accounts, &resources, Some(&counts), Some(library));
        parse_exposition(&text).unwrap();
        assert!(
            text.contains("wagw_transport_connected{account=\"work\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "wagw_transport_entries{account=\"work\",collection=\"signal_sessions\"} 12\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("wagw_reconnect_attempts{account=\"work\"} 0\n"),
            "{text}"
        );
        assert!(text.ends_with(library), "{text}");
        // The checker catches what Prometheus would refuse.
        for bad in [
            "wagw_x 1\n",
            "# TYPE a counter\n# TYPE a counter\na 1\n",
            "# TYPE a counter\na{x=\"1} 1\n",
            "# TYPE a counter\na one\n",
            "# TYPE a counter\na 1\na 2\n",
            "# TYPE a counter\n# TYPE b gauge\nb 1\na 1\n",
        ] {
            assert!(parse_exposition(bad).is_err(), "{bad:?} passed");
        }
        assert!(
            text.contains("wagw_messages_in_total{account=\"work\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("wagw_dropped_total{account=\"work\",reason=\"not_in_allowlist\"} 2\n")
        );
        assert!(
            text.contains("reason=\"stream \\\"error\\\"\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("wagw_account_state{account=\"work\",state=\"connected\"} 1\n"));
        assert!(text.contains("wagw_webhook_deliveries{state=\"pending\"} 4\n"));
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(declared.contains(name), "{line}");
            }
        }
    }

    #[test]
    fn heartbeats_render_by_agent_and_outcome() {
        let mut counts = BTreeMap::new();
        counts.insert(("main".to_owned(), "ok"), 3);
        counts.insert(("main".to_owned(), "delivered"), 1);
        let due = BTreeMap::from([("main".to_owned(), 1_700_000_123_456)]);
        let text = render_heartbeats(&counts, &due);
        assert!(
            text.contains("wagw_agent_heartbeats_total{agent=\"main\",outcome=\"ok\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("wagw_agent_heartbeats_total{agent=\"main\",outcome=\"delivered\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("wagw_agent_heartbeat_next_due_seconds{agent=\"main\"} 1700000123\n"),
            "{text}"
        );
        assert_eq!(render_heartbeats(&BTreeMap::new(), &BTreeMap::new()), "");
    }
}
