/**
 * Load generator accuracy and capacity against the simulator's exact mode (a separate process), which emits chunks on
 * a fixed schedule and records when it sent each one. Prints a table; asserts nothing.
 *
 *   npm run bench:loadgen
 *
 * Columns: achieved content chunks/s; client ITL and TTFT error against the server's recorded send times (|client gap -
 * server gap| per chunk gap; client arrival - server send for the first chunk), mean and p99; client CPU per chunk;
 * and the arrival-schedule error (dispatch time - planned time) at a fixed Poisson rate. Each stream row is followed by
 * the same streams read by a raw node:net reference client, and the Poisson row by the arrival clock alone, so the
 * table shows what this machine and the sim allow next to what our client does; GC pauses and each process's
 * run-queue wait say how much of the error is garbage collection and CPU contention, and a probe thread that only
 * sleeps 1 ms at a time shows how late the machine wakes a thread with no work at all. `-- LABEL` runs matching rows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import vm from 'node:vm';
import { request } from 'undici';
import { SseParser, defaultServeBenchConfig, defaultWorkloadConfig, mean, percentiles, planArrivals, runServeBenchmark, startArrivalClock, type ServeBenchResult, type Workload } from '../src/loadgen/index.js';
import { runRawStreams } from './raw-sse-client.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface SimRecord {
  key: string;
  /** When the sim had read the request (epoch ms). */
  receivedMs: number;
  chunkMs: number[];
}

function startSim(intervalMs: number, extra: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'bin/isobench.js'), 'sim', 'serve', '--port', '0', '--startup-delay-ms', '0', '--exact', '--exact-first-ms', '20', '--exact-interval-ms', String(intervalMs), ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /Uvicorn running on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`sim exited with ${code}: ${out.slice(-2000)}`)));
  });
}

/** The sim's chunk send times (epoch ms) per x-request-id, with the time it received each request first. */
async function simRecords(url: string): Promise<Map<string, number[]> & { receivedMs: Map<string, number> }> {
  const res = await request(`${url}/sim/records`);
  const body = (await res.body.json()) as { records: SimRecord[] };
  await (await request(`${url}/sim/records`, { method: 'DELETE' })).body.dump();
  return Object.assign(new Map(body.records.map((r) => [r.key, r.chunkMs])), { receivedMs: new Map(body.records.map((r) => [r.key, r.receivedMs])) });
}

/**
 * TTFT excess per request: the client's TTFT (send → first chunk) less the server's (request received → first chunk
 * sent), i.e. what the client adds: connecting, the listen backlog, sending, reading. A ground truth for the TTFT.
 */
function ttftExcess(clientSendMs: Map<string, number>, client: Map<string, number[]>, records: Awaited<ReturnType<typeof simRecords>>): number[] {
  const out: number[] = [];
  for (const [key, got] of client) {
    const sent = clientSendMs.get(key);
    const received = records.receivedMs.get(key);
    const first = records.get(key)?.[0];
    if (sent === undefined || received === undefined || first === undefined || got.length === 0) continue;
    out.push(got[0]! - sent - (first - received));
  }
  return out;
}

function workload(n: number, maxTokens: number): Workload {
  return {
    config: defaultWorkloadConfig({ numPrompts: n }),
    tokenizerId: 'bench',
    requests: Array.from({ length: n }, (_, index) => ({ index, prompt: 'ba be bi bo bu', promptTokens: 5, maxTokens, serverPromptTokens: 5 })),
  };
}

interface Row {
  label: string;
  streams: number;
  peakConcurrent: number;
  chunksPerS: number;
  itlErr: [number, number];
  ttftErr: [number, number];
  /** Client TTFT less server TTFT (mean, p99, max), ms. */
  ttftExcess: [number, number, number];
  /** Connections opened before the clock, and their connect time (mean, max), ms. */
  preconnect: [number, number, number];
  cpuUsPerChunk: number;
  failed: number;
  watched: Watched;
  schedErr: [number, number] | null;
}

/** Client arrival times (epoch ms) of every content chunk of the successful requests, keyed by x-request-id. */
function clientTimes(r: ServeBenchResult, prefix: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of r.samples) {
    if (!s.ok || s.ttftMs === null) continue;
    let t = r.startEpochMs + s.startMs + s.ttftMs;
    const times = [t];
    for (const gap of s.itlMs) times.push((t += gap));
    out.set(`${prefix}${s.index}`, times);
  }
  return out;
}

