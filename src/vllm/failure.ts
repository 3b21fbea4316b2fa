import { redactSecrets, type Failure, type FailureCode } from '../core/index.js';
import { forEachLine, looksBinary } from './lines.js';

/** One known failure: a code and the pattern of the line that proves it. Lower `rank` = more specific root cause. */
export interface FailureSignature {
  code: FailureCode;
  rank: number;
  pattern: RegExp;
  /** What the signature means, for docs and `--help`. */
  meaning: string;
}

/**
 * Failure signatures of vLLM servers, its benchmark scripts and the original pipeline, most specific first.
 * A root cause (OOM, missing module, unsupported model) outranks its consequences (server crashed, no metrics).
 */
export const FAILURE_SIGNATURES: readonly FailureSignature[] = [
  { code: 'cancelled', rank: 0, pattern: /KeyboardInterrupt|\bcancelled by (?:the )?user\b/, meaning: 'the run was interrupted' },
  { code: 'disk_full', rank: 0.5, pattern: /[Nn]o space left on device|\[Errno 28\]|[Dd]isk quota exceeded/, meaning: 'the disk filled up (a docker pull, a build, the model download)' },
  { code: 'port_bind_bug', rank: 1, pattern: /port binding bug|issue #?8791|\[Errno 98\]|[Aa]ddress already in use/, meaning: 'vLLM issue 8791: the server cannot bind its port' },
  { code: 'server_oom', rank: 2, pattern: /CUDA out of memory|OutOfMemoryError|No available memory for the cache blocks|larger than the available KV cache memory|KV cache is needed|Insufficient memory for|cannot be stored in KV cache|maximum number of tokens that can be stored in KV cache|CUDA error: out of memory/, meaning: 'GPU memory or KV cache too small for the model and settings' },
  { code: 'model_unsupported', rank: 3, pattern: /Unknown RoPE scaling type|fundamental model compatibility issues|Model architectures? \[[^\]]*\] (?:is|are) not supported|Model architectures? \[[^\]]*\] failed to be inspected|is not supported for now|Unrecognized model in|does not support (?:the )?(?:model|architecture)|model type `?\w+`? but Transformers does not recognize/, meaning: 'this vLLM version cannot load this model' },
  { code: 'model_unavailable', rank: 4, pattern: /GatedRepoError|gated repo|is not a local folder and is not a valid model identifier|RepositoryNotFoundError|Repository Not Found|401 Client Error|Unauthorized for url: https:\/\/huggingface\.co/, meaning: 'the model is gated, private or does not exist on the Hub' },
  { code: 'gpus_insufficient', rank: 5, pattern: /Requires tensor-parallel-size \d+|tensor parallel size \(?\d+\)? (?:is )?greater than the number of (?:available )?GPUs|requires \d+ GPUs?/i, meaning: 'the command needs more GPUs than the machine has' },
  { code: 'wheel_not_found', rank: 6, pattern: /No wheel available|No wheel for|[Ww]heel not available|no baseline wheel|no_baseline_wheel|[Ww]heel install failed|Could not find vLLM installation|Could not find a version that satisfies the requirement vllm/, meaning: 'no installable vLLM (wheel) for the commit' },
  { code: 'image_missing', rank: 6, pattern: /manifest for \S+ not found|pull access denied|No such image/, meaning: 'the Docker image of the variant does not exist' },
  { code: 'image_pull_failed', rank: 6.5, pattern: /failed to register layer|[Ee]rror pulling image|toomanyrequests: |net\/http: TLS handshake timeout|unexpected EOF.*(?:blob|layer)|failed to copy: httpReadSeeker/, meaning: 'pulling the Docker image failed (network, registry rate limit, a layer that would not register)' },
  { code: 'docker_error', rank: 6.5, pattern: /docker: invalid reference format|^docker: Error response from daemon|Cannot connect to the Docker daemon|^unknown (?:shorthand )?flag: |Run 'docker \w+ --help' for more information|could not select device driver/, meaning: 'docker refused the command (bad usage, daemon unreachable, no GPU runtime)' },
  { code: 'build_failed', rank: 7, pattern: /CalledProcessError: Command '\['cmake'|Failed building wheel|Failed to build (?:vllm|installable wheels)|error: subprocess-exited-with-error|Command '\['uv', 'pip', 'install'[^\]]*\]' timed out|Cache build timed out/, meaning: 'building or installing vLLM from source failed or timed out' },
  { code: 'patch_needs_build', rank: 8, pattern: /Patch contains only non-Python files|patch touches compiled sources|needs a rebuild/, meaning: 'the patch changes compiled sources; benchmarking it needs a build' },
  { code: 'patch_apply_failed', rank: 8, pattern: /patch does not apply|error: patch failed|git apply failed|Hunk #\d+ FAILED/, meaning: 'the agent patch does not apply to the parent commit' },
  { code: 'patch_empty', rank: 8, pattern: /patch is empty|empty patch|No changes in patch/, meaning: 'the agent patch changes nothing' },
  { code: 'dependency_error', rank: 9, pattern: /ImportError|ModuleNotFoundError|undefined symbol|cannot import name|is already used by a Transformers config|not properly installed|cannot import LLM|Error while finding module specification/, meaning: 'a Python dependency is missing or incompatible with this vLLM version' },
  { code: 'infra_error', rank: 9.5, pattern: /Broken pipe|Lookup failed for Function|Git reset failed|Unable to create '[^']*\.lock'|Command '\['git',|No such file or directory: '\/cache\/build_/, meaning: 'the machinery around the engine failed (a broken pipe to the worker, a cloud function lookup, a git lock or timeout, a missing build cache), not the engine or the task' },
  { code: 'internal_error', rank: 9.5, pattern: /^name '\w+' is not defined|cannot access local variable/, meaning: "a defect of the benchmark runner itself (isobench's, or the original harness's), not the engine" },
  { code: 'task_invalid', rank: 9.5, pattern: /No perf_command|no perf_command|no_perf_command/, meaning: 'the task has no usable benchmark command' },
  { code: 'bench_timeout', rank: 10, pattern: /[Bb]enchmark timed out|TimeoutExpired|timed out after \d+ ?s/, meaning: 'the benchmark did not finish in time' },
  { code: 'server_start_timeout', rank: 10, pattern: /[Ss]erver did not become ready|[Ss]erver (?:failed to )?start(?:ed)? timed out|[Tt]imed out waiting for (?:the )?server/, meaning: 'the server never answered its health check' },
  { code: 'requests_failed', rank: 11, pattern: /Initial test run failed|Successful requests:\s+0\b|All requests failed/, meaning: 'the server answered but requests failed' },
  { code: 'bench_failed', rank: 12, pattern: /error: unrecognized arguments|error: argument --|error: argument subparser: invalid choice|error: the following arguments are required|DEPRECATED: This script has been moved to the vLLM CLI|can't open file '[^']*\.py': \[Errno 2\]|FileNotFoundError: \[Errno 2\] No such file or directory: '[^']*\.json'|Error: Command '[^']*benchmark_\w+\.py[^']*' returned non-zero/, meaning: 'the benchmark client failed (bad arguments, a missing script or dataset, a client exception)' },
  { code: 'server_crashed', rank: 13, pattern: /[Ss]erver crashed|[Ss]erver failed to start|SERVER failed to start|EngineCore hit an exception|Engine core initialization failed|Engine process failed to start|EngineDeadError|RuntimeError: Engine loop has died|Worker failed with error/, meaning: 'the server process died' },
  { code: 'no_metrics', rank: 14, pattern: /produced no metrics|No (?:\w+ )?metrics in (?:\w+ )?output|No JSON results in output|no_metrics/, meaning: 'the benchmark printed no result' },
];

/** One pass that rejects the (many) lines no signature matches. */
const ANY_SIGNATURE = new RegExp(FAILURE_SIGNATURES.map((s) => `(?:${s.pattern.source})`).join('|'));
/** Lines that look like an error, for the evidence of an unknown failure. */
const ERROR_LOOKING = /\b(?:Error|Exception|Traceback|FAILED|failed|fatal|Fatal|CRITICAL|error)\b/;
const SOURCE_ECHO = /^(?:\S*\s+)?(?:\[rank\d+\]:)?\s*(?:raise |File ")/;
const MAX_EVIDENCE = 400;
const MAX_LINE_SCAN = 4096;

const TRACEBACK = /Traceback \(most recent call last\):/;
/** What vLLM and its workers put before a traceback's lines: `(EngineCore_DP0 pid=12) `, `[rank0]: `, `ERROR 01-02 10:21:34 [core.py:700] `. */
// One space at most after a prefix: the indentation of frames and source lines must survive.
const LOG_PREFIX = /^(?:\([\w-]+ pid=\d+\) ?)?(?:\[rank\d+\]: ?)?(?:(?:ERROR|INFO|WARNING|DEBUG|CRITICAL)\s+\d\d-\d\d\s+\d\d:\d\d:\d\d(?:\.\d+)?\s+(?:\[[^\]]*\]\s*|\S+\.py:\d+\]\s*)?)?/;
/** The line that ends a traceback: `ValueError: ...`, `torch.OutOfMemoryError: ...`, `AssertionError`. */
const EXCEPTION_LINE = /^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Failure)(?::\s|$)/;
const CHAINED = /^(?:During handling of the above exception|The above exception was the direct cause)/;
/** A frame of the benchmark client (vLLM's benchmarks/ scripts or `vllm bench`), not of the engine. */
const CLIENT_FRAME = /(?:^|\/)benchmarks\/[^/]+\.py$|\/vllm\/benchmarks\//;

