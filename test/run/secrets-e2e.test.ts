import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataset } from '../../src/dataset/index.js';
import { openStore } from '../../src/store/index.js';
import { readBody, startServer, textChunk, usageChunk, writeTinyTokenizer } from '../loadgen/helpers.js';
import { repoRoot, tempDir } from './helpers.js';

// Realistic tokens, short ones (below the lengths the old patterns needed) and unusual ones no pattern knows.
const REAL_HF = 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567';
const REAL_SK = 'sk-proj-Zx81Qm47Lp09Wd23Rt56Yu78Io90Pa12Sd34Fg56';
const SHORT_HF = 'hf_Zq9x';
const SHORT_SK = 'sk-7Kp2';
const HEADER_TOKEN = 'tok!Q7zz#m';
const ENV_API_KEY = 'q9!Wv-unusual';
const ENV_OTHER = 'pw:Lq3';
const SECRETS = [REAL_HF, REAL_SK, SHORT_HF, SHORT_SK, HEADER_TOKEN, ENV_API_KEY, ENV_OTHER];

const bin = path.join(repoRoot, 'bin/isobench.js');
/** isobench's own environment: a Hub token, an OpenAI key of no known format, another secret-named variable. */
const ENV = { ...process.env, HF_TOKEN: REAL_HF, OPENAI_API_KEY: ENV_API_KEY, MY_SERVICE_PASSWORD: ENV_OTHER, NO_COLOR: '1' };

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function isobench(args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every regular file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** What a store holds, decoded (logs are compressed on disk): tasks, runs, trials, samples and every log. */
async function storeText(location: string): Promise<string> {
  const store = await openStore(location, { create: false });
  try {
    const trials = await store.listTrials();
    const parts: unknown[] = [await store.listTasks(), await store.listRuns(), await store.listVariants(), trials];
    for (const t of trials) parts.push(await store.getLogs(t.id), await store.getSamples(t.id));
    return JSON.stringify(parts);
  } finally {
    await store.close();
  }
}

const TINY = '--dataset-name random --random-input-len 32 --random-output-len 4 --num-prompts 4 --max-concurrency 2 --seed 1';
/** A perf command that runs, with tokens in its environment (the servers get them, and print them). */
const COMMAND = `HF_TOKEN=${REAL_HF} OPENAI_API_KEY=${SHORT_SK} python benchmarks/benchmark_serving.py --model sim/tiny ${TINY}`;
/** Header and token flags the serving script does not take: refused (unsupported_flag), its evidence quotes the command. */
const REFUSED = `HF_TOKEN=${SHORT_HF} python benchmarks/benchmark_serving.py --model sim/tiny ${TINY} --header 'Authorization: Bearer ${HEADER_TOKEN}' --hf-token ${SHORT_HF}`;
/** The same secrets in a command that cannot run (a placeholder number). */
const INVALID = `OPENAI_API_KEY=${REAL_SK} python benchmarks/benchmark_serving.py --model sim/tiny --num-prompts NUM --api-key ${REAL_SK}`;

describe('secrets never reach a file or an output (whole pipeline)', () => {
  it('run (sim and process engines), bench serve against an echoing server, dataset, report, perf-command, tasks check: 0 hits', async () => {
    const dir = tempDir('isobench-secrets-');
    const outputs: Ran[] = [];
    const tasks = path.join(dir, 'tasks.json');
    const catalog = {
      version: 1,
      tasks: [
        { commit: '1'.repeat(40), parent: '2'.repeat(40), subject: 'secrets', perf_command: COMMAND },
        { commit: '3'.repeat(40), parent: '4'.repeat(40), subject: 'refused', perf_command: REFUSED },
        { commit: '5'.repeat(40), parent: '6'.repeat(40), subject: 'invalid', perf_command: INVALID },
      ],
    };
    writeFileSync(tasks, JSON.stringify(catalog));
    // The catalog itself holds the secrets: it is input, not output, and is left out of the grep below.
    const inputs = new Set([tasks]);

    // A server that echoes every request header back: in the generated text and, for one request, in an error.
    let served = 0;
    const seen: string[] = [];
    const { url } = await startServer((req, res) => {
      void (async () => {
        if (req.url === '/v1/models') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ data: [{ id: 'echo-model' }] }));
          return;
        }
        await readBody(req);
        const echo = JSON.stringify(req.headers);
        seen.push(echo);
        if (served++ === 0) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `bad request with headers ${echo}` }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(textChunk(` ${echo}`));
        res.write(textChunk(' done'));
        // The prompt tokens a server with the tiny tokenizer counts: --random-input-len 8 (7 and the BOS).
        res.write(usageChunk(2, 8));
        res.end('data: [DONE]\n\n');
      })();
    });

    // The process engine's servers print their environment and arguments, as real servers often do.
    const wrapper = path.join(dir, 'server.mjs');
    writeFileSync(
      wrapper,
      [
        "import { spawn } from 'node:child_process';",
        'console.log(`env HF_TOKEN=${process.env.HF_TOKEN} OPENAI_API_KEY=${process.env.OPENAI_API_KEY} MY_SERVICE_PASSWORD=${process.env.MY_SERVICE_PASSWORD}`);',
        "console.log('argv', process.argv.slice(2).join(' '));",
        `const c = spawn(process.execPath, [${JSON.stringify(bin)}, 'sim', 'serve', '--model', process.argv[2], '--port', process.argv[3], '--decode-base-ms', '2'], { stdio: 'inherit' });`,
        "for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => c.kill(s));",
        'c.on(\'exit\', (code) => process.exit(code ?? 1));',
      ].join('\n'),
    );
    const engine = path.join(dir, 'engine.json');
    writeFileSync(
      engine,
      JSON.stringify({
        serverTemplate: `${process.execPath} ${wrapper} {model} {port} {server_args}`,
        execTemplate: `${process.execPath} ${bin} sim bench {script} {args}`,
        registryDir: path.join(dir, 'registry'),
        workDir: path.join(dir, 'work'),
        stopGraceMs: 2000,
      }),
    );
    inputs.add(wrapper);
    const simStore = path.join(dir, 'sim.sqlite');
    const processStore = path.join(dir, 'process.sqlite');
    const common = ['--trials', '1', '--warmups', '1', '--json-events', '--oom-fallback-max-model-len', '0'];

    outputs.push(await isobench(['run', '--tasks', tasks, '--store', simStore, '--variants', 'baseline,human', ...common], dir));
    expect(outputs.at(-1)?.code, outputs.at(-1)?.stderr).toBe(0);
    outputs.push(await isobench(['run', '--tasks', tasks, '--engine', 'process', '--engine-config', engine, '--store', processStore, '--variants', 'baseline', '--timeout-startup', '90', ...common], dir));
    expect(outputs.at(-1)?.code, outputs.at(-1)?.stderr).toBe(0);

    const tokenizer = writeTinyTokenizer();
    outputs.push(
      await isobench(
        ['bench', 'serve', '--base-url', url, '--tokenizer', tokenizer, '--dataset-name', 'random', '--random-input-len', '8', '--random-output-len', '2', '--num-prompts', '4', '--header', `X-Custom-Auth=${HEADER_TOKEN}`, `X-Api-Key=${SHORT_SK}`, '--save-result', '--save-detailed', '--result-dir', path.join(dir, 'bench'), '--disable-tqdm'],
        dir,
      ),
    );
    expect(outputs.at(-1)?.code, outputs.at(-1)?.stderr).toBe(0);
    // The server did get (and echo) the secrets: what follows proves they were removed, not never sent.
    expect(seen.join('\n')).toContain(HEADER_TOKEN);
    expect(seen.join('\n')).toContain(ENV_API_KEY);

    for (const [store, out] of [[simStore, 'ds-sim'], [processStore, 'ds-process']] as const) {
      outputs.push(await isobench(['dataset', 'build', '--store', store, '--out', path.join(dir, out)], dir));
      expect(outputs.at(-1)?.code, outputs.at(-1)?.stderr).toBe(0);
      outputs.push(await isobench(['report', '--store', store, '--out', path.join(dir, `report-${out}`)], dir));
      expect(outputs.at(-1)?.code, outputs.at(-1)?.stderr).toBe(0);
    }
    for (const json of [[], ['--json']]) {
      outputs.push(await isobench(['perf-command', COMMAND, ...json], dir));
      outputs.push(await isobench(['perf-command', REFUSED, ...json], dir));
      outputs.push(await isobench(['perf-command', INVALID, ...json], dir));
      outputs.push(await isobench(['tasks', 'check', tasks, ...json], dir));
    }

    const texts: [string, string][] = outputs.map((o, i) => [`output ${i}`, `${o.stdout}\n${o.stderr}`]);
    for (const f of filesUnder(dir)) if (!inputs.has(f)) texts.push([f, readFileSync(f).toString('latin1')]);
    texts.push(['sim store, decoded', await storeText(simStore)], ['process store, decoded', await storeText(processStore)]);
    for (const out of ['ds-sim', 'ds-process']) texts.push([out, JSON.stringify(await readDataset(path.join(dir, out, 'data/train-00000-of-00001.parquet')))]);

    // The pipeline really ran: trials, server logs, bench output, rows.
    expect(texts.find(([f]) => f === 'process store, decoded')?.[1].includes('argv')).toBe(true);
    expect(texts.find(([f]) => f === 'sim store, decoded')?.[1].includes('"status":"ok"')).toBe(true);
    expect(texts.find(([f]) => f === 'sim store, decoded')?.[1].includes('unsupported_flag')).toBe(true);
    expect(outputs[2]?.stdout.includes('Successful requests:')).toBe(true);

    const hits = texts.flatMap(([where, text]) => SECRETS.filter((s) => text.includes(s)).map((s) => `${where}: ${s}`));
    expect(hits).toEqual([]);
  }, 300_000);
});
