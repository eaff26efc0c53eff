//! The benchmark photo, shared by `benches/outbound.rs` and `examples/image_quality.rs` so the
//! side-by-side script (`scripts/bench-vs-reference.sh`) hands the reference the same file.

/// `$WAGW_BENCH_PHOTO`, else `shared/bench-data/photo12mp.jpg` beside the repository (every
/// measurer's common input), else `None`.
pub fn shared_photo() -> Option<(Vec<u8>, String)> {
    let path = std::env::var("WAGW_BENCH_PHOTO").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/bench-data/photo12mp.jpg"
        )
        .to_string()
    });
    std::fs::read(&path).ok().map(|data| (data, path))
}

/// A 4000x3000 quality-95 JPEG of gradients plus noise, like photo12mp.jpg (camera-like
/// entropy), for machines without it.
pub fn generated_photo() -> Vec<u8> {
    let (w, h) = (4000u32, 3000u32);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3u32 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let base = (x * (60 + c * 40) / w + y * (120 - c * 30) / h + 40) as i32;
                let noise = (seed % 25) as i32 - 12;
                rgb.push((base + noise).clamp(0, 255) as u8);
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("encoding the generated photo");
    out
}

/// The shared photo, or the generated one; with a label saying which.
pub fn photo() -> (Vec<u8>, String) {
    shared_photo().unwrap_or_else(|| (generated_photo(), "generated 4000x3000 q95".into()))
}