/** A Python exception ends a traceback: the engine's crash, or the client's when its innermost frame is a benchmark script. */
const ENGINE_TRACEBACK: FailureSignature = { code: 'server_crashed', rank: 12.5, pattern: TRACEBACK, meaning: 'the engine raised an exception (the last line of its traceback)' };
const CLIENT_TRACEBACK: FailureSignature = { code: 'bench_failed', rank: 12, pattern: TRACEBACK, meaning: 'the benchmark client raised an exception (the last line of its traceback)' };

/** What a failure means: its signature's meaning, or that no signature matched (the fallback of `classifyFailure`). */
export function failureMeaning(failure: Failure): string {
  const signature = FAILURE_SIGNATURES.find((s) => s.code === failure.code && s.pattern.test(failure.evidence));
  if (signature) return signature.meaning;
  if (failure.code === 'server_crashed' && EXCEPTION_LINE.test(failure.evidence)) return ENGINE_TRACEBACK.meaning;
  if (failure.code === 'bench_failed' && EXCEPTION_LINE.test(failure.evidence)) return CLIENT_TRACEBACK.meaning;
  return FAILURE_SIGNATURES.find((s) => s.code === failure.code && failure.code !== 'internal_error')?.meaning ?? 'no known failure signature matched';
}

/** Logs of a failed trial: server log, benchmark output, and the error message of whatever ran them. */
export interface FailureInput {
  server?: string;
  bench?: string;
  error?: string;
}

