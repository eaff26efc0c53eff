//! Image quality against a source, computed the same way for every file compared: each JPEG
//! is decoded, the source is resized to the JPEG's size with Lanczos3 (the "ideal" downscale),
//! and SSIM is taken per channel (Y, Cb, Cr of BT.601, as JPEG stores them) over every 7x7
//! window, with the usual constants (K1 0.01, K2 0.03, L 255) and sample variances.
//!
//! ```text
//! cargo run --release -p wagw-outbound --example image_quality -- SOURCE OUT.jpg [OUT2.jpg ...]
//! cargo run --release -p wagw-outbound --example image_quality -- --generate PATH
//! ```
//! prints one JSON line per output: file, width, height, bytes, ssim_y, ssim_cb, ssim_cr.
//! `--generate` writes the generated stand-in for photo12mp.jpg that the outbound bench uses
//! when the shared photo is absent. `scripts/bench-vs-reference.sh` uses both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use fast_image_resize as fir;

#[path = "../benches/support/photo.rs"]
#[allow(dead_code)]
mod photo;

/// The three JPEG planes of packed RGB, as f64.
fn planes(rgb: &[u8]) -> [Vec<f64>; 3] {
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for p in rgb.chunks_exact(3) {
        let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        out[0].push(0.299 * r + 0.587 * g + 0.114 * b);
        out[1].push(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b);
        out[2].push(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b);
    }
    out
}

/// Mean SSIM over all 7x7 windows (summed-area tables, so any size is quick).
fn ssim(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    const R: usize = 7;
    let table = |f: &dyn Fn(usize) -> f64| {
        let mut s = vec![0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0.0;
            for x in 0..w {
                row += f(y * w + x);
                s[(y + 1) * (w + 1) + x + 1] = s[y * (w + 1) + x + 1] + row;
            }
        }
        s
    };
    let (sa, sb) = (table(&|i| a[i]), table(&|i| b[i]));
    let (saa, sbb, sab) = (
        table(&|i| a[i] * a[i]),
        table(&|i| b[i] * b[i]),
        table(&|i| a[i] * b[i]),
    );
    let rect = |s: &[f64], x: usize, y: usize| {
        s[(y + R) * (w + 1) + x + R] - s[y * (w + 1) + x + R] - s[(y + R) * (w + 1) + x]
            + s[y * (w + 1) + x]
    };
    let n = (R * R) as f64;
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    let mut count = 0usize;
    for y in 0..=h.saturating_sub(R) {
        for x in 0..=w.saturating_sub(R) {
            let (ma, mb) = (rect(&sa, x, y) / n, rect(&sb, x, y) / n);
            let va = (rect(&saa, x, y) - n * ma * ma) / (n - 1.0);
            let vb = (rect(&sbb, x, y) - n * mb * mb) / (n - 1.0);
            let cov = (rect(&sab, x, y) - n * ma * mb) / (n - 1.0);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    total / count.max(1) as f64
}

fn lanczos3(src: &image::RgbImage, tw: u32, th: u32) -> Vec<u8> {
    let view = fir::images::ImageRef::new(
        src.width(),
        src.height(),
        src.as_raw(),
        fir::PixelType::U8x3,
    )
    .unwrap();
    let mut dst = fir::images::Image::new(tw, th, fir::PixelType::U8x3);
    let options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3));
    fir::Resizer::new()
        .resize(&view, &mut dst, &options)
        .unwrap();
    dst.into_vec()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--generate") && args.len() == 2 {
        std::fs::write(&args[1], photo::generated_photo()).unwrap();
        return ExitCode::SUCCESS;
    }
    if args.len() < 2 {
        eprintln!("usage: image_quality SOURCE OUT.jpg [OUT.jpg ...] | --generate PATH");
        return ExitCode::from(2);
    }
    let source = image::open(&args[0])
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]))
        .into_rgb8();
    for file in &args[1..] {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let out = image::load_from_memory(&data)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .into_rgb8();
        let (w, h) = out.dimensions();
        let truth = planes(&lanczos3(&source, w, h));
        let got = planes(out.as_raw());
        let s: Vec<f64> = (0..3)
            .map(|c| ssim(&truth[c], &got[c], w as usize, h as usize))
            .collect();
        println!(
            "{{\"file\":{file:?},\"width\":{w},\"height\":{h},\"bytes\":{},\"ssim_y\":{:.4},\"ssim_cb\":{:.4},\"ssim_cr\":{:.4}}}",
            data.len(),
            s[0],
            s[1],
            s[2]
        );
    }
    ExitCode::SUCCESS
}
