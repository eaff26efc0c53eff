//! Voice notes: Ogg/Opus duration from the container, and the 64-point waveform.
//!
//! Duration: the last page's granule position of the Opus stream minus the header's
//! pre-skip, over 48 kHz (Opus granules always count 48 kHz samples). No decoding needed.
//!
//! Waveform: 64 bars of 0–100, the mean absolute amplitude of 64 equal slices of the
//! decoded audio, scaled so the loudest bar is 100 (WhatsApp's own clients draw the same).
//! Decoding uses libopus in-process with the `libopus` feature; otherwise `ffmpeg` when it
//! is on PATH; otherwise the waveform is omitted (WhatsApp then draws a flat line).

/// Number of bars in a WhatsApp voice-note waveform.
pub const WAVEFORM_POINTS: usize = 64;

/// What the Ogg container says about an Opus stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggOpusInfo {
    /// Channels from the OpusHead.
    pub channels: u8,
    /// Samples (at 48 kHz) to drop at the start.
    pub pre_skip: u16,
    /// Granule position of the last page: total 48 kHz samples including pre-skip.
    pub last_granule: u64,
    /// Every audio packet of the stream, in order (headers excluded).
    pub packets: Vec<Vec<u8>>,
}

impl OggOpusInfo {
    /// The playable duration in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.last_granule.saturating_sub(u64::from(self.pre_skip)) * 1000 / 48_000
    }

    /// The duration in whole seconds, rounded up (WhatsApp shows 0:01 for half a second).
    pub fn duration_secs(&self) -> u32 {
        u32::try_from(self.duration_ms().div_ceil(1000)).unwrap_or(u32::MAX)
    }
}

/// Parses an Ogg file whose first logical stream is Opus. Returns `None` when the data is
/// not Ogg, or its first stream is not Opus (e.g. Vorbis).
pub fn parse_ogg_opus(data: &[u8]) -> Option<OggOpusInfo> {
    let mut pos = 0;
    let mut serial: Option<u32> = None;
    let mut packet = Vec::new();
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut last_granule = 0u64;
    while pos + 27 <= data.len() {
        if &data[pos..pos + 4] != b"OggS" {
            return None;
        }
        let granule = u64::from_le_bytes(data[pos + 6..pos + 14].try_into().ok()?);
        let page_serial = u32::from_le_bytes(data[pos + 14..pos + 18].try_into().ok()?);
        let nseg = usize::from(data[pos + 26]);
        let table = data.get(pos + 27..pos + 27 + nseg)?;
        let mut body = pos + 27 + nseg;
        let mine = *serial.get_or_insert(page_serial) == page_serial;
        for &lace in table {
            let end = body + usize::from(lace);
            let seg = data.get(body..end)?;
            if mine {
                packet.extend_from_slice(seg);
                if lace < 255 {
                    packets.push(std::mem::take(&mut packet));
                }
            }
            body = end;
        }
        // A granule of -1 (all ones) marks a page on which no packet ends.
        if mine && granule != u64::MAX {
            last_granule = granule;
        }
        pos = body;
    }
    let head = packets.first()?;
    if head.len() < 19 || &head[..8] != b"OpusHead" {
        return None;
    }
    let channels = head[9];
    let pre_skip = u16::from_le_bytes([head[10], head[11]]);
    // Packet 0 is OpusHead, packet 1 OpusTags; audio follows.
    let audio = packets.into_iter().skip(2).collect();
    Some(OggOpusInfo {
        channels,
        pre_skip,
        last_granule,
        packets: audio,
    })
}

