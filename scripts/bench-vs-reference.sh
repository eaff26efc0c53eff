#!/usr/bin/env bash
# wagw side by side with the reference (the OpenClaw build published on npm as clawdbot
# 2026.1.24, whose WhatsApp channel wagw replaces), on the same inputs, both pinned to one core,
# alternating rounds; prints the medians and the ratios. See docs/performance.md.
#
#   scripts/bench-vs-reference.sh            # 3 rounds on core 0
#   ROUNDS=5 BENCH_CORE=1 scripts/bench-vs-reference.sh
#
# Inputs: 1 MiB of scripts/bench-peer/prose.txt chunked at 4000; 100,000 formatted numbers
# "+1 (555) ddd-dddd"; the 12-megapixel photo from $WAGW_BENCH_PHOTO, else
# ../shared/bench-data/photo12mp.jpg beside the repository (what the cargo benches read), else
# one the outbound bench generates. Needs node/npm, taskset and a Rust toolchain.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${ROUNDS:-3}
core=${BENCH_CORE:-0}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} CARGO_INCREMENTAL=0 CARGO_TERM_COLOR=never
# One package set for every cargo call: a different set unifies features differently and
# would rebuild the dependencies.
pkgs=(-p wagw-core -p wagw-outbound -p wagw-access -p wagw-gateway)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the reference, from npm -------------------------------------------------------------------
# Two of its dependencies are not on the registry (a git-hosted libsignal, cssomnom); they are
# replaced so the package installs. The functions measured (chunkText, normalizeE164,
# optimizeImageToJpeg) do not use them.
peer=${WAGW_PEER_DIR:-$HOME/.cache/wagw-peer}
if [ ! -f "$peer/node_modules/clawdbot/package.json" ]; then
  echo "installing clawdbot 2026.1.24 into $peer ..." >&2
  mkdir -p "$peer/stub-cssomnom"
  echo '{"name":"cssomnom","version":"0.1.11","main":"index.js"}' > "$peer/stub-cssomnom/package.json"
  echo 'module.exports={};' > "$peer/stub-cssomnom/index.js"
  cat > "$peer/package.json" <<'JSON'
{ "name": "wagw-peer", "version": "1.0.0", "private": true,
  "dependencies": { "clawdbot": "2026.1.24" },
  "overrides": { "libsignal": "npm:libsignal@6.0.0", "cssomnom": "file:./stub-cssomnom" } }
JSON
  (cd "$peer" && npm install --ignore-scripts --no-audit --no-fund >/dev/null)
fi
dist="$peer/node_modules/clawdbot/dist"

# --- the photo -----------------------------------------------------------------------------------
photo=${WAGW_BENCH_PHOTO:-$root/../shared/bench-data/photo12mp.jpg}
if [ ! -f "$photo" ]; then
  photo="$work/photo.jpg"
  echo "no photo12mp.jpg: generating a camera-like 4000x3000 photo into $photo" >&2
  cargo run -q --release "${pkgs[@]}" --example image_quality -- --generate "$photo"
fi
export WAGW_BENCH_PHOTO=$photo

# --- build everything first, so no round pays for compilation -------------------------------------
echo "building benches (release) ..." >&2
cargo bench -q "${pkgs[@]}" --no-run 2>/dev/null
cargo build -q --release "${pkgs[@]}" --example image_quality

# group/function -> ns per iteration of the fastest criterion sample of the last run. The
# reference's bench reports its best of N runs; the fastest sample is the like-for-like figure
# (each sample averages many iterations, so it is not a lucky single run).
criterion() {
  node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(Math.min(...s.times.map((t,i)=>t/s.iters[i])))' \
    "target/criterion/$1/new/sample.json"
}
short=(--warm-up-time 1 --measurement-time 4 --noplot)
pin=(taskset -c "$core")

