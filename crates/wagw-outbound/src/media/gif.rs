//! GIF structure: how many frames a GIF has, without decoding it.

/// Counts the image frames of a GIF by walking its blocks (no pixel decoding).
/// Returns `None` when the data is not a well-formed GIF.
///
/// ```
/// use wagw_outbound::media::gif::frame_count;
/// assert_eq!(frame_count(b"not a gif"), None);
/// ```
pub fn frame_count(data: &[u8]) -> Option<usize> {
    if !(data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) || data.len() < 13 {
        return None;
    }
    let flags = data[10];
    let mut pos = 13;
    if flags & 0x80 != 0 {
        pos += 3 * (1usize << ((flags & 0x07) + 1)); // global colour table
    }
    let mut frames = 0;
    loop {
        match *data.get(pos)? {
            0x3B => return Some(frames), // trailer
            0x21 => {
                // Extension: label, then data sub-blocks.
                pos = skip_sub_blocks(data, pos + 2)?;
            }
            0x2C => {
                frames += 1;
                let local = *data.get(pos + 9)?;
                pos += 10;
                if local & 0x80 != 0 {
                    pos += 3 * (1usize << ((local & 0x07) + 1));
                }
                pos += 1; // LZW minimum code size
                pos = skip_sub_blocks(data, pos)?;
            }
            _ => return None,
        }
        // A truncated GIF still has the frames seen so far.
        if pos >= data.len() {
            return Some(frames);
        }
    }
}

fn skip_sub_blocks(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = usize::from(*data.get(pos)?);
        pos += 1 + len;
        if len == 0 {
            return Some(pos);
        }
    }
}