/// The 64-bar waveform of mono PCM: mean absolute amplitude per slice, loudest bar = 100.
/// Silence gives all zeros.
///
/// ```
/// use wagw_outbound::media::audio::waveform_from_pcm;
/// let pcm: Vec<i16> = (0..6400).map(|i| if i < 3200 { 1000 } else { 250 }).collect();
/// let w = waveform_from_pcm(&pcm);
/// assert_eq!(w[0], 100);
/// assert_eq!(w[63], 25);
/// ```
pub fn waveform_from_pcm(pcm: &[i16]) -> Vec<u8> {
    let mut bars = vec![0f64; WAVEFORM_POINTS];
    if pcm.is_empty() {
        return vec![0; WAVEFORM_POINTS];
    }
    for (i, bar) in bars.iter_mut().enumerate() {
        let start = i * pcm.len() / WAVEFORM_POINTS;
        let end = ((i + 1) * pcm.len() / WAVEFORM_POINTS)
            .max(start + 1)
            .min(pcm.len());
        let slice = &pcm[start.min(end)..end];
        let sum: f64 = slice.iter().map(|&s| f64::from(s).abs()).sum();
        *bar = if slice.is_empty() {
            0.0
        } else {
            sum / slice.len() as f64
        };
    }
    let max = bars.iter().copied().fold(0.0, f64::max);
    bars.iter()
        .map(|&b| {
            if max > 0.0 {
                (b / max * 100.0).round().clamp(0.0, 100.0) as u8
            } else {
                0
            }
        })
        .collect()
}

/// Decodes the stream's packets to mono 48 kHz PCM with libopus.
#[cfg(feature = "libopus")]
pub fn decode_opus_mono(info: &OggOpusInfo) -> Option<Vec<i16>> {
    let channels = if info.channels >= 2 {
        opus::Channels::Stereo
    } else {
        opus::Channels::Mono
    };
    let n = if info.channels >= 2 { 2 } else { 1 };
    let mut dec = opus::Decoder::new(48_000, channels).ok()?;
    let mut pcm = Vec::new();
    // 120 ms at 48 kHz is the longest Opus frame.
    let mut buf = vec![0i16; 5760 * n];
    for p in &info.packets {
        let got = dec.decode(p, &mut buf, false).ok()?;
        for frame in buf[..got * n].chunks_exact(n) {
            let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
            pcm.push((sum / n as i32) as i16);
        }
    }
    let skip = usize::from(info.pre_skip).min(pcm.len());
    pcm.drain(..skip);
    Some(pcm)
}

/// Without the `libopus` feature there is no in-process decoder.
#[cfg(not(feature = "libopus"))]
pub fn decode_opus_mono(_info: &OggOpusInfo) -> Option<Vec<i16>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a minimal Ogg page.
    fn page(serial: u32, granule: u64, packets: &[&[u8]]) -> Vec<u8> {
        let mut table = Vec::new();
        let mut body = Vec::new();
        for p in packets {
            let mut n = p.len();
            while n >= 255 {
                table.push(255u8);
                n -= 255;
            }
            table.push(n as u8);
            body.extend_from_slice(p);
        }
        let mut out = b"OggS\0\0".to_vec();
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&serial.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // sequence + crc (not checked)
        out.push(table.len() as u8);
        out.extend_from_slice(&table);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn duration_from_granule_minus_preskip() {
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&[0x80, 0xBB, 0, 0, 0, 0, 0]);
        let long = vec![7u8; 300];
        let mut data = page(9, 0, &[&head]);
        data.extend(page(9, 0, &[b"OpusTags"]));
        data.extend(page(9, 48_000, &[b"a", &long]));
        data.extend(page(9, 312 + 2 * 48_000 + 24_000, &[b"b"]));
        let info = parse_ogg_opus(&data).unwrap_or_else(|| panic!("parse"));
        assert_eq!(info.pre_skip, 312);
        assert_eq!(info.duration_ms(), 2500);
        assert_eq!(info.duration_secs(), 3);
        assert_eq!(info.packets.len(), 3);
        assert_eq!(info.packets[1].len(), 300);
    }

    #[test]
    fn vorbis_is_not_opus() {
        let data = page(1, 0, &[b"\x01vorbis-header-bytes-here"]);
        assert_eq!(parse_ogg_opus(&data), None);
        assert_eq!(parse_ogg_opus(b"not ogg at all, just text..."), None);
    }

    #[test]
    fn waveform_of_silence_and_short_input() {
        assert_eq!(waveform_from_pcm(&[0; 1000]), vec![0; 64]);
        let w = waveform_from_pcm(&[100, -100]);
        assert_eq!(w.len(), 64);
        assert!(w.iter().all(|&b| b == 100));
    }
}
