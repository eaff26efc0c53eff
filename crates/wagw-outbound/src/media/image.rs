//! Images under the cap: EXIF orientation, metadata stripping, and the resize × quality sweep.
//!
//! Pipeline (CPU only, no IO):
//! 1. Read the header only and refuse images over [`ImageLimits`] (decompression bombs) or
//!    whose decode alone would need more memory than the [decode budget] allows.
//! 2. Pass through untouched bytes when the image already fits the cap, its longest side is
//!    at most [`PASS_THROUGH_MAX_SIDE`] and its EXIF orientation is upright; metadata that can
//!    carry a location (JPEG APP1 Exif/XMP, PNG `eXIf`) is cut out losslessly.
//! 3. Otherwise reserve the decode's memory from the process-wide [decode budget] (waiting
//!    while other decodes hold it), decode once, then for each side of [`SWEEP_SIDES`] (never
//!    enlarging) resize once, apply the EXIF orientation, and encode at each of
//!    [`SWEEP_QUALITIES`]; the first result under the cap wins. PNGs with real transparency
//!    try PNG first.
//!
//! The resize is `fast_image_resize`'s Lanczos3 (what the reference's libvips uses); the
//! encoder is `jpeg-encoder`: 4:2:0, the ImageMagick/mozjpeg "table 3" quantization with chroma
//! [`CHROMA_QUALITY_OFFSET`] below luma, optimized Huffman tables in a two-scan progressive
//! file. See `docs/outbound.md` ("Image encoder choice") for the measurements behind this.
//!
//! [decode budget]: crate::media::decode_budget

use std::io::Cursor;

use bytes::Bytes;
use fast_image_resize as fir;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};
use jpeg_encoder::{ColorType, Encoder, QuantizationTableType, SamplingFactor};
use serde::{Deserialize, Serialize};

use crate::error::{OutboundError, cap_mb, size_mb};
use crate::media::decode_budget::DecodeBudget;
use crate::media::metadata;

/// Longest sides tried by the sweep, largest first.
pub const SWEEP_SIDES: [u32; 5] = [2048, 1536, 1280, 1024, 800];
/// JPEG (luma) qualities tried at each side, best first. The first step matches the
/// reference's quality-80 mozjpeg output in luma SSIM at fewer bytes (docs/outbound.md).
pub const SWEEP_QUALITIES: [u8; 5] = [76, 66, 56, 46, 36];
/// Chroma is quantized this many quality steps below luma: at 4:2:0 the eye (and luma SSIM)
/// barely sees it, and it is where the bytes that trellis quantization saves the reference
/// are won back.
pub const CHROMA_QUALITY_OFFSET: u8 = 20;
/// PNG compression levels tried at each side for images with transparency.
pub const PNG_LEVELS: [u8; 4] = [6, 7, 8, 9];
/// Images whose longest side is at most this (and that fit the cap) are sent as they are.
pub const PASS_THROUGH_MAX_SIDE: u32 = 2048;

/// Decompression-bomb guard: limits checked from the header, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageLimits {
    /// Longest side in pixels (default 16384).
    pub max_side: u32,
    /// Width × height (default 100 million: a 108-MP phone camera fits, a bomb does not).
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_side: 16_384,
            max_pixels: 100_000_000,
        }
    }
}

impl ImageLimits {
    /// Refuses dimensions over the limits.
    pub fn check(&self, width: u32, height: u32) -> Result<(), OutboundError> {
        if width.max(height) > self.max_side
            || u64::from(width) * u64::from(height) > self.max_pixels
        {
            return Err(OutboundError::ImageTooLarge {
                width,
                height,
                max_side: self.max_side,
                max_pixels: self.max_pixels,
            });
        }
        Ok(())
    }

    /// The allocation ceiling handed to the decoder as a second line of defence: the pixel
    /// budget at 4 bytes a pixel, plus slack for the decoder's own buffers.
    fn max_alloc(&self) -> u64 {
        self.max_pixels
            .saturating_mul(4)
            .saturating_add(64 * 1024 * 1024)
    }
}

