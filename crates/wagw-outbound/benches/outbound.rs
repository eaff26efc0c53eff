//! Benchmarks: chunking throughput and the JPEG sweep on a 12-megapixel camera-like photo.
//!
//! Targets (issue 5): chunking 1 MiB of prose at >= 200 MB/s; the sweep of
//! `shared/bench-data/photo12mp.jpg` (read when present, else a similar image is generated)
//! to <= 5 MB in <= 250 ms on one core, with an output no bigger than libvips' 428 KB.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// criterion_group! generates undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wagw_core::ChunkMode;
use wagw_outbound::{ImageLimits, MIB, chunk_text, optimize_image};

fn prose(bytes: usize) -> String {
    let para = "WhatsApp replies from an agent are often long: explanations, lists, the odd link \
                to https://example.com/docs/page and a few sentences that wrap. They arrive as \
                paragraphs separated by blank lines, sometimes with (parenthetical remarks) and \
                numbers like 3.14 or 2026-01-30.\n\n";
    let mut s = String::with_capacity(bytes + para.len());
    while s.len() < bytes {
        s.push_str(para);
    }
    s.truncate(bytes);
    s
}

fn bench_chunking(c: &mut Criterion) {
    let text = prose(1 << 20);
    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("prose_1MiB_length_4000", |b| {
        b.iter(|| chunk_text(black_box(&text), 4000, ChunkMode::Length))
    });
    g.bench_function("prose_1MiB_newline_4000", |b| {
        b.iter(|| chunk_text(black_box(&text), 4000, ChunkMode::Newline))
    });
    g.finish();
}

/// The shared benchmark photo, or a 4000x3000 q95 JPEG of gradients plus noise like it.
fn photo() -> (Vec<u8>, &'static str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/bench-data/photo12mp.jpg"
    );
    if let Ok(data) = std::fs::read(path) {
        return (data, "shared/bench-data/photo12mp.jpg");
    }
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
        .unwrap();
    (out, "generated 4000x3000 q95")
}

fn bench_sweep(c: &mut Criterion) {
    let (data, what) = photo();
    let cap = 5 * MIB;
    let limits = ImageLimits::default();
    let out = optimize_image(&data, cap, &limits).unwrap();
    eprintln!(
        "jpeg sweep input: {what}, {} bytes -> {}x{} {:?}, {} bytes ({} KB)",
        data.len(),
        out.width,
        out.height,
        out.action,
        out.data.len(),
        out.data.len() / 1000
    );
    let mut g = c.benchmark_group("image");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("sweep_photo12mp_to_5MB", |b| {
        b.iter(|| optimize_image(black_box(&data), cap, &limits).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_chunking, bench_sweep);
criterion_main!(benches);