for r in $(seq "$rounds"); do
  echo "round $r/$rounds: reference ..." >&2
  VIPS_CONCURRENCY=1 UV_THREADPOOL_SIZE=1 PEER_JPEG_OUT="$work/peer.jpg" \
    "${pin[@]}" node scripts/bench-peer/bench.mjs "$dist" "$photo" > "$work/peer.$r.json"
  echo "round $r/$rounds: wagw ..." >&2
  "${pin[@]}" cargo bench -q "${pkgs[@]}" --bench outbound -- "${short[@]}" \
    '^chunk/prose_1MiB_length_4000$' > /dev/null 2>&1
  chunk_ns=$(criterion chunk/prose_1MiB_length_4000)
  WAGW_JPEG_OUT="$work/wagw.jpg" "${pin[@]}" cargo bench -q "${pkgs[@]}" --bench outbound -- \
    "${short[@]}" '^image/sweep_photo12mp_to_5MB$' > /dev/null 2>&1
  jpeg_ns=$(criterion image/sweep_photo12mp_to_5MB)
  "${pin[@]}" cargo bench -q "${pkgs[@]}" --bench identity -- "${short[@]}" > /dev/null 2>&1
  parse_ns=$(criterion phone_normalize_100k/parse)
  render_ns=$(criterion phone_normalize_100k/parse_to_string)
  "${pin[@]}" cargo bench -q "${pkgs[@]}" --bench decide -- "${short[@]}" \
    '^decide_dm_1000_allowlist/allowlisted$' > /dev/null 2>&1
  decide_ns=$(criterion decide_dm_1000_allowlist/allowlisted)
  dms=$("${pin[@]}" cargo bench -q "${pkgs[@]}" --bench pipeline -- throughput 2>/dev/null \
    | sed -n 's/.* = \([0-9]*\) DMs\/s;.*/\1/p' | head -n 1)
  printf '{"chunk_ns":%s,"jpeg_ns":%s,"parse_ns":%s,"render_ns":%s,"decide_ns":%s,"dms":%s,"jpeg_bytes":%s}\n' \
    "$chunk_ns" "$jpeg_ns" "$parse_ns" "$render_ns" "$decide_ns" "${dms:-0}" \
    "$(stat -c %s "$work/wagw.jpg")" > "$work/wagw.$r.json"
done

# Quality of the last outputs: luma SSIM (7x7) of each against the photo resized to the same
# size with Lanczos3, computed the same way for both.
ssim=$(target/release/examples/image_quality "$photo" "$work/peer.jpg" "$work/wagw.jpg")

node - "$work" "$rounds" "$ssim" "$(nproc)" "$(cat /proc/loadavg)" <<'JS'
const fs = require('fs');
const [work, rounds, ssimOut, cpus, load] = process.argv.slice(2);
const read = (who) => Array.from({ length: +rounds }, (_, i) => JSON.parse(fs.readFileSync(`${work}/${who}.${i + 1}.json`)));
const peer = read('peer'), wagw = read('wagw');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const p = (k) => median(peer.map((r) => r[k])), w = (k) => median(wagw.map((r) => r[k]));
const ssim = Object.fromEntries(ssimOut.trim().split('\n').map((l) => JSON.parse(l)).map((o) => [o.file.endsWith('peer.jpg') ? 'peer' : 'wagw', o]));
const MB = (1 << 20) / 1e6;
const rows = [
  ['chunking 1 MiB prose at 4000', `${p('chunk_mb_per_s').toFixed(0)} MB/s`, `${(MB / (w('chunk_ns') / 1e9)).toFixed(0)} MB/s`, `${(MB / (w('chunk_ns') / 1e9) / p('chunk_mb_per_s')).toFixed(1)}x`],
  ['phone normalization, 100k formatted (parse)', `${(p('phone_per_s') / 1e6).toFixed(2)} M/s`, `${(1e5 / (w('parse_ns') / 1e9) / 1e6).toFixed(1)} M/s`, `${(1e5 / (w('parse_ns') / 1e9) / p('phone_per_s')).toFixed(1)}x`],
  ['phone normalization, 100k formatted (parse + to_string)', `${(p('phone_per_s') / 1e6).toFixed(2)} M/s`, `${(1e5 / (w('render_ns') / 1e9) / 1e6).toFixed(1)} M/s`, `${(1e5 / (w('render_ns') / 1e9) / p('phone_per_s')).toFixed(1)}x`],
  ['JPEG sweep of the photo under 5 MiB', `${p('jpeg_ms').toFixed(0)} ms, ${p('jpeg_out_bytes')} B, SSIM ${ssim.peer.ssim.toFixed(3)}`, `${(w('jpeg_ns') / 1e6).toFixed(0)} ms, ${w('jpeg_bytes')} B, SSIM ${ssim.wagw.ssim.toFixed(3)}`, `${(w('jpeg_ns') / 1e6 / p('jpeg_ms')).toFixed(2)}x time, ${(w('jpeg_bytes') / p('jpeg_out_bytes')).toFixed(2)}x bytes, ${(ssim.wagw.ssim - ssim.peer.ssim) >= 0 ? '+' : ''}${(ssim.wagw.ssim - ssim.peer.ssim).toFixed(3)} SSIM`],
  ['access decisions, 1,000-entry allow-list', '-', `${(1e3 / w('decide_ns')).toFixed(1)} M/s`, '-'],
  ['inbound pipeline on the simulator, null sink', '-', `${w('dms')} DMs/s`, '-'],
];
console.log(`\nmedians of ${rounds} alternating rounds, each pinned to one core; ${cpus} CPUs, load average ${load}\n`);
console.log('| measure | reference | wagw | ratio |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
JS
