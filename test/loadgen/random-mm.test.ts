import { inflateSync } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildWorkload, defaultWorkloadConfig, DEFAULT_RANDOM_MM, loadTokenizerFile, parseBucketConfig, parseLimitMmPerPrompt, requestBody, defaultServeBenchConfig, workloadHash, type RandomMmConfig } from '../../src/loadgen/index.js';
import { parseSimProfile, startSimServer } from '../../src/sim/index.js';
import { imageSize } from '../../src/sim/generation.js';
import { runInProcess, writeTinyTokenizer } from './helpers.js';

const tiny = loadTokenizerFile(writeTinyTokenizer());
const mm = (o: Partial<RandomMmConfig>) => defaultWorkloadConfig({ datasetName: 'random-mm', numPrompts: 6, randomInputLen: 16, randomOutputLen: 4, randomMm: { ...DEFAULT_RANDOM_MM, bucketConfig: [[8, 12, 1, 1]], ...o } });

/** The PNG of a data URL: its size and its raw RGB rows (stored deflate inflated). */
function png(url: string): { width: number; height: number; bytes: Buffer } {
  const m = /^data:image\/png;base64,(.*)$/.exec(url);
  expect(m).not.toBeNull();
  const bytes = Buffer.from(m?.[1] ?? '', 'base64');
  const size = imageSize(bytes);
  if (!size) throw new Error('not a PNG');
  return { ...size, bytes };
}

