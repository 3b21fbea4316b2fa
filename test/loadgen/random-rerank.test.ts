import { describe, expect, it, onTestFinished } from 'vitest';
import { buildWorkload, defaultServeBenchConfig, defaultWorkloadConfig, loadTokenizerFile, requestBody, workloadHash } from '../../src/loadgen/index.js';
import { parseSimProfile, startSimServer } from '../../src/sim/index.js';
import { runInProcess, writeTinyTokenizer } from './helpers.js';

const tiny = loadTokenizerFile(writeTinyTokenizer());
const rerank = (o: Parameters<typeof defaultWorkloadConfig>[0] = {}) => defaultWorkloadConfig({ datasetName: 'random-rerank', numPrompts: 6, randomInputLen: 40, randomBatchSize: 2, ...o });
const count = async (text: string) => (await tiny.encode([text], { addSpecialTokens: false }))[0]!.length;

describe('random-rerank', () => {
  it("one query and --num-prompts documents in requests of --random-batch-size, prompt tokens as vLLM's prompt_len", async () => {
    const w = await buildWorkload(rerank(), tiny);
    expect(w.requests.map((r) => r.documents?.length)).toEqual([2, 2, 2]);
    expect(new Set(w.requests.map((r) => r.prompt)).size).toBe(1);
    const q = await count(w.requests[0]!.prompt);
    // The query is about half the input (less one separator and the special tokens), a document the rest.
    expect(q).toBe(Math.floor(40 / 2) - 1 - tiny.numSpecialTokens);
    for (const r of w.requests) {
      const docs = await Promise.all((r.documents ?? []).map(count));
      for (const d of docs) expect(d).toBe(40 - q - 1 - tiny.numSpecialTokens);
      expect(r.promptTokens).toBe((q + 1) * docs.length + docs.reduce((a, b) => a + b, 0));
      expect(r.maxTokens).toBe(0);
    }
    expect(workloadHash(await buildWorkload(rerank(), tiny))).toBe(workloadHash(w));
    expect(workloadHash(await buildWorkload(rerank({ randomBatchSize: 3 }), tiny))).not.toBe(workloadHash(w));
  });

  it('--no-reranker: the query is one of the inputs (one document and one per batch fewer), no separator', async () => {
    const w = await buildWorkload(rerank({ reranker: false, randomBatchSize: 3 }), tiny);
    expect(w.requests.map((r) => r.documents?.length)).toEqual([2, 2, 1]);
    const q = await count(w.requests[0]!.prompt);
    expect(q).toBe(40 - tiny.numSpecialTokens);
    const docs = await Promise.all((w.requests[2]!.documents ?? []).map(count));
    expect(w.requests[2]!.promptTokens).toBe(q + docs[0]!);
    await expect(buildWorkload(rerank({ reranker: false, randomBatchSize: 1 }), tiny)).rejects.toThrow(/--no-reranker: needs --num-prompts and --random-batch-size of at least 2/);
  });

  it("sends vLLM's rerank body (query, documents, truncate_prompt_tokens -1)", async () => {
    const w = await buildWorkload(rerank(), tiny);
    const r = w.requests[1]!;
    expect(JSON.parse(requestBody(defaultServeBenchConfig({ baseUrl: 'http://127.0.0.1:1', model: 'm', backend: 'vllm-rerank' }), r))).toEqual({ model: 'm', query: r.prompt, documents: r.documents, truncate_prompt_tokens: -1 });
  });

  it('bench serve --backend vllm-rerank runs against the sim /v1/rerank; the backend and the dataset go together', async () => {
    const sim = await startSimServer(parseSimProfile({ startup_delay_ms: 0 }, 'test'), { port: 0 });
    onTestFinished(() => sim.close());
    await sim.ready;
    const base = ['bench', 'serve', '--base-url', sim.url, '--random-input-len', '32', '--num-prompts', '8', '--disable-tqdm'];
    const ok = await runInProcess([...base, '--backend', 'vllm-rerank', '--dataset-name', 'random-rerank', '--random-batch-size', '4']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Successful requests:\s+2/);
    expect(ok.stdout).toMatch(/Total generated tokens:\s+0\s/);
    expect(ok.stdout).toMatch(/Peak output token throughput \(tok\/s\):\s+0\.00/);
    const mixed = await runInProcess([...base, '--backend', 'vllm-rerank', '--dataset-name', 'random']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/the vllm-rerank backend and the random-rerank dataset go together/);
    const batch = await runInProcess([...base, '--dataset-name', 'random', '--random-batch-size', '2']);
    expect(batch.code).toBe(2);
    expect(batch.stderr).toMatch(/--random-batch-size: not supported with --dataset-name random/);
    // The sim's rerank answer: every document scored, ordered by score, usage counted per pair.
    const res = await fetch(`${sim.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'sim-model', query: 'a b', documents: ['c', 'd e'] }) });
    const json = (await res.json()) as { results: { index: number; relevance_score: number }[]; usage: { prompt_tokens: number } };
    expect(json.results.map((x) => x.index).sort()).toEqual([0, 1]);
    expect(json.results[0]!.relevance_score).toBeGreaterThanOrEqual(json.results[1]!.relevance_score);
    expect(json.usage.prompt_tokens).toBeGreaterThan(0);
  });
});

describe('run: a perf command with --dataset-name random-rerank', () => {
  it('is refused at plan time with the reason (unsupported_flag)', async () => {
    const { planRun } = await import('../../src/run/index.js');
    const { settings, task } = await import('../run/helpers.js');
    const [plan] = planRun([task('a', { perf_command: 'vllm bench serve --model m --backend vllm-rerank --endpoint /v1/rerank --dataset-name random-rerank --random-batch-size 4' })], [], settings());
    expect(plan?.preFailure?.code).toBe('unsupported_flag');
    expect(plan?.preFailure?.evidence).toMatch(/random-rerank benchmarks a reranker .*isobench bench serve --backend vllm-rerank/);
  });
});
