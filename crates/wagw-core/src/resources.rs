//! [`TransportResources`]: what one account's transport holds right now — connection,
//! traffic, memory and the sizes of its caches and queues — in a shape that names no
//! protocol library, for status pages, `/metrics` and leak hunting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A point-in-time report of one account's transport, from [`crate::WaSocket::resources`].
///
/// Counters (`*_sent`, `*_received`, `events_dropped`, `undecryptable`) only grow while the
/// socket lives; sizes are current values. Figures a transport cannot measure stay 0, and
/// `sizes` holds only what it can: the real transport reports its protocol caches
/// (`signal_sessions`, `transport_ack_queue`, ...), the simulator its queues.
///
/// ```
/// use wagw_core::TransportResources;
/// let mut r = TransportResources { connected: true, ..TransportResources::default() };
/// r.sizes.insert("outbox".into(), 3);
/// let json = serde_json::to_value(&r).unwrap();
/// assert_eq!(json["connected"], true);
/// assert_eq!(json["sizes"]["outbox"], 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportResources {
    /// True while a connection is up.
    pub connected: bool,
    /// Messages sent on the current connection.
    #[serde(default)]
    pub messages_sent: u64,
    /// Messages received on the current connection.
    #[serde(default)]
    pub messages_received: u64,
    /// Wire bytes sent on the current connection.
    #[serde(default)]
    pub bytes_sent: u64,
    /// Wire bytes received on the current connection.
    #[serde(default)]
    pub bytes_received: u64,
    /// Events the transport had to shed because its consumer fell behind (should stay 0).
    #[serde(default)]
    pub events_dropped: u64,
    /// Inbound messages that could not be decrypted since the socket was opened.
    #[serde(default)]
    pub undecryptable: u64,
    /// Estimated memory the session retains, in bytes (a lower bound).
    #[serde(default)]
    pub estimated_memory_bytes: u64,
    /// The protocol store's size on disk, in bytes.
    #[serde(default)]
    pub store_bytes_on_disk: u64,
    /// Current entry counts of named caches and queues (snake_case names).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sizes: BTreeMap<String, u64>,
}