/// How an image was made to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum ImageAction {
    /// Sent as it was (location metadata cut out losslessly when present).
    PassThrough {
        /// True when metadata segments were removed.
        metadata_stripped: bool,
    },
    /// Re-encoded as JPEG at this longest side and quality.
    Jpeg {
        /// Longest side in pixels.
        side: u32,
        /// JPEG quality.
        quality: u8,
    },
    /// Re-encoded as PNG (kept transparency) at this longest side and zlib level.
    Png {
        /// Longest side in pixels.
        side: u32,
        /// Compression level.
        level: u8,
    },
}

/// An image ready to upload.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizedImage {
    /// The bytes to send.
    pub data: Bytes,
    /// `image/jpeg`, `image/png`, or the input's type on pass-through.
    pub mime: String,
    /// Width after orientation.
    pub width: u32,
    /// Height after orientation.
    pub height: u32,
    /// What was done.
    pub action: ImageAction,
}

/// Header facts read without decoding pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// The container format.
    pub format: ImageFormat,
    /// Stored width (before orientation).
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// EXIF orientation (upright when absent).
    pub orientation: Orientation,
    /// True when the pixel format has an alpha channel.
    pub has_alpha_channel: bool,
    /// The pixel format the decoder produces (what decoding costs: the decode budget).
    pub color_type: image::ColorType,
}

fn decode_err(e: impl std::fmt::Display) -> OutboundError {
    OutboundError::ImageDecode(e.to_string())
}

/// Reads an image's header, enforcing `limits` before anything else is read.
pub fn read_header(data: &[u8], limits: &ImageLimits) -> Result<ImageHeader, OutboundError> {
    let reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(decode_err)?;
    let format = reader
        .format()
        .ok_or_else(|| decode_err("unknown image format"))?;
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (width, height) = decoder.dimensions();
    limits.check(width, height)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let color_type = decoder.color_type();
    DecodeBudget::global().check(width, height, color_type)?;
    Ok(ImageHeader {
        format,
        width,
        height,
        orientation,
        has_alpha_channel: color_type.has_alpha(),
        color_type,
    })
}

fn oriented_dims(w: u32, h: u32, o: Orientation) -> (u32, u32) {
    match o {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (h, w),
        _ => (w, h),
    }
}

/// Fits `w`×`h` inside `side`×`side`, never enlarging.
pub fn fit_inside(w: u32, h: u32, side: u32) -> (u32, u32) {
    let longest = w.max(h);
    if longest <= side {
        return (w, h);
    }
    let scale = f64::from(side) / f64::from(longest);
    let sw = ((f64::from(w) * scale).round() as u32).clamp(1, side);
    let sh = ((f64::from(h) * scale).round() as u32).clamp(1, side);
    (sw, sh)
}

/// Makes an image fit `cap` bytes (see the module docs for the rules).
///
/// ```
/// use wagw_outbound::media::image::{optimize_image, ImageAction, ImageLimits};
/// let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 30, 30]));
/// let mut png = std::io::Cursor::new(Vec::new());
/// img.write_to(&mut png, image::ImageFormat::Png).unwrap();
/// let out = optimize_image(png.get_ref(), 5 * 1024 * 1024, &ImageLimits::default()).unwrap();
/// assert_eq!(out.action, ImageAction::PassThrough { metadata_stripped: false });
/// assert_eq!((out.width, out.height), (64, 48));
/// ```
pub fn optimize_image(
    data: &[u8],
    cap: u64,
    limits: &ImageLimits,
) -> Result<OptimizedImage, OutboundError> {
    let header = read_header(data, limits)?;
    let (ow, oh) = oriented_dims(header.width, header.height, header.orientation);
    let upright = header.orientation == Orientation::NoTransforms;
    let mime = header.format.to_mime_type().to_string();

    if upright && header.width.max(header.height) <= PASS_THROUGH_MAX_SIDE {
        let stripped = metadata::strip_location_metadata(data, header.format);
        let metadata_stripped = stripped.is_some();
        let bytes = stripped.map_or_else(|| Bytes::copy_from_slice(data), Bytes::from);
        if bytes.len() as u64 <= cap {
            return Ok(OptimizedImage {
                data: bytes,
                mime,
                width: ow,
                height: oh,
                action: ImageAction::PassThrough { metadata_stripped },
            });
        }
    }

    // Held until the sweep is done with the pixels.
    let _reserved =
        DecodeBudget::global().reserve(header.width, header.height, header.color_type)?;
    let image = decode_full(data, limits)?;
    sweep(image, header.orientation, header.format, cap)
}

