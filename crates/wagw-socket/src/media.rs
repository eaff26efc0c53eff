//! Media: upload (encrypt + push to WhatsApp's CDN), download (fetch + decrypt), and the
//! re-upload request for media that expired on the CDN.

use bytes::Bytes;
use wagw_core::{MediaKind, MediaRef, MessageKey, SocketError, UploadedMedia};
use whatsapp_rust::Client;
use whatsapp_rust::UploadOptions;
use whatsapp_rust::download::MediaType;
use whatsapp_rust::features::{MediaRetryResult, MediaReuploadRequest};
use whatsapp_rust::waproto::whatsapp as wa;

use crate::ids;

/// The protocol media type (it selects the encryption keys' info string).
pub fn media_type(kind: MediaKind) -> MediaType {
    match kind {
        MediaKind::Image => MediaType::Image,
        MediaKind::Video => MediaType::Video,
        MediaKind::Audio => MediaType::Audio,
        MediaKind::Document => MediaType::Document,
        MediaKind::Sticker => MediaType::Sticker,
    }
}

/// Encrypts and uploads `data` as `kind`.
pub(crate) async fn upload(
    client: &Client,
    data: Bytes,
    kind: MediaKind,
) -> Result<UploadedMedia, SocketError> {
    let up = client
        .upload(data.to_vec(), media_type(kind), UploadOptions::default())
        .await
        .map_err(|e| SocketError::Interrupted(format!("media upload failed: {e:#}")))?;
    Ok(UploadedMedia {
        kind,
        reference: MediaRef {
            direct_path: up.direct_path,
            url: Some(up.url),
            media_key: up.media_key.to_vec(),
            file_sha256: up.file_sha256.to_vec(),
            file_enc_sha256: up.file_enc_sha256.to_vec(),
            file_length: up.file_length,
            media_key_timestamp: Some(up.media_key_timestamp),
        },
    })
}

/// A protocol media message carrying only the CDN fields of `r` (what download needs) and
/// the key's timestamp.
pub fn downloadable(r: &MediaRef, kind: MediaKind) -> wa::Message {
    let url = r.url.clone();
    let direct_path = Some(r.direct_path.clone()).filter(|p| !p.is_empty());
    let media_key = Some(r.media_key.clone());
    let sha = Some(r.file_sha256.clone());
    let enc = Some(r.file_enc_sha256.clone());
    let len = Some(r.file_length);
    let ts = r.media_key_timestamp;
    let mut m = wa::Message::default();
    match kind {
        MediaKind::Image => {
            m.image_message = whatsapp_rust::buffa::MessageField::some(wa::message::ImageMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                ..Default::default()
            })
        }
        MediaKind::Video => {
            m.video_message = whatsapp_rust::buffa::MessageField::some(wa::message::VideoMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                ..Default::default()
            })
        }
        MediaKind::Audio => {
            m.audio_message = whatsapp_rust::buffa::MessageField::some(wa::message::AudioMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                ..Default::default()
            })
        }
        MediaKind::Document => {
            m.document_message =
                whatsapp_rust::buffa::MessageField::some(wa::message::DocumentMessage {
                    url,
                    direct_path,
                    media_key,
                    file_sha256: sha,
                    file_enc_sha256: enc,
                    file_length: len,
                    media_key_timestamp: ts,
                    ..Default::default()
                })
        }
        MediaKind::Sticker => {
            m.sticker_message =
                whatsapp_rust::buffa::MessageField::some(wa::message::StickerMessage {
                    url,
                    direct_path,
                    media_key,
                    file_sha256: sha,
                    file_enc_sha256: enc,
                    file_length: len,
                    media_key_timestamp: ts,
                    ..Default::default()
                })
        }
    }
    m
}

/// True when a download error says the CDN no longer has the blob (404/410).
fn is_expired(e: &whatsapp_rust::anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("not found/expired")
        || text.contains("status: 404")
        || text.contains("status: 410")
}

/// Downloads and decrypts a blob.
pub(crate) async fn download(
    client: &Client,
    r: &MediaRef,
    kind: MediaKind,
) -> Result<Bytes, SocketError> {
    if r.media_key.is_empty() {
        return Err(SocketError::InvalidRequest(
            "the media reference has no media key".into(),
        ));
    }
    let msg = downloadable(r, kind);
    let result = match kind {
        MediaKind::Image => {
            client
                .download(msg.image_message.as_option().ok_or_else(missing)?)
                .await
        }
        MediaKind::Video => {
            client
                .download(msg.video_message.as_option().ok_or_else(missing)?)
                .await
        }
        MediaKind::Audio => {
            client
                .download(msg.audio_message.as_option().ok_or_else(missing)?)
                .await
        }
        MediaKind::Document => {
            client
                .download(msg.document_message.as_option().ok_or_else(missing)?)
                .await
        }
        MediaKind::Sticker => {
            client
                .download(msg.sticker_message.as_option().ok_or_else(missing)?)
                .await
        }
    };
    match result {
        Ok(bytes) => Ok(Bytes::from(bytes)),
        Err(e) if is_expired(&e) => Err(SocketError::MediaExpired),
        Err(e) => Err(SocketError::Interrupted(format!(
            "media download failed: {e:#}"
        ))),
    }
}

fn missing() -> SocketError {
    SocketError::Other("internal: media message not built".into())
}

/// Asks the sender's phone to upload expired media again.
pub(crate) async fn request_reupload(
    client: &Client,
    key: &MessageKey,
    r: &MediaRef,
) -> Result<MediaRef, SocketError> {
    let chat = ids::to_wa(&key.chat)
        .ok_or_else(|| SocketError::InvalidRequest(format!("{} is not a valid chat", key.chat)))?;
    let participant = key.participant.as_ref().and_then(ids::to_wa);
    let result = client
        .media_reupload()
        .request(&MediaReuploadRequest {
            msg_id: key.id.as_str(),
            chat_jid: &chat,
            media_key: &r.media_key,
            is_from_me: key.from_me,
            participant: participant.as_ref(),
        })
        .await
        .map_err(|e| SocketError::Interrupted(format!("media re-upload request failed: {e}")))?;
    match result {
        MediaRetryResult::Success { direct_path } => Ok(MediaRef {
            direct_path,
            // The old URL points at the expired blob; download derives one from the path.
            url: None,
            ..r.clone()
        }),
        MediaRetryResult::NotFound => Err(SocketError::NotFound(
            "the sender's phone no longer has this media".into(),
        )),
        MediaRetryResult::DecryptionError => Err(SocketError::Rejected {
            code: 0,
            detail: "the phone could not decrypt the re-upload request".into(),
        }),
        MediaRetryResult::GeneralError => Err(SocketError::Rejected {
            code: 0,
            detail: "the phone refused to re-upload the media".into(),
        }),
    }
}
