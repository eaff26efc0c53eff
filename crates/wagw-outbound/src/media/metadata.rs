//! Lossless removal of metadata that can carry a location (GPS in EXIF or XMP).
//!
//! Used on images sent as they are: the pixels stay byte for byte, only metadata blocks go.
//! JPEG loses its APP1 segments (Exif and XMP), PNG its `eXIf` and text chunks, WebP its
//! `EXIF` and `XMP ` chunks (with the VP8X flags and RIFF size fixed up). Only called for
//! upright images, so dropping the EXIF orientation changes nothing.

use image::ImageFormat;

/// Returns the image without location-capable metadata, or `None` when there was none (or
/// the structure was not what the format promises; then the bytes are left alone and the
/// decoder's verdict stands).
pub fn strip_location_metadata(data: &[u8], format: ImageFormat) -> Option<Vec<u8>> {
    match format {
        ImageFormat::Jpeg => strip_jpeg(data),
        ImageFormat::Png => strip_png(data),
        ImageFormat::WebP => strip_webp(data),
        _ => None,
    }
}

fn strip_jpeg(data: &[u8]) -> Option<Vec<u8>> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&data[..2]);
    let mut pos = 2;
    let mut removed = false;
    loop {
        if *data.get(pos)? != 0xFF {
            return None;
        }
        let mut m = pos + 1;
        while *data.get(m)? == 0xFF {
            m += 1; // fill bytes
        }
        let marker = data[m];
        let seg_start = pos;
        pos = m + 1;
        match marker {
            0x01 | 0xD0..=0xD7 => out.extend_from_slice(&data[seg_start..pos]),
            0xD9 => {
                out.extend_from_slice(&data[seg_start..]);
                break;
            }
            _ => {
                let len = usize::from(u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]));
                let end = pos.checked_add(len)?;
                if len < 2 || end > data.len() {
                    return None;
                }
                if marker == 0xE1 {
                    removed = true;
                } else {
                    out.extend_from_slice(&data[seg_start..end]);
                }
                pos = end;
                if marker == 0xDA {
                    // Start of scan: the rest is entropy-coded data and later markers, which
                    // carry no metadata worth walking for.
                    out.extend_from_slice(&data[pos..]);
                    break;
                }
            }
        }
    }
    removed.then_some(out)
}

fn strip_png(data: &[u8]) -> Option<Vec<u8>> {
    const SIG: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if data.get(..8)? != SIG {
        return None;
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&SIG);
    let mut pos = 8;
    let mut removed = false;
    while pos < data.len() {
        let len = u32::from_be_bytes(data.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let kind = data.get(pos + 4..pos + 8)?;
        let end = pos.checked_add(12)?.checked_add(len)?;
        if end > data.len() {
            return None;
        }
        if matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt") {
            removed = true;
        } else {
            out.extend_from_slice(&data[pos..end]);
        }
        pos = end;
    }
    removed.then_some(out)
}

fn strip_webp(data: &[u8]) -> Option<Vec<u8>> {
    if data.get(..4)? != b"RIFF" || data.get(8..12)? != b"WEBP" {
        return None;
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&data[..12]);
    let mut pos = 12;
    let mut removed = false;
    let mut vp8x_at = None;
    while pos + 8 <= data.len() {
        let kind = &data[pos..pos + 4];
        let len = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().ok()?) as usize;
        let end = pos
            .checked_add(8)?
            .checked_add(len + (len & 1))?
            .min(data.len());
        if matches!(kind, b"EXIF" | b"XMP ") {
            removed = true;
        } else {
            if kind == b"VP8X" {
                vp8x_at = Some(out.len() + 8);
            }
            out.extend_from_slice(&data[pos..end]);
        }
        pos = end;
    }
    if !removed {
        return None;
    }
    if let Some(flags) = vp8x_at.and_then(|i| out.get_mut(i)) {
        *flags &= !(0x08 | 0x04); // EXIF and XMP present bits
    }
    let riff_size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn jpeg_with_app1() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([10, 20, 30]));
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, ImageFormat::Jpeg).unwrap();
        let plain = buf.into_inner();
        let exif = b"Exif\0\0MM\0*\0\0\0\x08\0\0";
        let mut seg = vec![0xFF, 0xE1];
        seg.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
        seg.extend_from_slice(exif);
        let mut with = plain[..2].to_vec();
        with.extend_from_slice(&seg);
        with.extend_from_slice(&plain[2..]);
        with
    }

    #[test]
    fn jpeg_app1_removed_pixels_kept() {
        let with = jpeg_with_app1();
        let stripped = strip_jpeg(&with).unwrap();
        assert!(!stripped.windows(6).any(|w| w == b"Exif\0\0"));
        let a = image::load_from_memory(&with).unwrap().to_rgb8();
        let b = image::load_from_memory(&stripped).unwrap().to_rgb8();
        assert_eq!(a, b);
        assert_eq!(strip_jpeg(&stripped), None);
    }

    #[test]
    fn png_exif_chunk_removed() {
        let img = image::RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 4]));
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, ImageFormat::Png).unwrap();
        let plain = buf.into_inner();
        // Insert an eXIf chunk after IHDR (8 + 25 bytes).
        let mut with = plain[..33].to_vec();
        with.extend_from_slice(&[0, 0, 0, 2]);
        with.extend_from_slice(b"eXIfMM");
        with.extend_from_slice(&[0, 0, 0, 0]);
        with.extend_from_slice(&plain[33..]);
        assert_eq!(strip_png(&with).unwrap(), plain);
        assert_eq!(strip_png(&plain), None);
    }
}