/** Client-vs-server errors in ms: |client gap - server gap| per chunk gap; client arrival - server send of chunk 1. */
function accuracy(client: Map<string, number[]>, records: Map<string, number[]>): { itl: number[]; ttft: number[]; chunks: number } {
  const itl: number[] = [];
  const ttft: number[] = [];
  let chunks = 0;
  for (const [key, got] of client) {
    chunks += got.length;
    const sent = records.get(key);
    if (!sent || sent.length !== got.length || got.length === 0) continue;
    ttft.push(got[0]! - sent[0]!);
    for (let k = 1; k < got.length; k++) itl.push(Math.abs(got[k]! - got[k - 1]! - (sent[k]! - sent[k - 1]!)));
  }
  return { itl, ttft, chunks };
}

v8.setFlagsFromString('--expose-gc');
const fullGc = vm.runInNewContext('gc') as () => void;

/** Run-queue wait (ms) of a process's main thread so far, from Linux's /proc/PID/schedstat; NaN elsewhere. */
function runqWaitMs(pid: number | 'self'): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return NaN;
  }
}

interface Watched {
  gc: { totalMs: number; maxMs: number };
  /** ms the client's and the sim's main threads were runnable but waited for a core (CPU contention). */
  runqMs: [number, number];
  /** How late a thread that only sleeps 1 ms at a time woke: the machine's floor for any timestamp taken here. */
  probe: { over1ms: number; p99: number; max: number };
}

/**
 * A thread in this process that does nothing but sleep 1 ms at a time and record how late it woke. It has no work of
 * ours to queue behind, so its lateness is what the machine (scheduler, virtual CPUs, the sim next door) imposes.
 */
