import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatResults } from '../../src/cli/reporters/index.js';
import { formatStatus } from '../../src/cli/status.js';
import { buildDatasetRows } from '../../src/dataset/index.js';
import { createEngine } from '../../src/engine/index.js';
import { buildReport } from '../../src/report/index.js';
import { planRun, runBenchmarks, summarizeResults } from '../../src/run/index.js';
import { loadCatalog } from '../../src/task/index.js';
import { openStore, readStoreStatus } from '../../src/store/index.js';
import { servingFlagsWithoutRule } from '../../src/vllm/index.js';
import { repoRoot, settings, task, tempDir } from './helpers.js';
import { recordingEngine } from './recording-server.js';

const BASE = 'python benchmarks/benchmark_serving.py --model m/rec --dataset-name random --random-input-len 8 --random-output-len 3 --num-prompts 3';

interface Recorded {
  url: string;
  body: Record<string, unknown>;
}

/** Runs one baseline trial of `perf` on the recording server; returns the trial and the streamed request bodies. */
async function runOnRecorder(perf: string, over: Parameters<typeof settings>[0] = {}, serverFlags = '') {
  const dir = tempDir();
  const { engine, record } = recordingEngine(dir, serverFlags);
  const store = await openStore(path.join(dir, 'run.sqlite'));
  try {
    const s = settings({ trials: 1, warmups: 0, variants: ['baseline'], oomFallbackMaxModelLen: 0, ...over });
    const plans = planRun([task('c', { perf_command: perf })], [], s);
    await runBenchmarks({ plans, engine, store, settings: s, config: {} });
    const [trial] = await store.listTrials({});
    let lines: string[] = [];
    try {
      lines = readFileSync(record, 'utf8').trim().split('\n');
    } catch {
      /* no request reached the server */
    }
    const bodies = lines.filter(Boolean).map((l) => JSON.parse(l) as Recorded).filter((r) => r.body.stream === true);
    return { trial, bodies, samples: trial ? await store.getSamples(trial.id) : [] };
  } finally {
    await engine.cleanup();
    await store.close();
  }
}

