/**
 * Capacity of the sim server in exact mode: N concurrent streams, one chunk every I ms each, server in its own
 * process (one core). Prints achieved chunks/s, the server's lateness against its fixed schedule (from its own
 * records) and server CPU per chunk. Not a test: it prints numbers, the reference being the planned rate.
 *
 *   npx tsx benchmarks/sim.ts            # default table
 *   npx tsx benchmarks/sim.ts 1024:20    # streams:interval_ms pairs
 *   npx tsx benchmarks/sim.ts --nice     # as root: run server and client at nice -10 on a loaded machine
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { defaultSimProfile, startSimServer, type SimRecord } from '../src/sim/index.js';

const CHUNKS_PER_STREAM = 100;

async function child(): Promise<void> {
  const server = await startSimServer({ ...defaultSimProfile, model: 'm', exact: true, exact_first_ms: 50, exact_interval_ms: Number(process.env.SIM_INTERVAL ?? 10) }, { port: 0 });
  process.stdout.write(`URL ${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

function percentile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]!) - sorted[lo]!) * (pos - lo);
}

async function runConfig(streams: number, intervalMs: number): Promise<string> {
  const proc = spawn(process.execPath, [...(process.env.SIM_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SIM_CPU_PROF}`] : []), '--import', 'tsx', fileURLToPath(import.meta.url), '--child'], { env: { ...process.env, SIM_INTERVAL: String(intervalMs) }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /URL (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      proc.on('exit', () => reject(new Error('sim child exited')));
    });
    // --nice: raise the server's (and this client's) priority so a shared, loaded machine does not starve them.
    if (process.argv.includes('--nice')) {
      setPriority(proc.pid!, -10);
      setPriority(-10);
    }
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
    const body = JSON.stringify({ model: 'm', prompt: 'ba be bi', max_tokens: CHUNKS_PER_STREAM, ignore_eos: true, stream: true });
    const ticks0 = cpuTicks(proc.pid!);
    const t0 = performance.now();
    await Promise.all(
      Array.from(
        { length: streams },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const req = request(`${url}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-request-id': `s${i}` } }, (res) => {
              res.on('data', () => undefined);
              res.on('end', resolve);
              res.on('error', reject);
            });
            req.on('error', reject);
            req.end(body);
          }),
      ),
    );
    const wall = (performance.now() - t0) / 1000;
    const cpu = (cpuTicks(proc.pid!) - ticks0) / 100;
    const records = await new Promise<SimRecord[]>((resolve, reject) => {
      request(`${url}/sim/records`, { agent }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve((JSON.parse(text) as { records: SimRecord[] }).records));
      })
        .on('error', reject)
        .end();
    });
    agent.destroy();
    const all = records.flatMap((r) => r.chunkMs);
    const late = records.flatMap((r) => r.chunkMs.map((t, i) => t - (r.receivedMs + 50 + i * intervalMs))).sort((a, b) => a - b);
    const first = Math.min(...all);
    const last = Math.max(...all);
    const rate = all.length / ((last - first) / 1000);
    const planned = (streams * 1000) / intervalMs;
    return `| ${streams} | ${intervalMs} | ${planned.toFixed(0)} | ${rate.toFixed(0)} | ${all.length} | ${percentile(late, 0.5).toFixed(2)} | ${percentile(late, 0.99).toFixed(2)} | ${((cpu / all.length) * 1e6).toFixed(1)} | ${((cpu / wall) * 100).toFixed(0)}% |`;
  } finally {
    proc.kill('SIGTERM');
  }
}

if (process.argv.includes('--child')) {
  await child();
} else {
  const given = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const configs = given.length > 0 ? given : ['16:1', '256:10', '1024:40', '1024:20'];
  console.log(`sim exact mode, ${CHUNKS_PER_STREAM} chunks per stream, server in its own process`);
  console.log('| streams | interval ms | planned chunks/s | achieved chunks/s | chunks | lateness p50 ms | lateness p99 ms | server CPU µs/chunk | server CPU |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const c of configs) {
    const [s, i] = c.split(':').map(Number);
    console.log(await runConfig(s!, i!));
  }
}
