//! Media both ways: upload, download, expiry, re-upload, every kind, send validation.

use bytes::Bytes;
use wagw_core::{
    Content, MediaKind, OutboundContent, OutboundMedia, OutboundMessage, SocketError, WaSocket,
};
use wagw_sim::{SimMedia, SimNetwork};

use super::{live, next_message};

#[tokio::test(start_paused = true)]
async fn inbound_media_of_every_kind_downloads() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;
    let cases = [
        (
            SimMedia::image(vec![1u8; 300]).caption("look"),
            MediaKind::Image,
        ),
        (
            SimMedia::video(vec![2u8; 400]).duration(3),
            MediaKind::Video,
        ),
        (SimMedia::gif(vec![3u8; 50]), MediaKind::Video),
        (SimMedia::audio(vec![4u8; 60]), MediaKind::Audio),
        (
            SimMedia::voice_note(vec![5u8; 70]).duration(2),
            MediaKind::Audio,
        ),
        (
            SimMedia::document("a.pdf", vec![6u8; 80]),
            MediaKind::Document,
        ),
        (SimMedia::sticker(vec![7u8; 90]), MediaKind::Sticker),
    ];
    for (media, kind) in cases {
        let expected = media.data.clone();
        let flags = (media.ptt, media.gif_playback, media.file_name.clone());
        alice.send_media(&account, media).await;
        let (m, ack) = next_message(&mut rx).await;
        ack.commit();
        let Content::Media(got) = m.content else {
            panic!("not media: {:?}", m.content)
        };
        assert_eq!(got.kind(), kind);
        assert_eq!((got.ptt, got.gif_playback, got.file_name.clone()), flags);
        assert_eq!(got.size, Some(expected.len() as u64));
        assert!(got.mime.is_some());
        let reference = got.reference.unwrap();
        assert_eq!(
            account.download_media(&reference, kind).await.unwrap(),
            expected
        );
    }
}

#[tokio::test(start_paused = true)]
async fn expired_media_needs_a_reupload() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;
    alice
        .message_to(&account)
        .text("caption from text")
        .media(SimMedia::image(Bytes::from_static(b"jpeg")))
        .send()
        .await;
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(m.content.text_or_caption(), Some("caption from text"));
    let Content::Media(media) = &m.content else {
        panic!()
    };
    let reference = media.reference.clone().unwrap();
    net.expire_media(&reference.direct_path).unwrap();
    assert_eq!(
        account.download_media(&reference, MediaKind::Image).await,
        Err(SocketError::MediaExpired)
    );
    let fresh = account
        .request_media_reupload(&m.key(), &reference)
        .await
        .unwrap();
    assert_eq!(
        account
            .download_media(&fresh, MediaKind::Image)
            .await
            .unwrap(),
        &b"jpeg"[..]
    );
    // Wrong kind fails decryption.
    assert!(matches!(
        account.download_media(&fresh, MediaKind::Video).await,
        Err(SocketError::Other(_))
    ));
}

fn media_msg(upload: wagw_core::UploadedMedia, mime: &str) -> OutboundMedia {
    OutboundMedia {
        upload,
        mime: mime.into(),
        caption: None,
        file_name: None,
        ptt: false,
        gif_playback: false,
        duration_secs: None,
        waveform: None,
        width: None,
        height: None,
        thumbnail_jpeg: None,
    }
}

#[tokio::test(start_paused = true)]
async fn outbound_media_is_recorded_with_its_flags() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let _rx = live(&account).await;
    let send = |m: OutboundMedia| {
        account.send(OutboundMessage {
            chat: alice.jid(),
            content: OutboundContent::Media(m),
            quote: None,
            mentions: vec![],
        })
    };

    let voice = account
        .upload_media(Bytes::from_static(b"opus"), MediaKind::Audio)
        .await
        .unwrap();
    let mut m = media_msg(voice.clone(), "audio/ogg; codecs=opus");
    m.ptt = true;
    m.waveform = Some(vec![0; 64]);
    send(m).await.unwrap();

    let gif = account
        .upload_media(Bytes::from_static(b"mp4"), MediaKind::Video)
        .await
        .unwrap();
    let mut m = media_msg(gif, "video/mp4");
    m.gif_playback = true;
    m.caption = Some("funny".into());
    send(m).await.unwrap();

    let img = account
        .upload_media(Bytes::from_static(b"jpg"), MediaKind::Image)
        .await
        .unwrap();
    let mut m = media_msg(img.clone(), "image/jpeg");
    m.thumbnail_jpeg = Some(Bytes::from_static(b"t"));
    send(m).await.unwrap();

    let out = net.sent_by(&account);
    let media: Vec<_> = out.iter().map(|e| e.media.clone().unwrap()).collect();
    assert!(media[0].ptt && media[0].has_waveform && media[0].kind == MediaKind::Audio);
    assert!(media[1].gif_playback);
    assert_eq!(out[1].caption(), Some("funny"));
    assert!(media[2].has_thumbnail);
    assert_eq!(
        net.media_bytes(&media[0].direct_path).unwrap(),
        &b"opus"[..]
    );
    assert_eq!(out[0].media_kind(), Some(MediaKind::Audio));

    // Validation: ptt only for audio, gif only for video, handles must exist.
    let mut bad = media_msg(img.clone(), "image/jpeg");
    bad.ptt = true;
    assert!(matches!(
        send(bad).await,
        Err(SocketError::InvalidRequest(_))
    ));
    let mut forged = img.clone();
    forged.reference.direct_path = "/nowhere".into();
    assert!(matches!(
        send(media_msg(forged, "image/jpeg")).await,
        Err(SocketError::InvalidRequest(_))
    ));
    let mut mislabeled = img;
    mislabeled.kind = MediaKind::Video;
    assert!(matches!(
        send(media_msg(mislabeled, "video/mp4")).await,
        Err(SocketError::InvalidRequest(_))
    ));
    assert!(matches!(
        account.upload_media(Bytes::new(), MediaKind::Image).await,
        Err(SocketError::InvalidRequest(_))
    ));
    // The recipient's own downloads work from the outbox reference.
    assert_eq!(
        account
            .download_media(&voice.reference, MediaKind::Audio)
            .await
            .unwrap(),
        &b"opus"[..]
    );
}