describe('the perf command is the contract', () => {
  it('sends the sampling flags and --extra-body in every request body, and they change the workload hash', async () => {
    const sampled = await runOnRecorder(`${BASE} --temperature 0.7 --top-p 0.9 --top-k 5 --min-p 0.05 --logprobs 2 --extra-body '{"repetition_penalty": 1.1}'`);
    expect(sampled.trial?.status, JSON.stringify(sampled.trial?.failure)).toBe('ok');
    expect(sampled.bodies).toHaveLength(3);
    for (const { body } of sampled.bodies) {
      expect(body).toMatchObject({ model: 'm/rec', temperature: 0.7, top_p: 0.9, top_k: 5, min_p: 0.05, logprobs: 2, repetition_penalty: 1.1, max_tokens: 3 });
      // benchmark_serving.py never forced ignore_eos for the random dataset (only `vllm bench serve` does).
      expect(body.ignore_eos).toBeUndefined();
    }
    // Without --temperature the client asks for greedy decoding, as vLLM's does (never the server's default).
    const greedy = await runOnRecorder(BASE);
    for (const { body } of greedy.bodies) expect(body.temperature).toBe(0);
    expect(greedy.trial?.workloadHash).not.toBe(sampled.trial?.workloadHash);
    const cli = await runOnRecorder(BASE.replace('python benchmarks/benchmark_serving.py', 'vllm bench serve'));
    expect(cli.bodies.map((b) => b.body.ignore_eos)).toEqual([true, true, true]);
  }, 60_000);

  it('leaves concurrency unlimited without --max-concurrency and names the served model', async () => {
    const { trial, bodies } = await runOnRecorder(`${BASE} --served-model-name served-x`);
    expect(trial?.command).toContain('concurrency unlimited');
    expect(bodies.map((b) => b.body.model)).toEqual(['served-x', 'served-x', 'served-x']);
  }, 60_000);

  it('refuses, at plan time, a flag it cannot honour, naming it', () => {
    const s = settings();
    for (const [flag, says] of [
      ['--profile', /--profile: it runs the torch profiler/],
      ['--use-beam-search', /--use-beam-search: /],
      ['--no-stream', /--no-stream: non-streamed/],
      ['--backend tgi', /--backend tgi: backend tgi speaks another API/],
      ['--dataset-name hf', /--dataset-name hf: dataset hf is not one/],
      ['--batch-size 4', /--batch-size: not a flag of the serving benchmark/],
    ] as const) {
      const [plan] = planRun([task('d', { perf_command: `${BASE} ${flag}` })], [], s);
      expect(plan?.preFailure?.code, flag).toBe('unsupported_flag');
      expect(plan?.preFailure?.evidence).toMatch(says);
      expect(plan?.workload).toBeNull();
    }
  });

  it('refuses a missing ShareGPT file unless --missing-dataset random asks for the substitution, then records it', async () => {
    const perf = 'python benchmarks/benchmark_serving.py --model m/rec --dataset-name sharegpt --num-prompts 2 --random-output-len 2';
    const [refused] = planRun([task('e', { perf_command: perf })], [], settings());
    expect(refused?.preFailure?.code).toBe('dataset_missing');
    expect(refused?.preFailure?.evidence).toMatch(/ShareGPT_V3_unfiltered_cleaned_split\.json.*--dataset-dir.*--missing-dataset random/);
    // benchmark_serving.py's own default dataset is sharegpt: a command that names none needs the file too.
    const [implicit] = planRun([task('e', { perf_command: 'python benchmarks/benchmark_serving.py --model m/rec --num-prompts 2' })], [], settings());
    expect(implicit?.preFailure?.code).toBe('dataset_missing');

    const { trial } = await runOnRecorder(perf, { missingDataset: 'random', datasetDir: tempDir() });
    expect(trial?.status, JSON.stringify(trial?.failure)).toBe('ok');
    expect(trial?.deviations.join('\n')).toMatch(/dataset sharegpt \(ShareGPT_V3_unfiltered_cleaned_split\.json\) not found at .*: random 1024\/2 used instead \(--missing-dataset random\)/);
  }, 60_000);

  it('finds the ShareGPT file in --dataset-dir by the file name of --dataset-path', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data'));
    const conversations = Array.from({ length: 4 }, (_, i) => ({ conversations: [{ value: `question number ${i} asks` }, { value: `answer ${i} says` }] }));
    writeFileSync(path.join(dir, 'data', 'my_sharegpt.json'), JSON.stringify(conversations));
    const perf = 'python benchmarks/benchmark_serving.py --model m/rec --dataset-name sharegpt --dataset-path /home/author/my_sharegpt.json --num-prompts 2';
    const { trial, bodies } = await runOnRecorder(perf, { datasetDir: path.join(dir, 'data') });
    expect(trial?.status, JSON.stringify(trial?.failure)).toBe('ok');
    expect(trial?.deviations).toEqual([]);
    expect(bodies.every(({ body }) => /^question number \d asks$/.test(String(body.prompt)))).toBe(true);
  }, 60_000);
});

describe('client flag rules', () => {
  it('every client flag of the serving script has a rule (sent, workload, load, target, output or refused)', () => {
    expect(servingFlagsWithoutRule()).toEqual([]);
  });
});

