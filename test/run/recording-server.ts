import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createEngine, type Engine } from '../../src/engine/index.js';

/**
 * An OpenAI-compatible stand-in server for the process engine, written at test time so it stays out of the linted
 * sources. Character-level /tokenize and /detokenize (vLLM's shape, BOS id 1); streams one `x` per requested token
 * (`max_tokens`, or for chat the smaller of `max_tokens` and `max_completion_tokens` when given, as servers that
 * honour only one of them would); appends every request body as one JSON line to $RECORD.
 * Misbehaviour for tests: `--extra-tokens N` streams N more tokens than asked; `--ignore-max-completion` makes chat
 * honour `max_tokens` only (llama-server); `--usage-prompt-offset N` reports N more prompt tokens than it received;
 * `--bad-utf8` puts an invalid UTF-8 byte into the first content chunk; `--no-tokenize` has no /tokenize (HTTP 404).
 */
const SOURCE = `import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
const args = process.argv.slice(2);
const arg = (name, def) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const port = arg('--port', 0);
const extra = arg('--extra-tokens', 0);
const promptOffset = arg('--usage-prompt-offset', 0);
const ignoreMaxCompletion = args.includes('--ignore-max-completion');
const badUtf8 = args.includes('--bad-utf8');
const enc = (t, add) => [...(add ? [1] : []), ...[...t].map((c) => c.codePointAt(0))];
const dec = (ids) => ids.filter((i) => i !== 1).map((i) => String.fromCodePoint(i)).join('');
const json = (res, code, obj) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    const url = req.url ?? '';
    if (url === '/health') return res.end('ok');
    if (url === '/v1/models') return json(res, 200, { data: [{ id: 'm' }] });
    const body = raw ? JSON.parse(raw) : {};
    if ((url === '/tokenize' || url === '/detokenize') && args.includes('--no-tokenize')) return json(res, 404, { detail: 'Not Found' });
    if (url === '/tokenize') return json(res, 200, { tokens: enc(body.prompt ?? '', body.add_special_tokens !== false) });
    if (url === '/detokenize') return json(res, 200, { prompt: dec(body.tokens ?? []) });
    if (process.env.RECORD) appendFileSync(process.env.RECORD, JSON.stringify({ url, body }) + '\\n');
    const chat = url.includes('chat');
    const asked = chat ? (ignoreMaxCompletion ? body.max_tokens ?? 1000 : Math.min(body.max_tokens ?? Infinity, body.max_completion_tokens ?? Infinity)) : body.max_tokens;
    const n = asked + extra;
    const promptText = chat ? body.messages[0].content : body.prompt;
    const usage = { prompt_tokens: enc(promptText, true).length + promptOffset, completion_tokens: n };
    if (!body.stream) return json(res, 200, { choices: [chat ? { message: { role: 'assistant', content: 'x'.repeat(n) } } : { text: 'x'.repeat(n) }], usage });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < n; i++) {
      const piece = chat ? { delta: { content: 'x' } } : { text: 'x' };
      let line = 'data: ' + JSON.stringify({ choices: [piece] }) + '\\n\\n';
      if (badUtf8 && i === 0) line = line.replace('x', '\\udfff');
      res.write(badUtf8 && i === 0 ? Buffer.concat([Buffer.from(line.split('\\udfff')[0]), Buffer.from([0xff]), Buffer.from(line.split('\\udfff')[1])]) : line);
    }
    res.write('data: ' + JSON.stringify({ choices: [], usage }) + '\\n\\n');
    res.end('data: [DONE]\\n\\n');
  });
}).listen(port, '127.0.0.1');
`;

/** Writes the recording server into `dir`; returns a process engine whose servers it is and the record file. */
export function recordingEngine(dir: string, serverFlags = ''): { engine: Engine; record: string } {
  const script = path.join(dir, 'recording-server.mjs');
  writeFileSync(script, SOURCE);
  const record = path.join(dir, 'requests.jsonl');
  const engine = createEngine({
    kind: 'process',
    runId: 'test-record',
    serverTemplate: `${process.execPath} ${script} --port {port} ${serverFlags} {server_args}`,
    registryDir: path.join(dir, 'registry'),
    workDir: path.join(dir, 'work'),
    env: { RECORD: record },
    stopGraceMs: 2000,
  });
  return { engine, record };
}
