// Side-by-side peer figures: node bench.mjs DIST PHOTO.jpg -> one JSON line. Run by
// scripts/bench-vs-reference.sh (DIST: the reference's dist/ directory, installed from npm).
// Single core for the image path (VIPS_CONCURRENCY=1, run under taskset -c 0).
import fs from 'fs';
const dist = process.argv[2], photo = process.argv[3];
const chunk = await import(dist + '/auto-reply/chunk.js');
const utils = await import(dist + '/utils.js');
const media = await import(dist + '/web/media.js');
const prose = fs.readFileSync(new URL('./prose.txt', import.meta.url), 'utf8');
const text = prose.repeat(Math.ceil((1 << 20) / prose.length)).slice(0, 1 << 20);
const best = async (n, f) => { let b = Infinity; for (let i = 0; i < n; i++) { const t = performance.now(); await f(); b = Math.min(b, performance.now() - t); } return b; };
const chunkMs = await best(10, () => chunk.chunkText(text, 4000));
const phones = Array.from({ length: 100000 }, (_, i) => `+1 (555) ${String(1000000 + i).slice(1, 4)}-${String(i % 10000).padStart(4, '0')}`);
const phoneMs = await best(5, () => { for (const p of phones) utils.normalizeE164(p); });
const jpg = fs.readFileSync(photo);
let outBytes = 0, outBuf = null;
const imgMs = await best(3, async () => { const o = await media.optimizeImageToJpeg(jpg, 5 * 1024 * 1024); outBytes = o.buffer.length; outBuf = o.buffer; });
if (process.env.PEER_JPEG_OUT) fs.writeFileSync(process.env.PEER_JPEG_OUT, outBuf);
console.log(JSON.stringify({
  peer: 'clawdbot@2026.1.24',
  chunk_mb_per_s: (text.length / 1e6) / (chunkMs / 1000),
  phone_per_s: phones.length / (phoneMs / 1000),
  jpeg_ms: imgMs, jpeg_out_bytes: outBytes,
}));
