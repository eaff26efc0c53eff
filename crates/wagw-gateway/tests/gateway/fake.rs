//! A tiny scripted `WaSocket` double: the test pushes events, the double records what the
//! gateway did. (Pipeline tests run on `wagw-sim`; this covers transport-level corners.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use wagw_core::*;

#[derive(Default)]
pub struct FakeState {
    pub connects: usize,
    pub sent: Vec<OutboundMessage>,
    pub read: Vec<(Jid, Vec<MessageId>)>,
    pub disconnects: usize,
    pub events: Option<mpsc::Sender<SocketEvent>>,
    pub next_id: u64,
    pub fail_sends: bool,
    pub media: Option<Bytes>,
    pub expired: bool,
    pub transient_failures: u32,
    pub downloads: u32,
    pub reuploads: u32,
}

#[derive(Clone, Default)]
pub struct FakeSocket {
    pub state: Arc<Mutex<FakeState>>,
    pub identity: Option<OwnIdentity>,
}

impl FakeSocket {
    pub fn linked(phone: &str) -> FakeSocket {
        FakeSocket {
            state: Arc::default(),
            identity: Some(OwnIdentity {
                phone: Phone::parse(phone).unwrap(),
                lid: None,
                push_name: Some("Bot".into()),
            }),
        }
    }

    pub fn tx(&self) -> Option<mpsc::Sender<SocketEvent>> {
        self.state.lock().unwrap().events.clone()
    }

    /// Waits until the gateway connected `n` times.
    pub async fn wait_connects(&self, n: usize) -> mpsc::Sender<SocketEvent> {
        // Bounded in real time (paused tokio time may jump ahead while the store commits).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            {
                let s = self.state.lock().unwrap();
                if s.connects >= n
                    && let Some(tx) = s.events.clone()
                {
                    return tx;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("gateway did not connect {n} times");
    }

    /// Sends `message` and returns the receiver that sees the commit.
    pub async fn deliver(&self, message: InboundMessage) -> oneshot::Receiver<()> {
        let (ack, rx) = InboundAck::pair();
        let tx = self.tx().expect("connected");
        tx.send(SocketEvent::Message {
            message: Box::new(message),
            ack,
        })
        .await
        .expect("gateway reading");
        rx
    }

    pub fn sent_texts(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .sent
            .iter()
            .filter_map(|m| match &m.content {
                OutboundContent::Text { text } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

#[async_trait]
impl WaSocket for FakeSocket {
    async fn connect(&self) -> Result<SocketEvents, SocketError> {
        let (tx, rx) = mpsc::channel(1024);
        if let Some(identity) = self.identity.clone() {
            tx.send(SocketEvent::Connected { identity }).await.ok();
        }
        let mut s = self.state.lock().unwrap();
        s.connects += 1;
        s.events = Some(tx);
        Ok(rx)
    }
    async fn disconnect(&self) {
        let tx = {
            let mut s = self.state.lock().unwrap();
            s.disconnects += 1;
            s.events.take()
        };
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
        self.identity.clone()
    }
    async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, SocketError> {
        let mut s = self.state.lock().unwrap();
        if s.fail_sends {
            return Err(SocketError::Rejected {
                code: 500,
                detail: "nope".into(),
            });
        }
        s.next_id += 1;
        let id = MessageId::new(format!("OUT{}", s.next_id));
        s.sent.push(message);
        Ok(SendReceipt {
            id,
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
        let mut s = self.state.lock().unwrap();
        s.downloads += 1;
        if s.transient_failures > 0 {
            s.transient_failures -= 1;
            return Err(SocketError::Interrupted("reset".into()));
        }
        if s.expired {
            return Err(SocketError::MediaExpired);
        }
        s.media.clone().ok_or(SocketError::NotFound("media".into()))
    }
    async fn request_media_reupload(
        &self,
        _: &MessageKey,
        media: &MediaRef,
    ) -> Result<MediaRef, SocketError> {
        let mut s = self.state.lock().unwrap();
        s.reuploads += 1;
        s.expired = false;
        Ok(media.clone())
    }
    async fn mark_read(
        &self,
        chat: &Jid,
        _: Option<&Jid>,
        ids: &[MessageId],
    ) -> Result<(), SocketError> {
        self.state
            .lock()
            .unwrap()
            .read
            .push((chat.clone(), ids.to_vec()));
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

pub fn dm(from: &str, id: &str, text: &str) -> InboundMessage {
    let phone = Phone::parse(from).unwrap();
    InboundMessage {
        id: MessageId::new(id),
        account: AccountId::default_account(),
        chat: phone.to_jid(),
        sender: Sender::phone(phone),
        sender_jid: None,
        push_name: Some("Alice".into()),
        timestamp_ms: 1_700_000_000_000,
        from_me: false,
        offline: false,
        content: Content::text(text),
        context: ContextInfo::default(),
    }
}

pub fn image(from: &str, id: &str, size: u64) -> InboundMessage {
    let mut m = dm(from, id, "");
    m.content = Content::Media(Media {
        mime: Some("image/jpeg".into()),
        caption: Some("look".into()),
        size: Some(size),
        reference: Some(MediaRef {
            direct_path: "/m/1".into(),
            file_length: size,
            ..MediaRef::default()
        }),
        ..Media::new(MediaKind::Image)
    });
    m
}

/// DMs from anyone (most pipeline tests are not about access control).
pub const OPEN: &str = "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }";

pub fn open_settings(dir: &std::path::Path) -> wagw_gateway::GatewaySettings {
    wagw_gateway::GatewaySettings::from_json5(OPEN, dir).unwrap()
}
