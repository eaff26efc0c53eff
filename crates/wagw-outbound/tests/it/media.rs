//! Media on real files: generated JPEG/PNG/GIF, the shipped Ogg/Opus voice note, bombs,
//! local roots, and HTTP fetching against a loopback server.

use std::io::Cursor;

use bytes::Bytes;
use image::{ImageFormat, RgbImage, RgbaImage};
use wagw_core::MediaKind;
use wagw_outbound::media::audio::parse_ogg_opus;
use wagw_outbound::media::image::ImageAction;
use wagw_outbound::{
    ImageLimits, LoadedMedia, MIB, MediaAction, MediaCaps, MediaFacts, MediaLoader, MediaOptions,
    MediaSettings, MediaSource, OutboundError, Tools, optimize_image, plan_media, prepare_media,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/media/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Gradients plus pseudo-random noise: compresses like a camera photo.
fn noisy_rgb(w: u32, h: u32) -> RgbImage {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    RgbImage::from_fn(w, h, |x, y| {
        let mut px = [0u8; 3];
        for (c, v) in px.iter_mut().enumerate() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let base = (x * 180 / w + y * 60 / h) as i32 + c as i32 * 10;
            *v = (base + (seed % 41) as i32 - 20).clamp(0, 255) as u8;
        }
        image::Rgb(px)
    })
}

fn jpeg_q95(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    out
}

fn encode(img: impl Into<image::DynamicImage>, format: ImageFormat) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    img.into().write_to(&mut buf, format).unwrap();
    buf.into_inner()
}

/// Inserts an APP1 Exif segment (big-endian TIFF) with the given IFD0 entries after SOI.
fn with_exif(jpeg: &[u8], entries: &[(u16, u16, u32, u32)]) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for &(tag, kind, count, value) in entries {
        tiff.extend_from_slice(&tag.to_be_bytes());
        tiff.extend_from_slice(&kind.to_be_bytes());
        tiff.extend_from_slice(&count.to_be_bytes());
        if kind == 3 {
            tiff.extend_from_slice(&(value as u16).to_be_bytes());
            tiff.extend_from_slice(&[0, 0]);
        } else {
            tiff.extend_from_slice(&value.to_be_bytes());
        }
    }
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn loaded(data: Vec<u8>, name: &str) -> LoadedMedia {
    LoadedMedia {
        data: Bytes::from(data),
        file_name: Some(name.into()),
        declared_mime: None,
        origin: name.into(),
    }
}

#[test]
fn twelve_megapixel_jpeg_is_swept_under_the_cap() {
    // A smooth 12-MP photo-like JPEG: over the 2048 px pass-through limit. A tight 1 MiB cap
    // makes the sweep work for it (the noisy 7.8 MB camera file is the benchmark's job).
    let img = RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x / 16) as u8, (y / 12) as u8, ((x + y) / 28) as u8])
    });
    let data = jpeg_q95(&img);
    let cap = MIB;
    let out = optimize_image(&data, cap, &ImageLimits::default()).unwrap();
    assert_eq!(out.mime, "image/jpeg");
    assert_eq!((out.width, out.height), (2048, 1536));
    assert_eq!(
        out.action,
        ImageAction::Jpeg {
            side: 2048,
            quality: 76
        }
    );
    assert!(out.data.len() as u64 <= cap);
    let back = image::load_from_memory(&out.data).unwrap();
    assert_eq!((back.width(), back.height()), (2048, 1536));
    // The same file under a cap it already fits still gets resized (longest side > 2048).
    let facts = MediaFacts::inspect(&loaded(data, "big.jpg"), &ImageLimits::default());
    assert_eq!(facts.dimensions, Some((4000, 3000)));
    let plan = plan_media(
        &facts,
        &MediaCaps::reply(None),
        &MediaOptions::default(),
        false,
    );
    assert!(
        matches!(plan.action, MediaAction::ImageSweep { ref reason } if reason.contains("4000"))
    );
}

#[test]
fn nothing_fits_gives_the_exact_error() {
    let data = jpeg_q95(&noisy_rgb(400, 300));
    let err = optimize_image(&data, 1024, &ImageLimits::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, OutboundError::CouldNotReduce { .. }));
    assert!(
        msg.starts_with("Media could not be reduced below 0MB (got 0."),
        "{msg}"
    );
    assert!(msg.ends_with("MB)"), "{msg}");
}

