/**
 * vLLM's random-mm dataset (`RandomMultiModalDataset`): random prompts as the random dataset builds them, each with a
 * number of synthetic images of random RGB pixels, sent as `image_url` parts (base64 data URLs) of an openai-chat
 * request. Built locally (no network); images are PNG (a stored-deflate encoder here), vLLM's are JPEG (PIL): the same
 * sizes and item counts, other bytes (docs/loadgen.md, Datasets).
 */
import { crc32, deflateSync } from 'node:zlib';
import { SERVE_DEFAULTS, usageError } from '../core/index.js';
import { Prng } from './prng.js';

/** One multimodal part of a chat message's content, as vLLM's process_image builds it. */
export interface MmItem {
  type: 'image_url';
  image_url: { url: string };
}

/** `--random-mm-*`: how many items per request and of which shapes. */
export interface RandomMmConfig {
  /** `--random-mm-base-items-per-request` (vLLM's default 1). */
  baseItemsPerRequest: number;
  /** `--random-mm-num-mm-items-range-ratio` in [0, 1] (default 0): the count is drawn from [floor(n(1-r)), ceil(n(1+r))]. */
  numMmItemsRangeRatio: number;
  /** `--random-mm-limit-mm-per-prompt` (default {"image": 255, "video": 1}). */
  limitMmPerPrompt: Record<string, number>;
  /** `--random-mm-bucket-config`: [height, width, frames, probability] (frames 1: an image, more: a video). */
  bucketConfig: [number, number, number, number][];
}

/** vLLM's defaults (core's SERVE_DEFAULTS, bench serve's flag defaults). */
export const DEFAULT_RANDOM_MM: RandomMmConfig = {
  baseItemsPerRequest: SERVE_DEFAULTS.randomMmBaseItemsPerRequest,
  numMmItemsRangeRatio: SERVE_DEFAULTS.randomMmNumMmItemsRangeRatio,
  limitMmPerPrompt: parseLimitMmPerPrompt(SERVE_DEFAULTS.randomMmLimitMmPerPrompt),
  bucketConfig: parseBucketConfig(SERVE_DEFAULTS.randomMmBucketConfig),
};

const modality = (frames: number): string => (frames === 1 ? 'image' : 'video');

/**
 * Parses vLLM's `--random-mm-bucket-config` text: a Python dict literal of `(height, width, frames): probability`
 * (`{(256, 256, 1): 0.5, (720, 1280, 1): 0.5}`), or the same as JSON with "h,w,f" keys.
 */
export function parseBucketConfig(text: string): RandomMmConfig['bucketConfig'] {
  const out: RandomMmConfig['bucketConfig'] = [];
  const entry = /\(?\s*"?\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*"?\s*\)?\s*:\s*([0-9.eE+-]+)/g;
  for (let m = entry.exec(text); m; m = entry.exec(text)) out.push([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
  if (out.length === 0 || out.some((b) => b.some((x) => !Number.isFinite(x)))) {
    throw usageError('--random-mm-bucket-config', `cannot read ${JSON.stringify(text)}`, "e.g. '{(256, 256, 1): 0.5, (720, 1280, 1): 0.5}'");
  }
  return out;
}

/** Parses `--random-mm-limit-mm-per-prompt` (JSON object of modality → count, e.g. `{"image": 3, "video": 0}`). */
export function parseLimitMmPerPrompt(text: string): Record<string, number> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0)) {
    throw usageError('--random-mm-limit-mm-per-prompt', `expected a JSON object of modality → count, got ${text}`, `e.g. '{"image": 3, "video": 0}'`);
  }
  return v as Record<string, number>;
}

/** Zero-probability buckets removed, the rest renormalized (vLLM's normalize_bucket_config). */
function normalized(buckets: RandomMmConfig['bucketConfig']): RandomMmConfig['bucketConfig'] {
  if (buckets.some((b) => b[3] < 0)) throw usageError('--random-mm-bucket-config', 'probabilities must be non-negative');
  const kept = buckets.filter((b) => b[3] > 0);
  if (kept.length === 0) throw usageError('--random-mm-bucket-config', 'every probability is 0');
  const total = kept.reduce((a, b) => a + b[3], 0);
  return kept.map(([h, w, f, p]) => [h, w, f, p / total]);
}

