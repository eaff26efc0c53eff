//! Injected randomness: the jitter draw is an argument, so tests pin it.
//!
//! The crate depends on no RNG library: [`RandomUnit`] is one method, [`SplitMix64`] is a
//! small seeded generator good enough to spread reconnects (it is not for cryptography), and
//! [`FnRandom`] adapts any closure — e.g. `FnRandom(|| rand::random::<f64>())` in a runtime
//! that already uses `rand`.

/// A source of uniform draws in `[0, 1)`. Values outside that range are clamped by the user
/// ([`EffectivePolicy::delay_ms`](crate::EffectivePolicy::delay_ms)), never trusted.
pub trait RandomUnit {
    /// The next draw, uniform in `[0, 1)`.
    fn next_unit(&mut self) -> f64;
}

impl<T: RandomUnit + ?Sized> RandomUnit for &mut T {
    fn next_unit(&mut self) -> f64 {
        (**self).next_unit()
    }
}

/// Always the same draw (for tests and for a deterministic, jitter-free runtime).
///
/// ```
/// use wagw_reconnect::{PinnedRandom, RandomUnit};
/// assert_eq!(PinnedRandom(0.25).next_unit(), 0.25);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PinnedRandom(pub f64);

impl RandomUnit for PinnedRandom {
    fn next_unit(&mut self) -> f64 {
        self.0
    }
}

/// The given draws in order, starting over at the end; an empty list draws 0.
///
/// ```
/// use wagw_reconnect::{RandomUnit, SequenceRandom};
/// let mut r = SequenceRandom::new(vec![0.1, 0.9]);
/// assert_eq!([r.next_unit(), r.next_unit(), r.next_unit()], [0.1, 0.9, 0.1]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceRandom {
    values: Vec<f64>,
    next: usize,
}

impl SequenceRandom {
    /// Draws `values` in order, cycling.
    pub fn new(values: Vec<f64>) -> SequenceRandom {
        SequenceRandom { values, next: 0 }
    }
}

impl RandomUnit for SequenceRandom {
    fn next_unit(&mut self) -> f64 {
        match self.values.get(self.next) {
            Some(&v) => {
                self.next = (self.next + 1) % self.values.len();
                v
            }
            None => 0.0,
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator. Seed it per account (e.g.
/// from the process start time and the account id) so accounts that drop together do not
/// retry in lockstep.
///
/// ```
/// use wagw_reconnect::{RandomUnit, SplitMix64};
/// let mut r = SplitMix64::new(42);
/// let x = r.next_unit();
/// assert!((0.0..1.0).contains(&x));
/// assert_eq!(SplitMix64::new(42).next_unit(), x);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl RandomUnit for SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly: uniform on [0, 1), never 1.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Any closure returning draws in `[0, 1)`.
///
/// ```
/// use wagw_reconnect::{FnRandom, RandomUnit};
/// let mut calls = 0;
/// let mut r = FnRandom(|| { calls += 1; 0.5 });
/// assert_eq!(r.next_unit(), 0.5);
/// drop(r);
/// assert_eq!(calls, 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FnRandom<F>(pub F);

impl<F: FnMut() -> f64> RandomUnit for FnRandom<F> {
    fn next_unit(&mut self) -> f64 {
        (self.0)()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_published_sequence() {
        // First outputs for seed 0 from the reference implementation.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn splitmix_draws_stay_in_unit_range_and_spread() {
        let mut r = SplitMix64::new(7);
        let draws: Vec<f64> = (0..10_000).map(|_| r.next_unit()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let low = draws.iter().filter(|&&x| x < 0.5).count();
        assert!((4_500..5_500).contains(&low), "{low} of 10000 below 0.5");
    }

    #[test]
    fn empty_sequence_draws_zero() {
        let mut r = SequenceRandom::new(Vec::new());
        assert_eq!(r.next_unit(), 0.0);
        assert_eq!(r.next_unit(), 0.0);
    }

    #[test]
    fn mutable_references_are_sources_too() {
        fn draw(mut r: impl RandomUnit) -> f64 {
            r.next_unit()
        }
        let mut seq = SequenceRandom::new(vec![0.1, 0.2]);
        assert_eq!(draw(&mut seq), 0.1);
        assert_eq!(draw(&mut seq), 0.2);
    }
}