#[test]
fn exif_orientation_is_applied_and_exif_dropped() {
    // Orientation 6: the stored 40x20 image displays rotated 90° clockwise, as 20x40.
    let mut img = RgbImage::from_pixel(40, 20, image::Rgb([0, 0, 255]));
    for y in 0..20 {
        for x in 0..5 {
            img.put_pixel(x, y, image::Rgb([255, 0, 0])); // red band on the stored left edge
        }
    }
    let data = with_exif(&encode(img, ImageFormat::Jpeg), &[(0x0112, 3, 1, 6)]);
    let out = optimize_image(&data, 5 * MIB, &ImageLimits::default()).unwrap();
    assert_eq!((out.width, out.height), (20, 40));
    assert!(matches!(out.action, ImageAction::Jpeg { .. }));
    assert!(!out.data.windows(6).any(|w| w == b"Exif\0\0"));
    // After a clockwise turn the stored left edge is on top.
    let back = image::load_from_memory(&out.data).unwrap().to_rgb8();
    let top = back.get_pixel(10, 1).0;
    assert!(top[0] > 200 && top[2] < 60, "top should be red: {top:?}");
}

#[test]
fn upright_small_jpeg_passes_through_without_location() {
    // IFD0 with orientation 1 and a GPS IFD pointer: the whole APP1 goes, the pixels stay.
    let plain = encode(noisy_rgb(300, 200), ImageFormat::Jpeg);
    let data = with_exif(&plain, &[(0x0112, 3, 1, 1), (0x8825, 4, 1, 26)]);
    let out = optimize_image(&data, 5 * MIB, &ImageLimits::default()).unwrap();
    assert_eq!(
        out.action,
        ImageAction::PassThrough {
            metadata_stripped: true
        }
    );
    assert_eq!(&out.data[..], &plain[..]);
}

#[test]
fn png_with_alpha_stays_png() {
    let mut img = RgbaImage::from_fn(2100, 300, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
    });
    for y in 0..100 {
        for x in 0..100 {
            img.put_pixel(x, y, image::Rgba([0, 0, 0, 0]));
        }
    }
    let data = encode(img, ImageFormat::Png);
    let out = optimize_image(&data, 5 * MIB, &ImageLimits::default()).unwrap();
    assert_eq!(out.mime, "image/png");
    assert!(
        matches!(
            out.action,
            ImageAction::Png {
                side: 2048,
                level: 6
            }
        ),
        "{:?}",
        out.action
    );
    let back = image::load_from_memory(&out.data).unwrap().to_rgba8();
    assert_eq!((back.width(), back.height()), (2048, 293));
    assert_eq!(back.get_pixel(5, 5).0[3], 0, "transparency kept");

    // A small one is sent as it is.
    let small = encode(
        RgbaImage::from_pixel(50, 50, image::Rgba([1, 2, 3, 100])),
        ImageFormat::Png,
    );
    let out = optimize_image(&small, 5 * MIB, &ImageLimits::default()).unwrap();
    assert_eq!(
        out.action,
        ImageAction::PassThrough {
            metadata_stripped: false
        }
    );
    assert_eq!(&out.data[..], &small[..]);
}

/// A PNG header that declares 100000 x 100000 pixels; the guard must refuse it before any
/// allocation (decoding it would need 40 GB).
fn png_bomb() -> Vec<u8> {
    png_declaring(100_000, 100_000, 2)
}

