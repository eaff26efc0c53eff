//! `GET /metrics`: the gateway's per-account counters and gauges and the webhook outbox's
//! depth as Prometheus text (exposition format 0.0.4). Names follow the gateway's metric
//! names with a `wagw_` prefix.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use wagw_agents::OutboxCounts;
use wagw_core::AccountId;
use wagw_gateway::MetricsSnapshot;

/// Escapes a label value (`\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The whole exposition.
pub fn render(
    accounts: &BTreeMap<AccountId, MetricsSnapshot>,
    outbox: Option<&OutboxCounts>,
) -> String {
    let mut out = String::new();
    type Get = fn(&MetricsSnapshot) -> i64;
    let plain: [(&str, &str, &str, Get); 9] = [
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
    ];
    for (name, kind, help, get) in plain {
        family(&mut out, name, kind, help);
        for (id, m) in accounts {
            let _ = writeln!(
                out,
                "{name}{{account=\"{}\"}} {}",
                label(id.as_str()),
                get(m)
            );
        }
    }
    family(
        &mut out,
        "wagw_dropped_total",
        "counter",
        "Inbound messages dropped, by reason.",
    );
    for (id, m) in accounts {
        for (reason, n) in &m.drops {
            let _ = writeln!(
                out,
                "wagw_dropped_total{{account=\"{}\",reason=\"{}\"}} {n}",
                label(id.as_str()),
                label(reason)
            );
        }
    }
    family(
        &mut out,
        "wagw_reconnects_total",
        "counter",
        "Reconnects, by close reason.",
    );
    for (id, m) in accounts {
        for (reason, n) in &m.reconnects {
            let _ = writeln!(
                out,
                "wagw_reconnects_total{{account=\"{}\",reason=\"{}\"}} {n}",
                label(id.as_str()),
                label(reason)
            );
        }
    }
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
        let text = render(&accounts, Some(&counts));
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
}
