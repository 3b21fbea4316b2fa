/** vLLM's log prefix, e.g. `INFO 11-24 06:12:14 [api_server.py:1077] `. */
export function vllmPrefix(level: 'INFO' | 'WARNING' | 'ERROR', source: string, at = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())}`;
  return `${level} ${stamp} [${source}] `;
}

/** vLLM's KV-cache error line, the one a max_model_len above the cache capacity produces. */
export function kvCacheOomLine(maxModelLen: number, capacity: number): string {
  return (
    `ValueError: The model's max seq len (${maxModelLen}) is larger than the maximum number of tokens that can be ` +
    `stored in KV cache (${capacity}). Try increasing \`gpu_memory_utilization\` or decreasing \`max_model_len\` when initializing the engine.`
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
