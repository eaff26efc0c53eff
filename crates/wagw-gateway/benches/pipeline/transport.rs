//! A minimal in-process transport for the bench: linked accounts whose connections deliver
//! injected DMs and confirm sends. (Interim until `wagw-sim` lands on main.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use wagw_core::*;

#[derive(Clone, Default)]
pub struct BenchNet {
    accounts: Arc<Mutex<HashMap<String, BenchSocket>>>,
}

impl BenchNet {
    pub fn account(&self, id: &str, phone: &str) -> BenchSocket {
        let socket = BenchSocket {
            id: AccountId::parse(id).unwrap(),
            identity: OwnIdentity {
                phone: Phone::parse(phone).unwrap(),
                lid: None,
                push_name: None,
            },
            events: Arc::default(),
        };
        self.accounts
            .lock()
            .unwrap()
            .insert(id.to_owned(), socket.clone());
        socket
    }

    pub async fn wait_connected(&self, id: &str) -> BenchSocket {
        loop {
            let socket = self.accounts.lock().unwrap().get(id).cloned();
            if let Some(s) = socket
                && s.events.lock().unwrap().is_some()
            {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[derive(Clone)]
pub struct BenchSocket {
    id: AccountId,
    identity: OwnIdentity,
    events: Arc<Mutex<Option<mpsc::Sender<SocketEvent>>>>,
}

impl BenchSocket {
    /// Sends `count` DMs (ids `start..start+count`) round-robin over `chats` senders;
    /// returns the commit receivers.
    pub async fn inject_dms(
        &self,
        start: usize,
        count: usize,
        chats: usize,
    ) -> Vec<oneshot::Receiver<()>> {
        let tx = self.events.lock().unwrap().clone().unwrap();
        let mut commits = Vec::with_capacity(count);
        for i in start..start + count {
            let phone = Phone::parse(&format!("+1555200{:04}", i % chats)).unwrap();
            let message = InboundMessage {
                id: MessageId::new(format!("BENCH{i:08}")),
                account: self.id.clone(),
                chat: phone.to_jid(),
                sender: Sender::phone(phone),
                sender_jid: None,
                push_name: Some("Sender".into()),
                timestamp_ms: 1_700_000_000_000 + i as i64,
                from_me: false,
                offline: false,
                content: Content::text("hello there, how are you today?"),
                context: ContextInfo::default(),
            };
            let (ack, committed) = InboundAck::pair();
            tx.send(SocketEvent::Message {
                message: Box::new(message),
                ack,
            })
            .await
            .unwrap();
            commits.push(committed);
        }
        commits
    }
}

#[async_trait]
impl WaSocket for BenchSocket {
    async fn connect(&self) -> Result<SocketEvents, SocketError> {
        let (tx, rx) = mpsc::channel(1024);
        tx.send(SocketEvent::Connected {
            identity: self.identity.clone(),
        })
        .await
        .ok();
        *self.events.lock().unwrap() = Some(tx);
        Ok(rx)
    }
    async fn disconnect(&self) {
        let tx = self.events.lock().unwrap().take();
        if let Some(tx) = tx {
            let _ = tx.send(SocketEvent::Closed(CloseReason::Requested)).await;
        }
    }
    async fn logout(&self) -> Result<(), SocketError> {
        Ok(())
    }
    async fn request_pair_code(&self, _: &Phone) -> Result<String, SocketError> {
        Err(SocketError::AlreadyLinked)
    }
    async fn submit_passkey_assertion(&self, _: &str) -> Result<(), SocketError> {
        Err(SocketError::Unsupported("passkey"))
    }
    fn own_identity(&self) -> Option<OwnIdentity> {
        Some(self.identity.clone())
    }
    async fn send(&self, _: OutboundMessage) -> Result<SendReceipt, SocketError> {
        Ok(SendReceipt {
            id: MessageId::new("OUT"),
            timestamp_ms: 0,
        })
    }
    async fn upload_media(&self, _: Bytes, kind: MediaKind) -> Result<UploadedMedia, SocketError> {
        Ok(UploadedMedia {
            kind,
            reference: MediaRef::default(),
        })
    }
    async fn download_media(&self, _: &MediaRef, _: MediaKind) -> Result<Bytes, SocketError> {
        Err(SocketError::NotFound("media".into()))
    }
    async fn request_media_reupload(
        &self,
        _: &MessageKey,
        _: &MediaRef,
    ) -> Result<MediaRef, SocketError> {
        Err(SocketError::NotFound("media".into()))
    }
    async fn mark_read(
        &self,
        _: &Jid,
        _: Option<&Jid>,
        _: &[MessageId],
    ) -> Result<(), SocketError> {
        Ok(())
    }
    async fn send_chat_presence(&self, _: &Jid, _: ChatPresence) -> Result<(), SocketError> {
        Ok(())
    }
    async fn group_metadata(&self, group: &Jid) -> Result<GroupMetadata, SocketError> {
        Err(SocketError::NotFound(group.to_string()))
    }
    async fn lid_for_phone(&self, _: &Phone) -> Result<Option<Lid>, SocketError> {
        Ok(None)
    }
    async fn phone_for_lid(&self, _: &Lid) -> Result<Option<Phone>, SocketError> {
        Ok(None)
    }
}