describe('outputs are checked on a real server process', () => {
  it('a server that returns more tokens than asked fails its requests with the lengths, not "Successful"', async () => {
    const { trial, samples } = await runOnRecorder(BASE, {}, '--extra-tokens 5');
    expect(trial?.status).toBe('failed');
    expect(trial?.failure?.code).toBe('requests_failed');
    expect(trial?.failure?.evidence).toContain('output length 8, requested 3');
    expect(samples.every((s) => !s.ok && s.error === 'output length 8, requested 3')).toBe(true);
  }, 60_000);

  it('a chat server that honours only max_tokens (llama-server) still returns exactly the requested tokens', async () => {
    const chat = 'python benchmarks/benchmark_serving.py --model m/rec --backend openai-chat --endpoint /v1/chat/completions --dataset-name random --random-input-len 8 --random-output-len 4 --num-prompts 2 --ignore-eos';
    const { trial, bodies, samples } = await runOnRecorder(chat, {}, '--ignore-max-completion');
    expect(trial?.status, JSON.stringify(trial?.failure)).toBe('ok');
    expect(bodies.map((b) => [b.url, b.body.max_tokens, b.body.max_completion_tokens])).toEqual([
      ['/v1/chat/completions', 4, 4],
      ['/v1/chat/completions', 4, 4],
    ]);
    expect(samples.map((s) => s.outputTokens)).toEqual([4, 4]);
  }, 60_000);

  it('a server that counts another prompt than the one sent fails the request (usage.prompt_tokens)', async () => {
    const { trial } = await runOnRecorder(BASE, {}, '--usage-prompt-offset 2');
    expect(trial?.failure?.evidence).toMatch(/input length 10 \(usage\.prompt_tokens\), sent 8/);
  }, 60_000);

  it('a stream with invalid UTF-8 is a failed request', async () => {
    const { trial } = await runOnRecorder(BASE, {}, '--bad-utf8');
    expect(trial?.failure?.evidence).toMatch(/invalid UTF-8 in stream chunk/);
  }, 60_000);
});

describe('a substituted dataset is visible everywhere', () => {
  it('in the run table, status, the dataset config column and the report', async () => {
    const dir = tempDir();
    const store = await openStore(path.join(dir, 'run.sqlite'));
    const engine = createEngine({ kind: 'sim', runId: 'test-dev', profile: { decode_base_ms: 1, startup_delay_ms: 10 } });
    try {
      const perf = 'python benchmarks/benchmark_serving.py --model sim/tiny --dataset-name sharegpt --num-prompts 3 --random-input-len 16 --random-output-len 2';
      const s = settings({ trials: 1, warmups: 0, variants: ['baseline', 'human'], oomFallbackMaxModelLen: 0, missingDataset: 'random' });
      const plans = planRun([task('f', { perf_command: perf })], [], s);
      await runBenchmarks({ plans, engine, store, settings: s, config: {} });
      const deviation = /dataset sharegpt \(ShareGPT_V3_unfiltered_cleaned_split\.json\) not found \(no --dataset-dir given\): random 16\/2 used instead \(--missing-dataset random\)/;

      const table = formatResults(await summarizeResults(store, plans));
      expect(table).toMatch(/dataset substituted/);
      expect(table).toMatch(new RegExp(`ffffffff deviation: ${deviation.source}`));
      const status = await readStoreStatus(store);
      expect(status.deviations).toEqual([{ taskCommit: 'f'.repeat(40), deviation: expect.stringMatching(deviation) as string, trials: 2 }]);
      expect(formatStatus(status)).toMatch(/deviations from the perf command \(1\)/);

      const rows = await buildDatasetRows(store);
      expect(rows).toHaveLength(1);
      expect((JSON.parse(String(rows[0]?.config)) as { deviations: string[] }).deviations.join('\n')).toMatch(deviation);
      const report = await buildReport(rows);
      expect(report.markdown).toMatch(/Rows measured with a deviation from their perf command .* \(1\): ffffffff .*: dataset sharegpt/);
    } finally {
      await engine.cleanup();
      await store.close();
    }
  }, 60_000);
});

