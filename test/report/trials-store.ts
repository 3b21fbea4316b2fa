import { seededRandom } from '../../src/analysis/index.js';
import { openStore, type SampleRecord, type TrialRecord, type VariantRecord } from '../../src/store/index.js';

/**
 * A serving task measured in 5 interleaved rounds: baseline, baseline′ (--aa), human (~10% faster TTFT), an agent 20×
 * slower; `--trials auto` stopped it there (settled, 5 of 10 rounds).
 */
export const TRIALS_COMMIT = 'cd'.repeat(20);
export const TRIALS_ROUNDS = 5;
export const ORDER_SEED = 4242;
const RUN = 'run-trials';

export const VARIANTS: VariantRecord[] = [
  { id: `${TRIALS_COMMIT}:baseline`, taskCommit: TRIALS_COMMIT, kind: 'baseline', agentName: null, agentModel: null, patchSha256: null, patchText: null },
  { id: `${TRIALS_COMMIT}:baseline:aa`, taskCommit: TRIALS_COMMIT, kind: 'baseline', agentName: null, agentModel: null, patchSha256: null, patchText: null },
  { id: `${TRIALS_COMMIT}:human`, taskCommit: TRIALS_COMMIT, kind: 'human', agentName: null, agentModel: null, patchSha256: null, patchText: null },
  {
    id: `${TRIALS_COMMIT}:agent:slowbot:m2:111111111111`,
    taskCommit: TRIALS_COMMIT,
    kind: 'agent',
    agentName: 'slowbot',
    agentModel: 'm2',
    patchSha256: '1'.repeat(64),
    patchText: 'diff --git a/y b/y\n',
  },
];

/** TTFT scale of each variant (by index in VARIANTS): the agent's is 20× the baseline's (an improvement near -1900%). */
const TTFT_SCALE = [1, 1, 0.9, 20];

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const meanOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function samplesOf(trialId: string, scale: number, random: () => number): SampleRecord[] {
  const out: SampleRecord[] = [];
  for (let i = 0; i < 40; i++) {
    const ttft = 50 * scale * (0.8 + 0.4 * random());
    const itl = Array.from({ length: 15 }, () => 8 + 4 * random());
    out.push({ trialId, index: i, ok: true, startMs: i * 10, ttftMs: ttft, e2elMs: ttft + itl.reduce((a, b) => a + b, 0), itlMs: itl, promptTokens: 128, outputTokens: 16, error: null });
  }
  return out;
}

function metricsOf(samples: readonly SampleRecord[]): Record<string, number> {
  const series: Record<string, number[]> = {
    ttft: samples.map((s) => s.ttftMs ?? 0),
    tpot: samples.map((s) => ((s.e2elMs ?? 0) - (s.ttftMs ?? 0)) / (s.outputTokens - 1)),
    itl: samples.flatMap((s) => s.itlMs),
    e2el: samples.map((s) => s.e2elMs ?? 0),
  };
  const m: Record<string, number> = {};
  for (const [k, xs] of Object.entries(series)) {
    m[`${k}_mean`] = meanOf(xs);
    m[`${k}_median`] = pct(xs, 50);
    m[`${k}_p90`] = pct(xs, 90);
    m[`${k}_p99`] = pct(xs, 99);
  }
  const duration = Math.max(...samples.map((s) => s.startMs + (s.e2elMs ?? 0))) / 1000;
  m.request_throughput = samples.length / duration;
  m.output_throughput = (samples.length * 16) / duration;
  m.total_token_throughput = (samples.length * (16 + 128)) / duration;
  return m;
}

/**
 * Writes the task into a new SQLite store at `file`; every trial with its 40 request samples. `minRounds`: the stop
 * row's --min-trials (store schema 9; without it the stop row is one written before, which the interval at the stop
 * cannot use).
 */
export async function writeTrialsStore(file: string, opts: { minRounds?: number } = {}): Promise<void> {
  const store = await openStore(file);
  const random = seededRandom(7);
  try {
    await store.upsertTask({
      commit: TRIALS_COMMIT,
      parent: 'ef'.repeat(20),
      subject: '[Perf] A faster prefill path',
      repo: 'vllm-project/vllm',
      files_changed: [],
      models: ['facebook/opt-125m'],
      perf_command: 'vllm bench serve --model facebook/opt-125m --random-input-len 1024 --random-output-len 16',
      benchmark_mode: 'serving',
    });
    await store.createRun({ id: RUN, startedAt: '2026-01-01T00:00:00Z', finishedAt: null, status: 'running', engine: 'sim', host: 'test', config: {} });
    for (const v of VARIANTS) await store.upsertVariant(v);
    for (let round = 1; round <= TRIALS_ROUNDS; round++) {
      for (const [k, v] of VARIANTS.entries()) {
        const id = `${v.id}#${round}`;
        const samples = samplesOf(id, TTFT_SCALE[k]!, random);
        const trial: TrialRecord = {
          id,
          trialKey: `${v.id}#cfg1#${round}`,
          configKey: 'cfg1',
          runId: RUN,
          variantId: v.id,
          taskCommit: TRIALS_COMMIT,
          trialIndex: round,
          // Rotations: each variant runs once in every position over 4 rounds.
          position: ((k + round - 1) % VARIANTS.length) + 1,
          orderSeed: ORDER_SEED,
          mode: 'serving',
          status: 'ok',
          failure: null,
          metrics: metricsOf(samples),
          deviations: [],
          correctness: null,
          engine: 'sim',
          host: 'test',
          dataSource: 'isobench',
          model: 'facebook/opt-125m',
          command: null,
          workloadHash: 'w1',
          startedAt: '2026-01-01T00:00:00Z',
          finishedAt: `2026-01-01T00:0${round}:00Z`,
          durationS: 10,
        };
        await store.saveTrial(trial, samples, []);
      }
    }
    // `--trials auto` stopped the configuration at round 5 of 10: 4 variants × 5 trials × 10 s of 4 × 10 × 10 s.
    await store.saveTaskStop({
      taskCommit: TRIALS_COMMIT,
      configKey: 'cfg1',
      runId: RUN,
      primaryMetric: 'ttft_mean',
      reason: 'settled',
      rounds: TRIALS_ROUNDS,
      maxRounds: 10,
      ...(opts.minRounds === undefined ? {} : { minRounds: opts.minRounds }),
      looks: 2,
      alphaSpent: 0.0125,
      gpuSeconds: 200,
      gpuSecondsAtMax: 400,
      decidedAt: '2026-01-01T00:06:00Z',
    });
    await store.finishRun(RUN, 'finished', '2026-01-01T01:00:00Z');
  } finally {
    await store.close();
  }
}
