//! Soak: 10,000 inbound messages across 10 accounts and 100 chats with a sink that only
//! records: nothing lost, nothing duplicated, per-chat order kept, every message
//! acknowledged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wagw_core::*;
use wagw_gateway::*;

use crate::fake::{FakeSocket, dm};

const ACCOUNTS: usize = 10;
const CHATS_PER_ACCOUNT: usize = 10;
const MESSAGES_PER_CHAT: usize = 100;

/// Sequence numbers seen per (account, chat).
type Seen = Arc<Mutex<HashMap<(String, String), Vec<usize>>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_keep_order_and_are_all_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..ACCOUNTS).map(|i| format!("a{i}")).collect();
    let accounts: String = ids.iter().map(|id| format!("{id}: {{}},")).collect();
    let config = format!(
        "{{ channels: {{ whatsapp: {{ dmPolicy: 'open', allowFrom: ['*'], sendReadReceipts: false, accounts: {{ {accounts} }} }} }} }}"
    );
    let sockets: HashMap<String, FakeSocket> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), FakeSocket::linked(&format!("+1555900{i:04}"))))
        .collect();
    let factory_sockets = sockets.clone();
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let sink = sink_fn(move |turn: InboundTurn| {
        let s = s.clone();
        async move {
            let seq: usize = turn.message_id.rsplit('-').next().unwrap().parse().unwrap();
            s.lock()
                .unwrap()
                .entry((turn.account_id.to_string(), turn.chat_id.clone()))
                .or_default()
                .push(seq);
            Ok(vec![])
        }
    });
    let gw = Gateway::builder()
        .settings(GatewaySettings::from_json5(&config, dir.path()).unwrap())
        .transport(
            move |id: &AccountId,
                  _: &TransportSettings|
                  -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(factory_sockets[id.as_str()].clone()))
            },
        )
        .sink_arc(sink)
        .start()
        .await
        .unwrap();
    let mut feeders = Vec::new();
    for (id, socket) in &sockets {
        let tx = socket.wait_connects(1).await;
        let account = AccountId::parse(id).unwrap();
        feeders.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            // Interleave the chats, as real traffic does.
            for seq in 0..MESSAGES_PER_CHAT {
                for chat in 0..CHATS_PER_ACCOUNT {
                    let mut m = dm(
                        &format!("+1555100{chat:04}"),
                        &format!("M{chat}-{seq}"),
                        "x",
                    );
                    m.account = account.clone();
                    let (ack, committed) = InboundAck::pair();
                    tx.send(SocketEvent::Message {
                        message: Box::new(m),
                        ack,
                    })
                    .await
                    .unwrap();
                    acks.push(committed);
                }
            }
            for committed in acks {
                committed.await.expect("every message acknowledged");
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(120), async {
        for f in feeders {
            f.await.unwrap();
        }
    })
    .await
    .expect("soak finished in time");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), ACCOUNTS * CHATS_PER_ACCOUNT);
    for (chat, seqs) in &seen {
        assert_eq!(
            *seqs,
            (0..MESSAGES_PER_CHAT).collect::<Vec<_>>(),
            "order in {chat:?}"
        );
    }
    let total_in: u64 = gw.metrics().values().map(|m| m.messages_in).sum();
    let delivered: u64 = gw.metrics().values().map(|m| m.turns_delivered).sum();
    assert_eq!(
        total_in as usize,
        ACCOUNTS * CHATS_PER_ACCOUNT * MESSAGES_PER_CHAT
    );
    assert_eq!(delivered, total_in);
    assert_eq!(gw.store().dedupe().len(), total_in as usize);
    gw.shutdown().await.unwrap();
}
