//! QR rendering for linking: a PNG data URL for the HTTP API, unicode blocks for the
//! terminal. The payload comes from WhatsApp through the gateway; this only draws it.

use base64::Engine as _;
use image::{ImageEncoder, Luma};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// Why a QR could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The payload does not fit in a QR code.
    #[error("the login QR payload cannot be encoded as a QR code: {0}")]
    Encode(#[from] qrcode::types::QrError),
    /// PNG encoding failed.
    #[error("cannot encode the login QR as PNG: {0}")]
    Png(#[from] image::ImageError),
}

/// `data:image/png;base64,…` of the QR for `payload`: black on white with the quiet zone,
/// 8 px per module, so a phone reads it off a screen.
pub fn png_data_url(payload: &str) -> Result<String, QrError> {
    let code = QrCode::new(payload.as_bytes())?;
    let img = code
        .render::<Luma<u8>>()
        .module_dimensions(8, 8)
        .quiet_zone(true)
        .build();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::L8,
    )?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// The QR for `payload` drawn with half-block characters (two modules per line), light
/// modules as blocks so it scans on a dark terminal.
pub fn terminal(payload: &str) -> Result<String, QrError> {
    let code = QrCode::new(payload.as_bytes())?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn png_decodes_to_a_square_image() {
        let url = png_data_url("2@abc,def,ghi").unwrap();
        let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
        assert_eq!(img.width(), img.height());
        assert!(img.width() >= 21 * 8, "{}", img.width());
    }

    #[test]
    fn terminal_qr_has_half_as_many_lines_as_modules() {
        let text = terminal("hello").unwrap();
        // Version 1 is 21 modules + 2×4 quiet zone = 29 → 15 lines of two modules.
        assert_eq!(text.lines().count(), 15);
        assert!(text.contains('█') || text.contains('▀') || text.contains('▄'));
    }
}