fn decode_full(data: &[u8], limits: &ImageLimits) -> Result<DynamicImage, OutboundError> {
    let mut reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(decode_err)?;
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    l.max_alloc = Some(limits.max_alloc());
    reader.limits(l);
    reader.decode().map_err(decode_err)
}

/// True when at least one pixel is not fully opaque.
fn has_transparency(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgba8(b) => b.pixels().any(|p| p.0[3] < 255),
        DynamicImage::ImageLumaA8(b) => b.pixels().any(|p| p.0[1] < 255),
        other if other.color().has_alpha() => other.to_rgba8().pixels().any(|p| p.0[3] < 255),
        _ => false,
    }
}

fn sweep(
    image: DynamicImage,
    orientation: Orientation,
    format: ImageFormat,
    cap: u64,
) -> Result<OptimizedImage, OutboundError> {
    let (w, h) = (image.width(), image.height());
    let mut sides: Vec<(u32, u32)> = Vec::new();
    for side in SWEEP_SIDES {
        let dims = fit_inside(w, h, side);
        if !sides.contains(&dims) {
            sides.push(dims);
        }
    }
    let mut smallest: Option<u64> = None;
    let mut note = |len: usize| smallest = Some(smallest.map_or(len as u64, |s| s.min(len as u64)));
    let mut last_error: Option<String> = None;

    if format == ImageFormat::Png && has_transparency(&image) {
        let rgba = image.to_rgba8();
        for &(tw, th) in &sides {
            let resized = oriented(resize_rgba(&rgba, tw, th)?, orientation);
            for level in PNG_LEVELS {
                match encode_png(&resized, level) {
                    Ok(png) => {
                        note(png.len());
                        if png.len() as u64 <= cap {
                            return Ok(OptimizedImage {
                                width: resized.width(),
                                height: resized.height(),
                                data: Bytes::from(png),
                                mime: "image/png".into(),
                                action: ImageAction::Png {
                                    side: tw.max(th),
                                    level,
                                },
                            });
                        }
                    }
                    Err(e) => last_error = Some(e.to_string()),
                }
            }
        }
        tracing::debug!(target: "wagw::outbound", "transparent PNG does not fit as PNG; trying JPEG");
    }

    let rgb = flatten_to_rgb(image);
    for &(tw, th) in &sides {
        let resized = resize_rgb(&rgb, tw, th)?;
        let resized = match oriented(DynamicImage::ImageRgb8(resized), orientation) {
            DynamicImage::ImageRgb8(b) => b,
            other => other.to_rgb8(),
        };
        for quality in SWEEP_QUALITIES {
            match encode_jpeg(resized.as_raw(), resized.width(), resized.height(), quality) {
                Ok(jpeg) => {
                    note(jpeg.len());
                    if jpeg.len() as u64 <= cap {
                        return Ok(OptimizedImage {
                            width: resized.width(),
                            height: resized.height(),
                            data: Bytes::from(jpeg),
                            mime: "image/jpeg".into(),
                            action: ImageAction::Jpeg {
                                side: tw.max(th),
                                quality,
                            },
                        });
                    }
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        }
    }
    match smallest {
        Some(got) => Err(OutboundError::CouldNotReduce {
            cap: cap_mb(cap),
            got: size_mb(got),
        }),
        None => Err(OutboundError::ImageEncode(
            last_error.unwrap_or_else(|| "no attempt ran".into()),
        )),
    }
}

fn oriented<I: Into<DynamicImage>>(img: I, orientation: Orientation) -> DynamicImage {
    let mut img = img.into();
    img.apply_orientation(orientation);
    img
}

/// Transparent pixels become white (what WhatsApp would show behind them anyway).
fn flatten_to_rgb(image: DynamicImage) -> image::RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = image::RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src.0[3]);
        for c in 0..3 {
            let v = (u16::from(src.0[c]) * a + 255 * (255 - a) + 127) / 255;
            dst.0[c] = v as u8;
        }
    }
    out
}