const PROBE_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
// utime + stime of this thread, in clock ticks (1/100 s), so the row's CPU per chunk can leave the probe out.
const ticks = () => { const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const ticks0 = ticks();
const { performance } = require('node:perf_hooks');
const flag = new Int32Array(workerData, 0, 2);
const late = new Float64Array(workerData, 8);
let k = 0;
while (Atomics.load(flag, 0) === 0) {
  const t0 = performance.now();
  Atomics.wait(flag, 0, 0, 1);
  late[k % late.length] = performance.now() - t0 - 1;
  k++;
  Atomics.store(flag, 1, Math.min(k, late.length));
}
parentPort.postMessage((ticks() - ticks0) * 10000);
`;

/** Starts the probe; the returned function stops it and gives its lateness and its own CPU time (µs). */
function startProbe(): () => Promise<Watched['probe'] & { cpuUs: number }> {
  const sab = new SharedArrayBuffer(8 + 8 * 50_000);
  const flag = new Int32Array(sab, 0, 2);
  const worker = new Worker(PROBE_SOURCE, { eval: true, workerData: sab });
  const cpuUs = new Promise<number>((resolve) => worker.once('message', resolve));
  return async () => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const late = [...new Float64Array(sab, 8, Atomics.load(flag, 1))];
    const cpu = await cpuUs;
    await worker.terminate();
    return { over1ms: late.filter((l) => l > 1).length, p99: percentiles(late, [99])[0] ?? NaN, max: Math.max(...late), cpuUs: cpu };
  };
}

/**
 * Runs one row's work while watching it: the CPU it took (this process, less the probe thread), this process's GC
 * pauses (sum and longest, ms), how long the client and the sim waited for a core, and the probe's lateness: the
 * things besides our code that delay a chunk's timestamp.
 */
async function observe<T>(simPid: number | undefined, work: () => Promise<T>): Promise<{ value: T; cpuUs: number; watched: Watched }> {
  // The previous row's garbage is collected here, not during (and charged to) this row.
  fullGc();
  let totalMs = 0;
  let maxMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      totalMs += e.duration;
      maxMs = Math.max(maxMs, e.duration);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const self0 = runqWaitMs('self');
  const sim0 = simPid === undefined ? NaN : runqWaitMs(simPid);
  const stopProbe = startProbe();
  const cpu0 = process.cpuUsage();
  const value = await work();
  const cpu = process.cpuUsage(cpu0);
  obs.disconnect();
  const runqMs: [number, number] = [runqWaitMs('self') - self0, simPid === undefined ? NaN : runqWaitMs(simPid) - sim0];
  const { cpuUs: probeCpuUs, ...probe } = await stopProbe();
  return { value, cpuUs: cpu.user + cpu.system - probeCpuUs, watched: { gc: { totalMs, maxMs }, runqMs, probe } };
}

/** The sim process behind each URL, for its run-queue wait. */
const simPids = new Map<string, number>();

const stat = (xs: number[]): [number, number] => [mean(xs), percentiles(xs, [99])[0]!];
const stat3 = (xs: number[]): [number, number, number] => [...stat(xs), xs.length > 0 ? Math.max(...xs) : NaN];

async function measure(url: string, label: string, streams: number, n: number, maxTokens: number, requestRate = Infinity, preconnect = true): Promise<Row> {
  const prefix = `b${streams}-${Date.now()}-`;
  const cfg = defaultServeBenchConfig({ baseUrl: url, model: 'sim-model', maxConcurrency: streams, ignoreEos: true, requestRate, requestIdPrefix: prefix, requestTimeoutMs: 60_000, preconnect });
  const { value: r, cpuUs, watched } = await observe(simPids.get(url), () => runServeBenchmark(cfg, workload(n, maxTokens)));
  const records = await simRecords(url);
  const client = clientTimes(r, prefix);
  const acc = accuracy(client, records);
  const sendMs = new Map(r.samples.map((s) => [`${prefix}${s.index}`, r.startEpochMs + s.startMs]));
  return {
    label: preconnect ? label : `${label} (connections opened in the timed phase, as before)`,
    ttftExcess: stat3(ttftExcess(sendMs, client, records)),
    preconnect: [r.connectMs.length, mean(r.connectMs), r.connectMs.length > 0 ? Math.max(...r.connectMs) : NaN],
    streams,
    peakConcurrent: r.measurement.totals.peakConcurrentRequests,
    chunksPerS: acc.chunks / r.measurement.totals.durationS,
    itlErr: stat(acc.itl),
    ttftErr: stat(acc.ttft),
    cpuUsPerChunk: cpuUs / Math.max(1, acc.chunks),
    failed: r.measurement.totals.failed,
    watched,
    schedErr: requestRate === Infinity ? null : stat(r.scheduleLagMs),
  };
}

/** The same streams read by the raw node:net reference client (benchmarks/raw-sse-client.ts). */
async function measureRaw(url: string, label: string, streams: number, n: number, maxTokens: number): Promise<Row> {
  const prefix = `r${streams}-${Date.now()}-`;
  const { value: r, cpuUs, watched } = await observe(simPids.get(url), () => runRawStreams(url, streams, n, maxTokens, prefix));
  const records = await simRecords(url);
  const acc = accuracy(r.times, records);
  const failed = [...r.times.values()].filter((t) => t.length !== maxTokens).length;
  return {
    label: `${label} (reference: raw node:net)`,
    ttftExcess: stat3(ttftExcess(r.sentMs, r.times, records)),
    preconnect: [NaN, NaN, NaN],
    streams,
    peakConcurrent: Math.min(streams, n),
    chunksPerS: acc.chunks / r.durationS,
    itlErr: stat(acc.itl),
    ttftErr: stat(acc.ttft),
    cpuUsPerChunk: cpuUs / Math.max(1, acc.chunks),
    failed,
    watched,
    schedErr: null,
  };
}

/** The arrival clock's floor: the same Poisson plan fired by the clock alone, sending nothing. */
async function scheduleOnly(n: number, requestRate: number): Promise<Row> {
  const plan = planArrivals(n, defaultServeBenchConfig({ baseUrl: 'http://127.0.0.1:1', model: 'x', requestRate }));
  const lag: number[] = [];
  const { cpuUs, watched } = await observe(undefined, async () => {
    let start = 0;
    const clock = await startArrivalClock(plan.offsetsMs, (i) => lag.push(performance.now() - (start + plan.offsetsMs[i]!)));
    start = clock.start;
    await clock.finished;
    await clock.stop();
  });
  const nan: [number, number] = [NaN, NaN];
  return {
    label: `${requestRate} req/s Poisson (reference: arrival clock alone, no requests)`,
    streams: 0,
    peakConcurrent: 0,
    chunksPerS: 0,
    itlErr: nan,
    ttftErr: nan,
    ttftExcess: [NaN, NaN, NaN],
    preconnect: [NaN, NaN, NaN],
    cpuUsPerChunk: cpuUs / n,
    failed: 0,
    watched,
    schedErr: stat(lag),
  };
}

/** Reference measured in the same run: CPU per chunk of SSE parsing + JSON.parse alone, no network. */
function parserOnlyUsPerChunk(): number {
  const chunk = Buffer.from(`data: ${JSON.stringify({ id: 'cmpl-1', object: 'text_completion', model: 'sim-model', choices: [{ index: 0, text: ' beko', finish_reason: null }] })}\n\n`);
  let n = 0;
  const p = new SseParser((d) => {
    const o = JSON.parse(d) as { choices: { text: string }[] };
    if (o.choices[0]!.text) n++;
  });
  const count = 200_000;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) p.push(chunk, performance.now());
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / Math.max(1, n);
}

function fmt(x: number, d = 2): string {
  return Number.isNaN(x) ? '-' : x.toFixed(d);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  // `backlog` listens with Node's default backlog (511; uvicorn's is 2048; BACKLOG=n sets another), where a burst of
  // connects can overflow it.
  const backlogLen = process.env.BACKLOG ?? '511';
  const [fast, faster, slow, backlog] = await Promise.all([startSim(10), startSim(3), startSim(50), startSim(50, ['--listen-backlog', backlogLen])]);
  for (const sim of [fast, faster, slow, backlog]) if (sim.child.pid !== undefined) simPids.set(sim.url, sim.child.pid);
  const rows: Row[] = [];
  try {
    const runs: [string, string, number, number, number][] = [
      [fast.url, 'c16, 10 ms interval', 16, 32, 200],
      [fast.url, 'c64, 10 ms interval', 64, 128, 200],
      // 20,000+ chunks/s in bursts of 64 (the sim sends every stream's chunk of a step together, as vLLM does).
      [faster.url, 'c64, 3 ms interval', 64, 128, 600],
      [fast.url, 'c256, 10 ms interval', 256, 512, 150],
      [slow.url, 'c1024, 50 ms interval', 1024, 1024, 60],
    ];
    // `npm run -s bench:loadgen -- c256` runs only the rows whose label contains the argument.
    const only = process.argv[2] ?? '';
    for (const [url, label, streams, n, maxTokens] of runs.filter((r) => r[1].includes(only))) {
      rows.push(await measure(url, label, streams, n, maxTokens));
      rows.push(await measureRaw(url, label, streams, n, maxTokens));
    }
    // Connection bursts against a listen backlog of 511: pre-opened connections, then opened inside the timed phase
    // (isobench before), then the raw reference (which connects before its first send).
    for (const streams of [1024, 2048]) {
      const label = `c${streams} backlog ${backlogLen}, 50 ms interval`;
      if (!label.includes(only)) continue;
      rows.push(await measure(backlog.url, label, streams, streams, 40));
      rows.push(await measure(backlog.url, label, streams, streams, 40, Infinity, false));
      rows.push(await measureRaw(backlog.url, label, streams, streams, 40));
    }
    if ('500 req/s Poisson'.includes(only)) {
      rows.push(await measure(fast.url, '500 req/s Poisson, 4 tokens', 1024, 2000, 4, 500));
      rows.push(await scheduleOnly(2000, 500));
    }
  } finally {
    for (const sim of [fast, faster, slow, backlog]) sim.child.kill('SIGTERM');
  }
  const header = ['run', 'streams', 'peak in flight', 'chunks/s', 'ITL err mean', 'ITL err p99', 'TTFT err mean', 'TTFT err p99', 'TTFT excess mean', 'TTFT excess p99', 'TTFT excess max', 'preopened conns', 'connect ms mean', 'connect ms max', 'CPU µs/chunk', 'GC ms total', 'GC ms max', 'runq wait ms client', 'runq wait ms sim', 'probe late p99', 'probe late max', 'probe wakes > 1 ms late', 'failed', 'sched err mean', 'sched err p99'];
  const lines = rows.map((r) => [
    r.label,
    String(r.streams),
    String(r.peakConcurrent),
    fmt(r.chunksPerS, 0),
    fmt(r.itlErr[0], 3),
    fmt(r.itlErr[1], 3),
    fmt(r.ttftErr[0], 3),
    fmt(r.ttftErr[1], 3),
    fmt(r.ttftExcess[0], 2),
    fmt(r.ttftExcess[1], 2),
    fmt(r.ttftExcess[2], 1),
    Number.isNaN(r.preconnect[0]) ? '-' : String(r.preconnect[0]),
    fmt(r.preconnect[1], 2),
    fmt(r.preconnect[2], 1),
    fmt(r.cpuUsPerChunk, 1),
    fmt(r.watched.gc.totalMs, 0),
    fmt(r.watched.gc.maxMs, 1),
    fmt(r.watched.runqMs[0], 0),
    fmt(r.watched.runqMs[1], 0),
    fmt(r.watched.probe.p99, 3),
    fmt(r.watched.probe.max, 1),
    String(r.watched.probe.over1ms),
    String(r.failed),
    r.schedErr ? fmt(r.schedErr[0], 3) : '-',
    r.schedErr ? fmt(r.schedErr[1], 3) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const show = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(show(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(show(l));
  console.log('\nerrors in ms; targets (2 cores): ITL err p99 < 1 ms at >= 20,000 chunks/s; no cap below 1,000 streams; sched err p99 < 1 ms at 500 req/s');
  console.log(`reference: SSE parse + JSON.parse alone ${fmt(parserOnlyUsPerChunk(), 2)} µs CPU per chunk (same process, no network)`);
  console.log(`node ${process.version}, ${Math.round((Date.now() - t0) / 1000)} s total`);
}

await main();