describe('the catalog says where its dataset files are', () => {
  it('dataset_dir at the top or on a task, relative to the catalog file; run --dataset-dir wins', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data'));
    mkdirSync(path.join(dir, 'other'));
    writeFileSync(path.join(dir, 'data', 'ShareGPT_V3_unfiltered_cleaned_split.json'), '[]');
    writeFileSync(path.join(dir, 'other', 'ShareGPT_V3_unfiltered_cleaned_split.json'), '[]');
    const perf = 'python benchmarks/benchmark_serving.py --model m/rec --dataset-name sharegpt --num-prompts 2';
    const catalog = path.join(dir, 'tasks.yaml');
    writeFileSync(
      catalog,
      ['version: 1', 'dataset_dir: data', 'tasks:', `  - { commit: "${'1'.repeat(40)}", parent: "${'2'.repeat(40)}", perf_command: "${perf}" }`, `  - { commit: "${'3'.repeat(40)}", parent: "${'4'.repeat(40)}", perf_command: "${perf}", dataset_dir: other }`].join('\n'),
    );
    const tasks = await loadCatalog(catalog);
    expect(tasks.map((t) => t.dataset_dir)).toEqual([path.join(dir, 'data'), path.join(dir, 'other')]);
    const plans = planRun(tasks, [], settings());
    expect(plans.map((p) => p.workload?.config.datasetPath)).toEqual([path.join(dir, 'data', 'ShareGPT_V3_unfiltered_cleaned_split.json'), path.join(dir, 'other', 'ShareGPT_V3_unfiltered_cleaned_split.json')]);
    const mine = planRun(tasks, [], settings({ datasetDir: path.join(dir, 'data') }));
    expect(mine.map((p) => p.workload?.config.datasetPath)).toEqual([path.join(dir, 'data', 'ShareGPT_V3_unfiltered_cleaned_split.json'), path.join(dir, 'data', 'ShareGPT_V3_unfiltered_cleaned_split.json')]);
  });
});

describe('engine faults are named, not internal_error', () => {
  it('a workload with no tokenizer is tokenizer_unavailable; a dataset file that is not JSON is task_invalid', async () => {
    // m/rec is in no Hugging Face cache and no npm package: without the server's /tokenize nothing counts tokens.
    const { trial } = await runOnRecorder(BASE, {}, '--no-tokenize');
    expect(trial?.failure?.code).toBe('tokenizer_unavailable');
    expect(trial?.failure?.evidence).toMatch(/no tokenizer for model m\/rec: .*\/tokenize: vllm API: HTTP 404/);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'ShareGPT_V3_unfiltered_cleaned_split.json'), '{ not json');
    const sharegpt = await runOnRecorder('python benchmarks/benchmark_serving.py --model m/rec --dataset-name sharegpt --num-prompts 2', { datasetDir: dir });
    expect(sharegpt.trial?.failure?.code).toBe('task_invalid');
    expect(sharegpt.trial?.failure?.evidence).toMatch(/ShareGPT_V3_unfiltered_cleaned_split\.json: not JSON/);
  }, 60_000);

  it('a docker engine whose daemon is not there fails the variant with docker_error and the message', async () => {
    const dir = tempDir();
    const store = await openStore(path.join(dir, 'run.sqlite'));
    const engine = createEngine({ kind: 'docker', runId: 'test-docker-gone', dockerHost: `unix://${path.join(dir, 'no-docker.sock')}`, workDir: path.join(dir, 'work') });
    try {
      const s = settings({ trials: 1, variants: ['baseline'], oomFallbackMaxModelLen: 0 });
      const plans = planRun([task('e', { perf_command: BASE })], [], s);
      await runBenchmarks({ plans, engine, store, settings: s, config: {} });
      const [trial] = await store.listTrials({});
      expect(trial?.failure?.code).toBe('docker_error');
      expect(trial?.failure?.evidence).toMatch(/cannot talk to Docker \(unix:\/\/.*no-docker\.sock\)/);
    } finally {
      await engine.cleanup().catch(() => undefined);
      await store.close();
    }
  }, 60_000);
});

describe('run options of the contract', () => {
  it('--missing-dataset takes refuse or random; a --dataset-dir that is not a directory is exit 2 naming it, before any store', () => {
    const dir = tempDir();
    const catalog = path.join(dir, 'tasks.json');
    writeFileSync(catalog, JSON.stringify({ version: 1, tasks: [{ commit: '7'.repeat(40), parent: '8'.repeat(40), perf_command: BASE }] }));
    const run = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/isobench.js'), 'run', '--tasks', catalog, '--store', path.join(dir, 's.sqlite'), ...args], { encoding: 'utf8' });
    const bad = run('--missing-dataset', 'maybe');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--missing-dataset.*refuse, random/);
    const gone = run('--dataset-dir', path.join(dir, 'nope'));
    expect(gone.status).toBe(2);
    expect(gone.stderr).toMatch(/--dataset-dir: .*nope is not a directory/);
    expect(existsSync(path.join(dir, 's.sqlite'))).toBe(false);
  }, 60_000);
});