fn resize_err(e: impl std::fmt::Display) -> OutboundError {
    OutboundError::ImageEncode(format!("resize failed: {e}"))
}

/// Lanczos3, as the reference (libvips) resizes: the Gaussian kernel wagw used before made
/// smaller files by blurring detail away (luma SSIM 0.765 against 0.813; docs/outbound.md).
fn resize_options() -> fir::ResizeOptions {
    fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3))
}

/// Resizes packed RGB to exactly `tw`×`th` (a copy when the size is unchanged).
pub fn resize_rgb(
    src: &image::RgbImage,
    tw: u32,
    th: u32,
) -> Result<image::RgbImage, OutboundError> {
    if src.dimensions() == (tw, th) {
        return Ok(src.clone());
    }
    let view = fir::images::ImageRef::new(
        src.width(),
        src.height(),
        src.as_raw(),
        fir::PixelType::U8x3,
    )
    .map_err(resize_err)?;
    let mut dst = fir::images::Image::new(tw, th, fir::PixelType::U8x3);
    fir::Resizer::new()
        .resize(&view, &mut dst, &resize_options())
        .map_err(resize_err)?;
    image::RgbImage::from_raw(tw, th, dst.into_vec()).ok_or_else(|| resize_err("buffer size"))
}

fn resize_rgba(
    src: &image::RgbaImage,
    tw: u32,
    th: u32,
) -> Result<image::RgbaImage, OutboundError> {
    if src.dimensions() == (tw, th) {
        return Ok(src.clone());
    }
    let view = fir::images::ImageRef::new(
        src.width(),
        src.height(),
        src.as_raw(),
        fir::PixelType::U8x4,
    )
    .map_err(resize_err)?;
    let mut dst = fir::images::Image::new(tw, th, fir::PixelType::U8x4);
    // `use_alpha` (on by default) premultiplies, so transparent edges do not bleed colour.
    fir::Resizer::new()
        .resize(&view, &mut dst, &resize_options())
        .map_err(resize_err)?;
    image::RgbaImage::from_raw(tw, th, dst.into_vec()).ok_or_else(|| resize_err("buffer size"))
}

/// The ImageMagick table by N. Robidoux (mozjpeg's default "table 3", the one libvips/sharp
/// use with `mozjpeg: true`), natural order; the same table serves luma and chroma.
const IMAGEMAGICK_TABLE: [u16; 64] = [
    16, 16, 16, 18, 25, 37, 56, 85, 16, 17, 20, 27, 34, 40, 53, 75, 16, 20, 24, 31, 43, 62, 91,
    135, 18, 27, 31, 40, 53, 74, 106, 156, 25, 34, 43, 53, 69, 94, 131, 189, 37, 40, 62, 74, 94,
    124, 169, 238, 56, 53, 91, 106, 131, 169, 226, 311, 85, 75, 135, 156, 189, 238, 311, 418,
];

/// [`IMAGEMAGICK_TABLE`] scaled to `quality` with the IJG formula (as libjpeg, mozjpeg and
/// jpeg-encoder's built-in tables do), clamped to baseline's 8-bit range.
fn scaled_table(quality: u8) -> QuantizationTableType {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let table = IMAGEMAGICK_TABLE.map(|v| ((u32::from(v) * scale + 50) / 100).clamp(1, 255) as u16);
    QuantizationTableType::Custom(Box::new(table))
}