interface Hit {
  signature: FailureSignature;
  evidence: string;
  line: number;
  source: string;
}

/**
 * Follows the tracebacks of one log: after `Traceback (most recent call last):` it skips frames and source lines and
 * returns, for the exception line that ends it, the traceback signature (engine or client by the innermost frame).
 */
class TracebackReader {
  private inside = false;
  private lastFrame = '';

  /** The signature of `line` as the end of a traceback, `'skip'` for a line inside one, or null. */
  read(line: string): FailureSignature | 'skip' | null {
    if (TRACEBACK.test(line)) {
      this.inside = true;
      this.lastFrame = '';
      return 'skip';
    }
    const body = line.replace(LOG_PREFIX, '');
    // A kept log tail may start inside a traceback: a frame line opens one too.
    const frame = /^\s*File "([^"]+)", line \d+/.exec(body);
    if (frame) {
      this.inside = true;
      this.lastFrame = frame[1] ?? '';
      return 'skip';
    }
    if (!this.inside) return null;
    if (body.trim() === '' || /^\s/.test(body) || CHAINED.test(body)) return 'skip';
    this.inside = false;
    if (!EXCEPTION_LINE.test(body)) return null;
    return CLIENT_FRAME.test(this.lastFrame) ? CLIENT_TRACEBACK : ENGINE_TRACEBACK;
  }
}