/// A PNG whose header declares `width`×`height` pixels of PNG colour type `color` (2 RGB,
/// 6 RGBA) at 8 bits, with an empty image stream: only the header is ever read.
fn png_declaring(width: u32, height: u32, color: u8) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut chunk = |kind: &[u8], body: &[u8]| {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(body);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, color, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

#[test]
fn decompression_bombs_are_refused_from_the_header() {
    let err = optimize_image(&png_bomb(), 5 * MIB, &ImageLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            OutboundError::ImageTooLarge {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err}"
    );

    // A JPEG whose SOF claims 60000 x 60000.
    let mut jpeg = encode(
        RgbImage::from_pixel(16, 16, image::Rgb([9, 9, 9])),
        ImageFormat::Jpeg,
    );
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    let err = optimize_image(&jpeg, 5 * MIB, &ImageLimits::default()).unwrap_err();
    assert!(matches!(err, OutboundError::ImageTooLarge { .. }), "{err}");

    // Planning rejects it too, with the same reason.
    let facts = MediaFacts::inspect(&loaded(png_bomb(), "bomb.png"), &ImageLimits::default());
    let plan = plan_media(
        &facts,
        &MediaCaps::reply(None),
        &MediaOptions::default(),
        false,
    );
    assert!(
        matches!(&plan.action, MediaAction::Reject { error } if error.contains("decompression bomb"))
    );
}

/// 81 MP of RGBA is within the pixel limits, but decoding it and its working copy would hold
/// about 648 MB: refused from the header, by planning and by the optimizer, with the figures.
#[test]
fn an_image_whose_decode_would_exceed_the_memory_budget_is_refused_from_its_header() {
    let png = png_declaring(9_000, 9_000, 6);
    let err = optimize_image(&png, 5 * MIB, &ImageLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            OutboundError::ImageDecodeBudget {
                width: 9_000,
                height: 9_000,
                needed_mb: 648,
                ..
            }
        ),
        "{err}"
    );
    let facts = MediaFacts::inspect(&loaded(png, "big.png"), &ImageLimits::default());
    assert!(facts.image_refused);
    let plan = plan_media(
        &facts,
        &MediaCaps::reply(None),
        &MediaOptions::default(),
        false,
    );
    assert!(
        matches!(&plan.action, MediaAction::Reject { error } if error.contains("648 MB")),
        "{:?}",
        plan.action
    );
    // The same pixels as 8-bit RGB need no working copy (243 MB): within the budget, so
    // the header is accepted (the empty image stream then fails to decode, as it should).
    let rgb = png_declaring(9_000, 9_000, 2);
    let err = optimize_image(&rgb, 5 * MIB, &ImageLimits::default()).unwrap_err();
    assert!(matches!(err, OutboundError::ImageDecode(_)), "{err}");
}

fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        for i in 0..3u8 {
            let frame = RgbaImage::from_pixel(32, 32, image::Rgba([i * 80, 40, 200, 255]));
            enc.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    out
}

#[tokio::test]
async fn animated_gif_becomes_mp4_or_a_document() {
    let gif = animated_gif();
    assert_eq!(wagw_outbound::media::gif::frame_count(&gif), Some(3));
    let facts = MediaFacts::inspect(&loaded(gif.clone(), "party.gif"), &ImageLimits::default());
    let caps = MediaCaps::explicit();

    let plan = plan_media(&facts, &caps, &MediaOptions::default(), false);
    assert_eq!(plan.action, MediaAction::GifAsDocument);
    let prepared = prepare_media(
        loaded(gif.clone(), "party.gif"),
        &plan,
        &Tools::none(),
        &ImageLimits::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (prepared.kind, prepared.file_name.as_deref()),
        (MediaKind::Document, Some("party.gif"))
    );
    assert!(prepared.warnings.iter().any(|w| w.contains("ffmpeg")));

    let tools = Tools::detect();
    if tools.ffmpeg.is_some() {
        let plan = plan_media(&facts, &caps, &MediaOptions::default(), true);
        assert_eq!(plan.action, MediaAction::GifToMp4);
        let prepared = prepare_media(
            loaded(gif, "party.gif"),
            &plan,
            &tools,
            &ImageLimits::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            (prepared.kind, prepared.mime.as_str(), prepared.gif_playback),
            (MediaKind::Video, "video/mp4", true)
        );
        assert_eq!(&prepared.data[4..8], b"ftyp");
    }
}

#[test]
fn still_gif_is_an_untouched_image() {
    let gif = encode(
        RgbaImage::from_pixel(8, 8, image::Rgba([1, 2, 3, 255])),
        ImageFormat::Gif,
    );
    let facts = MediaFacts::inspect(&loaded(gif, "still.gif"), &ImageLimits::default());
    assert_eq!(facts.gif_frames, Some(1));
    let plan = plan_media(
        &facts,
        &MediaCaps::reply(None),
        &MediaOptions::default(),
        true,
    );
    assert_eq!(
        (plan.action, plan.kind),
        (MediaAction::GifAsImage, MediaKind::Image)
    );
}

