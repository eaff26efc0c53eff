//! The memory that decoding images may hold at once, process-wide.
//!
//! A small file can declare many pixels: a 95 KB PNG within the pixel limits took a gateway
//! from 171 to 555 MB for the length of its decode, and a few such sends at once would take
//! it down. The per-image pixel limit cannot be made small enough to matter without refusing
//! 108-MP phone photos, so the budget bounds the *sum* instead:
//!
//! - each decode first reserves its estimated peak (declared pixels × the bytes a pixel takes
//!   decoded, plus the working copy the sweep converts to, [`decode_estimate`]);
//! - an image whose estimate alone is over the budget is refused from its header, before any
//!   pixel is decoded ([`OutboundError::ImageDecodeBudget`]);
//! - otherwise it waits until the decodes in flight leave room, so together they never hold
//!   more than the budget ([`DECODE_BUDGET_BYTES`]). A 108-MP JPEG (about 324 MB) still
//!   decodes; a second one waits for the first.

use std::sync::{Condvar, Mutex, MutexGuard};

use image::ColorType;

use crate::error::OutboundError;

/// What all image decodes in this process may hold at once: 512 MiB. A 12000×9000 JPEG
/// (108 MP, 3 bytes a pixel, no working copy) needs about 324 MB.
pub const DECODE_BUDGET_BYTES: u64 = 512 * 1024 * 1024;

/// The peak bytes a decode of `width`×`height` pixels of `color` holds: the decoded pixels,
/// plus the 8-bit RGB(A) working copy the sweep converts anything but 8-bit RGB to.
pub fn decode_estimate(width: u32, height: u32, color: ColorType) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let decoded = u64::from(color.bytes_per_pixel());
    let working = if color == ColorType::Rgb8 { 0 } else { 4 };
    pixels.saturating_mul(decoded + working)
}

/// A byte budget shared by concurrent decodes.
#[derive(Debug)]
pub struct DecodeBudget {
    capacity: u64,
    state: Mutex<Usage>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct Usage {
    in_use: u64,
    waiting: usize,
}

/// Bytes reserved from a [`DecodeBudget`], given back on drop.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a DecodeBudget,
    bytes: u64,
}

impl DecodeBudget {
    /// A budget of `capacity` bytes.
    pub const fn new(capacity: u64) -> DecodeBudget {
        DecodeBudget {
            capacity,
            state: Mutex::new(Usage {
                in_use: 0,
                waiting: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// The process-wide budget every image decode goes through.
    pub fn global() -> &'static DecodeBudget {
        static GLOBAL: DecodeBudget = DecodeBudget::new(DECODE_BUDGET_BYTES);
        &GLOBAL
    }

    // The state is two counters updated together; a panic elsewhere cannot leave them torn.
    fn usage(&self) -> MutexGuard<'_, Usage> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses, from the header, an image whose decode alone would need more than the budget.
    pub fn check(&self, width: u32, height: u32, color: ColorType) -> Result<u64, OutboundError> {
        let bytes = decode_estimate(width, height, color);
        if bytes > self.capacity {
            return Err(OutboundError::ImageDecodeBudget {
                width,
                height,
                needed_mb: bytes.div_ceil(1_000_000),
                budget_mb: self.capacity / 1_000_000,
            });
        }
        Ok(bytes)
    }

    /// Reserves the estimate for decoding a `width`×`height` image of `color`, blocking
    /// while other decodes hold too much; refused when the estimate alone is over the
    /// budget. Call from a blocking thread (`spawn_blocking`), as image work is.
    pub fn reserve(
        &self,
        width: u32,
        height: u32,
        color: ColorType,
    ) -> Result<Reservation<'_>, OutboundError> {
        let bytes = self.check(width, height, color)?;
        let mut usage = self.usage();
        usage.waiting += 1;
        while usage.in_use + bytes > self.capacity {
            usage = self.freed.wait(usage).unwrap_or_else(|p| p.into_inner());
        }
        usage.waiting -= 1;
        usage.in_use += bytes;
        Ok(Reservation {
            budget: self,
            bytes,
        })
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> u64 {
        self.usage().in_use
    }

    /// Decodes waiting for room now.
    pub fn waiting(&self) -> usize {
        self.usage().waiting
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut usage = self.budget.usage();
        usage.in_use = usage.in_use.saturating_sub(self.bytes);
        drop(usage);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn estimates_count_the_decoded_pixels_and_the_working_copy() {
        // A 108-MP phone JPEG decodes straight to 8-bit RGB: no working copy.
        assert_eq!(decode_estimate(12_000, 9_000, ColorType::Rgb8), 324_000_000);
        assert!(decode_estimate(12_000, 9_000, ColorType::Rgb8) <= DECODE_BUDGET_BYTES);
        // Grey PNGs become RGB for the sweep: 1 + 4 bytes a pixel.
        assert_eq!(decode_estimate(10_000, 10_000, ColorType::L8), 500_000_000);
        // 16-bit RGBA: 8 decoded + 4 working.
        assert_eq!(decode_estimate(1_000, 1_000, ColorType::Rgba16), 12_000_000);
        assert_eq!(
            decode_estimate(u32::MAX, u32::MAX, ColorType::Rgba32F),
            u64::MAX
        );
    }

    #[test]
    fn an_image_over_the_budget_alone_is_refused_with_the_figures() {
        let budget = DecodeBudget::new(100_000_000);
        let err = budget.reserve(9_000, 9_000, ColorType::Rgba8).unwrap_err();
        assert!(
            matches!(
                err,
                OutboundError::ImageDecodeBudget {
                    width: 9_000,
                    height: 9_000,
                    needed_mb: 648,
                    budget_mb: 100
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("648 MB") && text.contains("100 MB"), "{text}");
        assert_eq!(budget.in_use(), 0, "a refusal reserves nothing");
    }

    #[test]
    fn decodes_that_would_exceed_the_budget_together_wait_for_room() {
        let budget: &'static DecodeBudget = Box::leak(Box::new(DecodeBudget::new(100)));
        // 5×5 RGB = 75 bytes.
        let first = budget.reserve(5, 5, ColorType::Rgb8).unwrap();
        assert_eq!(budget.in_use(), 75);
        let (tx, rx) = mpsc::channel();
        let second = std::thread::spawn(move || {
            let held = budget.reserve(5, 5, ColorType::Rgb8).unwrap();
            tx.send(budget.in_use()).unwrap();
            drop(held);
        });
        // The second decode is parked, not running beside the first.
        while budget.waiting() == 0 {
            std::thread::yield_now();
        }
        assert_eq!(budget.in_use(), 75);
        assert!(rx.try_recv().is_err(), "reserved while the budget was full");
        drop(first);
        assert_eq!(
            rx.recv().unwrap(),
            75,
            "it ran once the first gave its bytes back"
        );
        second.join().unwrap();
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.waiting(), 0);
    }
}