/** The item-count range and the buckets after vLLM's checks (get_mm_item_sampling_params); video is refused. */
export function mmSampling(cfg: RandomMmConfig): { min: number; max: number; limits: Record<string, number>; buckets: RandomMmConfig['bucketConfig'] } {
  const r = cfg.numMmItemsRangeRatio;
  if (!(r >= 0 && r <= 1)) throw usageError('--random-mm-num-mm-items-range-ratio', `must be in [0, 1], got ${r}`);
  for (const [, , f] of cfg.bucketConfig) {
    if (!(f >= 1)) throw usageError('--random-mm-bucket-config', `frames must be at least 1, got ${f}`);
    if (!(modality(f) in cfg.limitMmPerPrompt)) throw usageError('--random-mm-bucket-config', `modality ${modality(f)} is not in --random-mm-limit-mm-per-prompt`);
  }
  const buckets = normalized(cfg.bucketConfig);
  if (buckets.some(([, , f]) => f > 1)) {
    throw usageError('--random-mm-bucket-config', 'video buckets (frames > 1) are not supported: vLLM encodes them as MP4 with OpenCV, isobench has no video encoder', 'give video buckets probability 0 (vLLM\'s default does)');
  }
  const present = new Set(buckets.map(([, , f]) => modality(f)));
  const limits = Object.fromEntries(Object.entries(cfg.limitMmPerPrompt).filter(([k]) => present.has(k)));
  const max = Math.min(Object.values(limits).reduce((a, b) => a + b, 0), Math.ceil(cfg.baseItemsPerRequest * (1 + r)));
  const min = Math.max(0, Math.floor(cfg.baseItemsPerRequest * (1 - r)));
  if (min > max) throw usageError('--random-mm-base-items-per-request', `the fewest items (${min}) is above the most the limits allow (${max})`);
  return { min, max, limits, buckets };
}

/** The shapes of one request's items (vLLM's get_mm_item_iterator): a count in [min, max], buckets drawn until a modality's limit is hit. */
export function drawItems(rng: Prng, s: ReturnType<typeof mmSampling>): [number, number][] {
  const count = rng.int(s.min, s.max);
  const used: Record<string, number> = {};
  let buckets = s.buckets;
  const out: [number, number][] = [];
  while (out.length < count && buckets.length > 0) {
    let u = rng.float();
    let pick = buckets[buckets.length - 1]!;
    for (const b of buckets) {
      if (u < b[3]) {
        pick = b;
        break;
      }
      u -= b[3];
    }
    const m = modality(pick[2]);
    if ((used[m] ?? 0) < (s.limits[m] ?? 0)) {
      used[m] = (used[m] ?? 0) + 1;
      out.push([pick[0], pick[1]]);
    } else {
      const rest = buckets.filter((b) => modality(b[2]) !== m);
      buckets = rest.length > 0 ? normalized(rest) : [];
    }
  }
  return out;
}

/** A PNG chunk: length, type, data and the CRC-32 of type and data (node:zlib's). */
function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An 8-bit RGB PNG of `rgb` (height rows of width x 3 bytes), deflate level 0: random pixels do not compress. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 0 })), chunk('IEND', new Uint8Array(0))]);
}

/** A synthetic image of i.i.d. random RGB pixels (vLLM's generate_synthetic_image) as a PNG data URL part. */
export function randomImage(rng: Prng, height: number, width: number): MmItem {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i += 4) {
    const v = rng.nextU32();
    rgb[i] = v & 0xff;
    if (i + 1 < rgb.length) rgb[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < rgb.length) rgb[i + 2] = (v >>> 16) & 0xff;
    if (i + 3 < rgb.length) rgb[i + 3] = v >>> 24;
  }
  return { type: 'image_url', image_url: { url: `data:image/png;base64,${encodePng(width, height, rgb).toString('base64')}` } };
}
