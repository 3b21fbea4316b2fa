/** vLLM's log prefix, e.g. `INFO 11-24 06:12:14 [api_server.py:1077] `. */
export function vllmPrefix(level: 'INFO' | 'WARNING' | 'ERROR', source: string, at = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())}`;
  return `${level} ${stamp} [${source}] `;
}

/** Bytes of KV cache per token of a Llama-3-8B-like model in bf16 (32 layers x 8 KV heads x 128 x 2 x 2 bytes). */
const KV_BYTES_PER_TOKEN = 131_072;

/** vLLM V1's error line when max_model_len does not fit the KV cache (the sim's engine reports itself as V1). */
export function kvCacheOomLine(maxModelLen: number, capacity: number): string {
  const gib = (tokens: number) => ((tokens * KV_BYTES_PER_TOKEN) / 2 ** 30).toFixed(2);
  return (
    `ValueError: To serve at least one request with the models's max seq len (${maxModelLen}), (${gib(maxModelLen)} GiB KV cache is needed, ` +
    `which is larger than the available KV cache memory (${gib(capacity)} GiB). Based on the available memory, the estimated maximum model ` +
    `length is ${capacity}. Try increasing \`gpu_memory_utilization\` or decreasing \`max_model_len\` when initializing the engine.`
  );
}

/** The lines a crashing engine core prints before its final error line (a shortened real traceback). */
export function crashTraceback(): string[] {
  const src = 'core.py:708';
  return [
    `${vllmPrefix('ERROR', src)}EngineCore failed to start.`,
    `${vllmPrefix('ERROR', src)}Traceback (most recent call last):`,
    `${vllmPrefix('ERROR', src)}  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 699, in run_engine_core`,
    `${vllmPrefix('ERROR', src)}    engine_core = EngineCoreProc(*args, **kwargs)`,
  ];
}

/** The start-up lines of vLLM's OpenAI API server once it listens. */
export function readyLines(url: string, pid: number): string[] {
  const routes = ['/health', '/tokenize', '/detokenize', '/v1/models', '/version', '/v1/completions', '/v1/chat/completions', '/metrics'];
  return [
    `${vllmPrefix('INFO', 'api_server.py:1351')}Starting vLLM API server on ${url}`,
    `${vllmPrefix('INFO', 'launcher.py:29')}Available routes are:`,
    ...routes.map((r) => `${vllmPrefix('INFO', 'launcher.py:37')}Route: ${r}, Methods: ${r.startsWith('/v1/c') || r.endsWith('tokenize') ? 'POST' : 'GET'}`),
    `INFO:     Started server process [${pid}]`,
    'INFO:     Waiting for application startup.',
    'INFO:     Application startup complete.',
    `INFO:     Uvicorn running on ${url} (Press CTRL+C to quit)`,
  ];
}
