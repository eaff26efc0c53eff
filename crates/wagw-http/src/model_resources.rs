//! The JSON shape of `GET /v1/accounts/{id}/resources`: one account's transport resources.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagw_core::TransportResources;

/// `GET /v1/accounts/{id}/resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountResources {
    /// The account id.
    pub account: String,
    /// The gateway runs this account (its transport exists). When false, `resources` is absent.
    pub running: bool,
    /// What the account's transport holds now; absent when it is not running or its
    /// transport cannot report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesView>,
}

/// One transport's connection, traffic, memory and cache/queue sizes. Counters of the real
/// transport cover the current connection (they restart on reconnect), except
/// `undecryptable` (since the gateway started the account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesView {
    /// A connection is up.
    pub connected: bool,
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Wire bytes sent.
    pub bytes_sent: u64,
    /// Wire bytes received.
    pub bytes_received: u64,
    /// Events the transport shed because the gateway fell behind (should stay 0).
    pub events_dropped: u64,
    /// Inbound messages that could not be decrypted.
    pub undecryptable: u64,
    /// Estimated memory the session retains, bytes (a lower bound).
    pub estimated_memory_bytes: u64,
    /// The protocol store's size on disk, bytes.
    pub store_bytes_on_disk: u64,
    /// Entries per cache or queue (`signal_sessions`, `transport_ack_queue`, ... on
    /// WhatsApp; `pending_inbound`, `outbox`, ... on the simulator).
    pub sizes: BTreeMap<String, u64>,
}

impl From<TransportResources> for ResourcesView {
    fn from(r: TransportResources) -> ResourcesView {
        ResourcesView {
            connected: r.connected,
            messages_sent: r.messages_sent,
            messages_received: r.messages_received,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            events_dropped: r.events_dropped,
            undecryptable: r.undecryptable,
            estimated_memory_bytes: r.estimated_memory_bytes,
            store_bytes_on_disk: r.store_bytes_on_disk,
            sizes: r.sizes,
        }
    }
}

/// `POST /v1/accounts/{id}/probe`: one active check of an account's connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// The account id.
    pub account: String,
    /// The gateway runs this account; when false nothing was pinged.
    pub running: bool,
    /// WhatsApp answered the ping.
    pub ok: bool,
    /// The ping's round-trip time in milliseconds, when it was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u64>,
    /// Why the ping failed (not connected, timed out, unsupported by the transport).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