/**
 * Gives a failed run one failure code with the line that proves it: the most specific root cause found in any log
 * wins (ties: the earliest line); a traceback's exception line is the engine's crash (`server_crashed`) or the
 * client's (`bench_failed`) unless a signature knows the exception; nothing known → `unclassified` with the last
 * error-looking line (the caller, knowing what ran, may name it: a server that exited is `server_crashed`).
 */
export function classifyFailure(input: FailureInput): Failure {
  const binary = (['error', 'server', 'bench'] as const).find((k) => input[k] !== undefined && looksBinary(input[k] ?? ''));
  if (binary) return { code: 'unclassified', evidence: `the ${binary} log looks binary, not text`, source: binary };
  let best: Hit | undefined;
  let lastErrorLike: { evidence: string; line: number; source: string } | undefined;
  const consider = (signature: FailureSignature, evidence: string, line: number, source: string): void => {
    if (!best || signature.rank < best.signature.rank) best = { signature, evidence, line, source };
  };
  for (const source of ['error', 'server', 'bench'] as const) {
    const text = input[source];
    if (!text) continue;
    const tracebacks = new TracebackReader();
    forEachLine(text, (line, lineNo) => {
      const probe = line.length > MAX_LINE_SCAN ? line.slice(0, MAX_LINE_SCAN) : line;
      const traceback = tracebacks.read(probe);
      if (traceback === 'skip') return;
      // A traceback echoes the source (`raise ValueError(f"Unknown RoPE ...")`); the message line after it is the evidence.
      if (SOURCE_ECHO.test(probe)) return;
      if (traceback !== null) consider(traceback, probe.replace(LOG_PREFIX, ''), lineNo, source);
      if (ERROR_LOOKING.test(probe)) lastErrorLike = { evidence: probe, line: lineNo, source };
      if (!ANY_SIGNATURE.test(probe)) return;
      for (const signature of FAILURE_SIGNATURES) {
        if (best && signature.rank >= best.signature.rank) break;
        if (signature.pattern.test(probe)) {
          best = { signature, evidence: probe, line: lineNo, source };
          break;
        }
      }
    });
  }
  if (best) return failure(best.signature.code, best.evidence, best.line, best.source);
  if (lastErrorLike) return failure('unclassified', lastErrorLike.evidence, lastErrorLike.line, lastErrorLike.source);
  const anyText = [input.error, input.server, input.bench].find((t) => t && t.trim() !== '');
  if (anyText) {
    const trimmed = anyText.trimEnd();
    const lastLine = trimmed.slice(trimmed.lastIndexOf('\n') + 1);
    return { code: 'unclassified', evidence: evidenceText(lastLine) };
  }
  return { code: 'unclassified', evidence: 'no log and no error message were recorded' };
}

function failure(code: FailureCode, evidence: string, line: number, source: string): Failure {
  return { code, evidence: evidenceText(evidence), line, source };
}

function evidenceText(line: string): string {
  // Control characters would redraw the user's terminal; ANSI colours are noise in evidence.
  const clean = redactSecrets(line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?').trim());
  return clean.length > MAX_EVIDENCE ? `${clean.slice(0, MAX_EVIDENCE)}…` : clean;
}