#[tokio::test]
async fn ogg_opus_voice_note_has_real_duration_and_waveform() {
    let ogg = fixture("voice-2s.ogg");
    let info = parse_ogg_opus(&ogg).unwrap();
    assert_eq!(info.duration_ms(), 2000);
    let facts = MediaFacts::inspect(&loaded(ogg.clone(), "voice.ogg"), &ImageLimits::default());
    let plan = plan_media(
        &facts,
        &MediaCaps::reply(None),
        &MediaOptions::default(),
        false,
    );
    assert_eq!(plan.mime, "audio/ogg; codecs=opus");
    assert_eq!(
        plan.action,
        MediaAction::VoiceNote {
            opus: true,
            transcode: false
        }
    );

    let tools = Tools::detect();
    let prepared = prepare_media(
        loaded(ogg, "voice.ogg"),
        &plan,
        &tools,
        &ImageLimits::default(),
    )
    .await
    .unwrap();
    assert!(prepared.ptt);
    assert_eq!(prepared.duration_secs, Some(2));
    let decoder_available = cfg!(feature = "libopus") || tools.ffmpeg.is_some();
    match &prepared.waveform {
        Some(w) => {
            assert_eq!(w.len(), 64);
            // The fixture is quiet for its first second and loud for its second.
            let first: u32 = w[..28].iter().map(|&b| u32::from(b)).sum();
            let second: u32 = w[36..].iter().map(|&b| u32::from(b)).sum();
            assert!(second > first * 4, "waveform should rise: {w:?}");
            assert_eq!(w.iter().max(), Some(&100));
        }
        None => {
            assert!(
                !decoder_available,
                "a decoder was available but no waveform came out"
            );
            assert!(prepared.warnings.iter().any(|w| w.contains("waveform")));
        }
    }
}

#[test]
fn local_paths_only_under_roots() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("ok.txt"), b"hello").unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        root.path().join("link.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(root.path().join("ok.txt"), outside.path().join("in.txt")).unwrap();
    let roots = vec![root.path().to_path_buf()];
    use wagw_outbound::media::source::check_local_path;
    assert!(check_local_path(&root.path().join("ok.txt"), &roots).is_ok());
    // A symlink inside the root pointing out is refused; one outside pointing in resolves in.
    assert!(matches!(
        check_local_path(&root.path().join("link.txt"), &roots),
        Err(OutboundError::PathNotAllowed { .. })
    ));
    assert!(check_local_path(&outside.path().join("in.txt"), &roots).is_ok());
    let sneaky = root.path().join("sub/../ok.txt");
    assert!(matches!(
        check_local_path(&sneaky, &roots),
        Err(OutboundError::PathNotAllowed { .. })
    ));
    assert!(matches!(
        check_local_path(&root.path().join("ok.txt"), &[]),
        Err(OutboundError::PathNotAllowed { .. })
    ));
}

/// A one-shot HTTP server on loopback answering every request with `response`.
async fn serve(response: Vec<u8>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(&response).await;
            let _ = sock.shutdown().await;
        }
    });
    addr
}

fn http_response(body: &[u8], extra_headers: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: image/png\r\n{extra_headers}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test]
async fn http_fetch_guard_and_caps() {
    let png = encode(
        RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3])),
        ImageFormat::Png,
    );
    let addr = serve(http_response(
        &png,
        "Content-Disposition: attachment; filename=\"chart.png\"\r\n",
    ))
    .await;

    // Loopback is refused by default: as an IP literal, and as a name resolved to it.
    let guarded = MediaLoader::new(MediaSettings::default()).unwrap();
    for url in [
        format!("http://{addr}/chart"),
        format!("http://localhost:{}/chart", addr.port()),
    ] {
        let err = guarded
            .load(&MediaSource::parse(&url).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, OutboundError::BlockedAddress { .. }),
            "{url}: {err}"
        );
        assert!(err.to_string().contains("allowPrivateNetworks"), "{err}");
    }

    let open = MediaLoader::new(MediaSettings {
        allow_private_networks: true,
        ..MediaSettings::default()
    })
    .unwrap();
    let got = open
        .load(&MediaSource::parse(&format!("http://{addr}/chart")).unwrap())
        .await
        .unwrap();
    assert_eq!(&got.data[..], &png[..]);
    assert_eq!(got.file_name.as_deref(), Some("chart.png"));
    assert_eq!(got.declared_mime.as_deref(), Some("image/png"));

    // Over the download limit: refused from Content-Length.
    let big = vec![0u8; (MIB + 1) as usize];
    let addr = serve(http_response(&big, "")).await;
    let small = MediaLoader::new(MediaSettings {
        allow_private_networks: true,
        max_download_mb: 1,
        ..MediaSettings::default()
    })
    .unwrap();
    let err = small
        .load(&MediaSource::parse(&format!("http://{addr}/big")).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OutboundError::DownloadTooLarge { .. }),
        "{err}"
    );

    // Link-local metadata address: refused without connecting.
    let err = guarded
        .load(&MediaSource::parse("http://169.254.169.254/latest/meta-data").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, OutboundError::BlockedAddress { .. }), "{err}");
}