/// Encodes packed RGB as JPEG at `quality` (luma; chroma is [`CHROMA_QUALITY_OFFSET`] lower):
/// 4:2:0, ImageMagick tables, optimized Huffman tables, no metadata at all.
///
/// The file is progressive with two scans (DC, then all AC coefficients): the same size as a
/// baseline file with optimized tables, but readable by zune-jpeg, the `image` crate's decoder.
/// jpeg-encoder writes optimized baseline files as one scan per component, which zune-jpeg
/// 0.5 decodes to garbage at 4:2:0 (libjpeg-turbo reads them); more progressive scans only
/// add bytes with this encoder. `jpeg_round_trip_keeps_structure` guards the round trip.
pub fn encode_jpeg(
    rgb: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Vec<u8>, OutboundError> {
    let (w, h) = (
        u16::try_from(width).map_err(|_| OutboundError::ImageEncode("width over 65535".into()))?,
        u16::try_from(height)
            .map_err(|_| OutboundError::ImageEncode("height over 65535".into()))?,
    );
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_sampling_factor(SamplingFactor::R_4_2_0);
    enc.set_quantization_tables(
        scaled_table(quality),
        scaled_table(quality.saturating_sub(CHROMA_QUALITY_OFFSET).max(1)),
    );
    enc.set_optimized_huffman_tables(true);
    enc.set_progressive_scans(2);
    enc.encode(rgb, w, h, ColorType::Rgb)
        .map_err(|e| OutboundError::ImageEncode(e.to_string()))?;
    Ok(out)
}

fn encode_png(img: &DynamicImage, level: u8) -> Result<Vec<u8>, OutboundError> {
    let rgba = img.to_rgba8();
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Level(level), PngFilter::Adaptive)
        .write_image(
            rgba.as_raw(),
            rgba.width(),
            rgba.height(),
            image::ExtendedColorType::Rgba8,
        )
        .map_err(|e| OutboundError::ImageEncode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// What wagw writes must read back as the same picture with the decoder wagw (and
    /// every `image`-based consumer) uses: a smooth gradient with a sharp edge, 4:2:0, at the
    /// quality the re-encoder starts at.
    #[test]
    fn jpeg_round_trip_keeps_structure() {
        let (w, h) = (96u32, 64u32);
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let edge = if x > w / 2 { 200 } else { 30 };
                rgb.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, edge]);
            }
        }
        let jpeg = encode_jpeg(&rgb, w, h, 85).unwrap();
        let back = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8();
        assert_eq!((back.width(), back.height()), (w, h));
        let err: u64 = back
            .as_raw()
            .iter()
            .zip(&rgb)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = err as f64 / rgb.len() as f64;
        assert!(mean < 8.0, "mean absolute error {mean:.2}/255");
    }

    /// The scaled table is jpeg-encoder's built-in ImageMagick table at the same quality:
    /// byte-identical output when luma and chroma share a quality.
    #[test]
    fn scaled_table_is_the_builtin_one() {
        let (w, h) = (48u16, 32u16);
        let rgb: Vec<u8> = (0..usize::from(w) * usize::from(h) * 3)
            .map(|i| (i * 37 % 251) as u8)
            .collect();
        for quality in [36, 56, 76, 95] {
            let encode = |table: QuantizationTableType| {
                let mut out = Vec::new();
                let mut enc = Encoder::new(&mut out, quality);
                enc.set_quantization_tables(table.clone(), table);
                enc.encode(&rgb, w, h, ColorType::Rgb).unwrap();
                out
            };
            assert_eq!(
                encode(scaled_table(quality)),
                encode(QuantizationTableType::ImageMagick),
                "quality {quality}"
            );
        }
    }

    #[test]
    fn fit_inside_never_enlarges() {
        assert_eq!(fit_inside(4000, 3000, 2048), (2048, 1536));
        assert_eq!(fit_inside(3000, 4000, 800), (600, 800));
        assert_eq!(fit_inside(100, 50, 800), (100, 50));
        assert_eq!(fit_inside(10000, 1, 800), (800, 1));
    }

    #[test]
    fn limits_refuse_bombs() {
        let l = ImageLimits::default();
        assert!(l.check(16384, 6000).is_ok());
        assert!(matches!(
            l.check(16385, 10),
            Err(OutboundError::ImageTooLarge { .. })
        ));
        assert!(matches!(
            l.check(12000, 12000),
            Err(OutboundError::ImageTooLarge { .. })
        ));
    }

    #[test]
    fn flatten_blends_on_white() {
        let mut rgba = image::RgbaImage::new(1, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        let rgb = flatten_to_rgb(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
    }
}