describe('random-mm', () => {
  it("gives each random prompt base-items-per-request images of the bucket's shape, random RGB pixels as PNG data URLs, deterministic in the seed", async () => {
    const w = await buildWorkload(mm({ baseItemsPerRequest: 2 }), tiny);
    expect(w.requests).toHaveLength(6);
    for (const r of w.requests) {
      expect(r.promptTokens).toBe(16 - tiny.numSpecialTokens);
      expect(r.mmContent).toHaveLength(2);
      for (const item of r.mmContent ?? []) {
        expect(item.type).toBe('image_url');
        const p = png(item.image_url.url);
        expect([p.width, p.height]).toEqual([12, 8]);
        // IDAT holds 8 rows of (filter byte + 12 x 3 bytes): valid zlib, the pixels not all equal.
        const at = p.bytes.indexOf('IDAT');
        const raw = inflateSync(p.bytes.subarray(at + 4, at + 4 + p.bytes.readUInt32BE(at - 4)));
        expect(raw.length).toBe(8 * (1 + 36));
        expect(new Set(raw.subarray(1, 37)).size).toBeGreaterThan(10);
      }
    }
    const again = await buildWorkload(mm({ baseItemsPerRequest: 2 }), tiny);
    expect(workloadHash(again)).toBe(workloadHash(w));
    const other = await buildWorkload({ ...mm({ baseItemsPerRequest: 2 }), seed: 1 }, tiny);
    expect(workloadHash(other)).not.toBe(workloadHash(w));
  });

  it('draws the item count in [floor(n(1-r)), ceil(n(1+r))] capped by the limits, buckets by probability', async () => {
    const w = await buildWorkload({ ...mm({ baseItemsPerRequest: 2, numMmItemsRangeRatio: 1, limitMmPerPrompt: { image: 3, video: 1 }, bucketConfig: [[4, 4, 1, 0.5], [6, 6, 1, 0.5], [9, 9, 16, 0]] }), numPrompts: 60 }, tiny);
    const counts = w.requests.map((r) => r.mmContent?.length ?? 0);
    expect(Math.min(...counts)).toBe(0);
    expect(Math.max(...counts)).toBe(3);
    const sizes = new Set(w.requests.flatMap((r) => (r.mmContent ?? []).map((i) => png(i.image_url.url).width)));
    expect(sizes).toEqual(new Set([4, 6]));
  });

  it("reads vLLM's flag values and refuses what it cannot build", async () => {
    expect(parseBucketConfig('{(256, 256, 1): 0.5, (720, 1280, 1): 0.4, (720, 1280, 16): 0.1}')).toEqual([
      [256, 256, 1, 0.5],
      [720, 1280, 1, 0.4],
      [720, 1280, 16, 0.1],
    ]);
    expect(parseLimitMmPerPrompt('{"image": 3, "video": 0}')).toEqual({ image: 3, video: 0 });
    expect(() => parseLimitMmPerPrompt('[1]')).toThrow(/--random-mm-limit-mm-per-prompt/);
    await expect(buildWorkload(mm({ bucketConfig: [[8, 8, 16, 1]] }), tiny)).rejects.toThrow(/video buckets \(frames > 1\) are not supported/);
    await expect(buildWorkload(mm({ bucketConfig: [[8, 8, 1, 1]], limitMmPerPrompt: { video: 1 } }), tiny)).rejects.toThrow(/modality image is not in --random-mm-limit-mm-per-prompt/);
    await expect(buildWorkload(mm({ bucketConfig: [[8, 8, 1, 0]] }), tiny)).rejects.toThrow(/every probability is 0/);
  });

  it("sends vLLM's openai-chat body: the text part, then the images", async () => {
    const w = await buildWorkload(mm({}), tiny);
    const req = w.requests[0]!;
    const body = JSON.parse(requestBody(defaultServeBenchConfig({ baseUrl: 'http://127.0.0.1:1', model: 'm', backend: 'openai-chat' }), req)) as { messages: { role: string; content: unknown[] }[] };
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: req.prompt }, ...(req.mmContent ?? [])] }]);
  });

  it('runs end to end against the sim (image parts accepted and counted as prompt tokens); a completions backend is refused', async () => {
    const sim = await startSimServer(parseSimProfile({ startup_delay_ms: 0 }, 'test'), { port: 0 });
    onTestFinished(() => sim.close());
    await sim.ready;
    const args = ['bench', 'serve', '--base-url', sim.url, '--dataset-name', 'random-mm', '--random-input-len', '16', '--random-output-len', '4', '--num-prompts', '4', '--random-mm-bucket-config', '{(56, 84, 1): 1.0}', '--disable-tqdm'];
    const ok = await runInProcess([...args, '--backend', 'openai-chat', '--endpoint', '/v1/chat/completions']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Successful requests:\s+4/);
    const refused = await runInProcess([...args, '--backend', 'openai']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/multi-modal content is only supported on openai-chat/);
  });

  it('the sim counts 28x28 patches of an image as prompt tokens and rejects what it cannot load', async () => {
    const sim = await startSimServer(parseSimProfile({ startup_delay_ms: 0 }, 'test'), { port: 0 });
    onTestFinished(() => sim.close());
    await sim.ready;
    const w = await buildWorkload(mm({ bucketConfig: [[56, 84, 1, 1]] }), tiny);
    const tokenize = async (content: unknown) => {
      const res = await fetch(`${sim.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content }] }) });
      return { status: res.status, body: (await res.json()) as { count?: number; message?: string } };
    };
    const text = await tokenize([{ type: 'text', text: 'hi' }]);
    const withImage = await tokenize([{ type: 'text', text: 'hi' }, ...(w.requests[0]?.mmContent ?? [])]);
    expect((withImage.body.count ?? 0) - (text.body.count ?? 0)).toBe(2 * 3);
    expect((await tokenize([{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])).status).toBe(400);
    expect((await tokenize([{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }])).status).toBe(400);
  });
});

describe('run: a perf command with --dataset-name random-mm', () => {
  it('measures on the sim with the images in every request; a completions backend is an unsupported_flag refusal', async () => {
    const { planRun, runBenchmarks } = await import('../../src/run/index.js');
    const { createEngine } = await import('../../src/engine/index.js');
    const { settings, task, withStore } = await import('../run/helpers.js');
    const cmd = "vllm bench serve --model sim/tiny --backend openai-chat --endpoint /v1/chat/completions --dataset-name random-mm --random-input-len 16 --random-output-len 4 --num-prompts 4 --random-mm-base-items-per-request 2 --random-mm-bucket-config '{(28, 56, 1): 1.0}'";
    const s = settings({ variants: ['baseline'], trials: 1 });
    const plans = planRun([task('a', { perf_command: cmd }), task('b', { perf_command: cmd.replace('--backend openai-chat --endpoint /v1/chat/completions', '--backend openai') })], [], s);
    expect(plans[0]?.workload?.config.randomMm.baseItemsPerRequest).toBe(2);
    expect(plans[1]?.preFailure?.code).toBe('unsupported_flag');
    expect(plans[1]?.preFailure?.evidence).toMatch(/multi-modal content is only supported on openai-chat/);
    await withStore(async (store) => {
      const engine = createEngine({ kind: 'sim', runId: 'test-run', profile: { decode_base_ms: 1, startup_delay_ms: 20 } });
      await runBenchmarks({ plans: plans.slice(0, 1), engine, store, settings: s, config: {} });
      await engine.cleanup();
      const [t] = await store.listTrials({});
      expect(t?.status, JSON.stringify(t?.failure)).toBe('ok');
      expect(t?.command).toMatch(/random-mm 16\/4 \+ 2 image\(s\) per request/);
    });
  }, 60_000);
});
