//! The account's delivery queue, as WhatsApp keeps it: every encrypted message the server
//! delivered stays queued until the client acknowledges it (a delivery `<receipt>` or an
//! `<ack class="message">` naming its id), and the next login connection gets the
//! unacknowledged ones again, marked `offline`, before the `<ib><offline count=N/>` marker.
//!
//! The client sends that acknowledgement only after its inbound durability hook committed
//! the message, so "still queued" here means "not yet durable in the gateway".

use std::sync::Mutex;

use whatsapp_rust::wacore_binary::Node;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;

use crate::conn::attr;

/// One delivered message, kept to be rebuilt on redelivery.
#[derive(Clone)]
pub(crate) struct Envelope {
    pub id: String,
    pub from: String,
    pub t: u64,
    pub notify: Option<String>,
    pub enc_type: &'static str,
    pub ciphertext: Vec<u8>,
}

impl Envelope {
    /// The `<message>` stanza; `offline` marks a redelivery from the offline queue.
    pub fn node(&self, offline: bool) -> Node {
        let mut b = NodeBuilder::new("message")
            .attr("from", self.from.clone())
            .attr("id", self.id.clone())
            .attr("t", self.t.to_string())
            .attr("type", "text");
        if let Some(n) = &self.notify {
            b = b.attr("notify", n.clone());
        }
        if offline {
            b = b.attr("offline", "1");
        }
        b.children([NodeBuilder::new("enc")
            .attr("v", "2")
            .attr("type", self.enc_type)
            .bytes(self.ciphertext.clone())
            .build()])
            .build()
    }
}

/// Delivered-but-unacknowledged messages, in delivery order.
#[derive(Default)]
pub(crate) struct Inbox {
    pending: Mutex<Vec<Envelope>>,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Envelope>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a message as delivered and not yet acknowledged.
    pub fn delivered(&self, e: Envelope) {
        self.lock().push(e);
    }

    /// Drops every message a client stanza acknowledges; returns how many.
    pub fn acknowledge(&self, node: &Node) -> usize {
        let ids = acknowledged_ids(node);
        if ids.is_empty() {
            return 0;
        }
        let mut q = self.lock();
        let before = q.len();
        q.retain(|e| !ids.contains(&e.id));
        before - q.len()
    }

    /// The ids still waiting for an acknowledgement.
    pub fn unacknowledged(&self) -> Vec<String> {
        self.lock().iter().map(|e| e.id.clone()).collect()
    }

    /// The unacknowledged messages as offline redeliveries, in their original order.
    pub fn redeliveries(&self) -> Vec<Node> {
        self.lock().iter().map(|e| e.node(true)).collect()
    }
}

/// The message ids a client stanza acknowledges as delivered: a `<receipt>` (its `id` and
/// any `<list><item id=..>`; retry receipts excluded, they ask for a resend) or an
/// `<ack class="message">`. Empty for anything else.
pub fn acknowledged_ids(node: &Node) -> Vec<String> {
    let kind = attr(node, "type");
    let counts = match node.tag.as_ref() {
        "receipt" => !matches!(kind.as_deref(), Some("retry" | "enc_rekey_retry")),
        "ack" => attr(node, "class").as_deref() == Some("message"),
        _ => false,
    };
    if !counts {
        return Vec::new();
    }
    let mut ids: Vec<String> = attr(node, "id").into_iter().collect();
    if let Some(list) = node.get_optional_child("list") {
        ids.extend(
            list.children()
                .unwrap_or_default()
                .iter()
                .filter_map(|item| attr(item, "id")),
        );
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(id: &str) -> Envelope {
        Envelope {
            id: id.into(),
            from: "15550001111@s.whatsapp.net".into(),
            t: 1,
            notify: None,
            enc_type: "pkmsg",
            ciphertext: vec![1, 2, 3],
        }
    }

    #[test]
    fn receipts_and_acks_clear_only_what_they_name() {
        let inbox = Inbox::default();
        for id in ["A", "B", "C", "D"] {
            inbox.delivered(envelope(id));
        }
        let retry = NodeBuilder::new("receipt")
            .attr("id", "A")
            .attr("type", "retry")
            .build();
        assert_eq!(
            inbox.acknowledge(&retry),
            0,
            "a retry receipt is no delivery"
        );
        let aggregate = NodeBuilder::new("receipt")
            .attr("id", "A")
            .children([NodeBuilder::new("list")
                .children([NodeBuilder::new("item").attr("id", "C").build()])
                .build()])
            .build();
        assert_eq!(inbox.acknowledge(&aggregate), 2);
        let ack = NodeBuilder::new("ack")
            .attr("class", "message")
            .attr("id", "D")
            .build();
        assert_eq!(inbox.acknowledge(&ack), 1);
        assert_eq!(inbox.unacknowledged(), ["B"]);
        let again = inbox.redeliveries();
        assert_eq!(again.len(), 1);
        assert_eq!(attr(&again[0], "offline").as_deref(), Some("1"));
        assert_eq!(attr(&again[0], "id").as_deref(), Some("B"));
    }
}
