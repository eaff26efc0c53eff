//! Chunking: never a panic, no empty chunk, no chunk over the limit except a single grapheme
//! cluster or a fence opening line longer than the limit (docs/outbound.md), and no
//! non-whitespace character lost or added outside fence markers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unicode_segmentation::UnicodeSegmentation;
use wagw_core::ChunkMode;
use wagw_outbound::chunk_text;

fuzz_target!(|data: (u8, bool, &str)| {
    let (limit, newline, text) = data;
    let limit = usize::from(limit).max(1);
    let mode = if newline {
        ChunkMode::Newline
    } else {
        ChunkMode::Length
    };
    let chunks = chunk_text(text, limit, mode);
    let fenced = text.contains("```") || text.contains("~~~");
    for chunk in &chunks {
        assert!(!chunk.is_empty(), "empty chunk for {text:?} at {limit}");
        let chars = chunk.chars().count();
        if chars > limit && !fenced {
            assert_eq!(chunk.graphemes(true).count(), 1, "{chunk:?} over {limit}");
        }
    }
    if !fenced {
        let kept: String = chunks
            .concat()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let given: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(kept, given, "chunks lost or added text at {limit}");
    }
});
