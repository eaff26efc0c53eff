//! The image path an agent's or API caller's picture takes (header read, decompression-bomb
//! guard, decode, resize, re-encode): an image or an error, never a panic, and never more
//! memory than the limits allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagw_outbound::{ImageLimits, optimize_image};

fuzz_target!(|data: &[u8]| {
    let limits = ImageLimits {
        max_side: 2048,
        max_pixels: 1 << 20,
    };
    let _ = optimize_image(data, 64 * 1024, &limits);
});
