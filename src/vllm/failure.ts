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
  { code: 'port_bind_bug', rank: 1, pattern: /port binding bug|issue #?8791|\[Errno 98\]|[Aa]ddress already in use/, meaning: 'vLLM issue 8791: the server cannot bind its port' },
  { code: 'server_oom', rank: 2, pattern: /CUDA out of memory|OutOfMemoryError|No available memory for the cache blocks|larger than the available KV cache memory|KV cache is needed|Insufficient memory for|cannot be stored in KV cache|CUDA error: out of memory/, meaning: 'GPU memory or KV cache too small for the model and settings' },
  { code: 'model_unsupported', rank: 3, pattern: /Unknown RoPE scaling type|fundamental model compatibility issues|Model architectures? \[[^\]]*\] (?:is|are) not supported|is not supported for now|Unrecognized model in|does not support (?:the )?(?:model|architecture)|model type `?\w+`? but Transformers does not recognize/, meaning: 'this vLLM version cannot load this model' },
  { code: 'model_unavailable', rank: 4, pattern: /GatedRepoError|gated repo|is not a local folder and is not a valid model identifier|RepositoryNotFoundError|Repository Not Found|401 Client Error|Unauthorized for url: https:\/\/huggingface\.co/, meaning: 'the model is gated, private or does not exist on the Hub' },
  { code: 'gpus_insufficient', rank: 5, pattern: /Requires tensor-parallel-size \d+|tensor parallel size \(?\d+\)? (?:is )?greater than the number of (?:available )?GPUs|requires \d+ GPUs?/i, meaning: 'the command needs more GPUs than the machine has' },
  { code: 'wheel_not_found', rank: 6, pattern: /No wheel available|No wheel for|[Ww]heel not available|no baseline wheel|no_baseline_wheel|[Ww]heel install failed|Could not find vLLM installation|Could not find a version that satisfies the requirement vllm/, meaning: 'no installable vLLM (wheel) for the commit' },
  { code: 'image_missing', rank: 6, pattern: /manifest for \S+ not found|pull access denied|No such image/, meaning: 'the Docker image of the variant does not exist' },
  { code: 'build_failed', rank: 7, pattern: /CalledProcessError: Command '\['cmake'|Failed building wheel|Failed to build (?:vllm|installable wheels)|error: subprocess-exited-with-error|Command '\['uv', 'pip', 'install'[^\]]*\]' timed out|Cache build timed out/, meaning: 'building or installing vLLM from source failed or timed out' },
  { code: 'patch_needs_build', rank: 8, pattern: /Patch contains only non-Python files|patch touches compiled sources|needs a rebuild/, meaning: 'the patch changes compiled sources; benchmarking it needs a build' },
  { code: 'patch_apply_failed', rank: 8, pattern: /patch does not apply|error: patch failed|git apply failed|Hunk #\d+ FAILED/, meaning: 'the agent patch does not apply to the parent commit' },
  { code: 'patch_empty', rank: 8, pattern: /patch is empty|empty patch|No changes in patch/, meaning: 'the agent patch changes nothing' },
  { code: 'dependency_error', rank: 9, pattern: /ImportError|ModuleNotFoundError|undefined symbol|cannot import name|is already used by a Transformers config|not properly installed|cannot import LLM|Error while finding module specification/, meaning: 'a Python dependency is missing or incompatible with this vLLM version' },
  { code: 'internal_error', rank: 9.5, pattern: /Broken pipe|Lookup failed for Function|^name '\w+' is not defined|cannot access local variable|Git reset failed|Unable to create '[^']*\.lock'|Command '\['git',/, meaning: 'the harness itself failed (infrastructure, a bug of the runner, a git lock), not the engine' },
  { code: 'task_invalid', rank: 9.5, pattern: /No perf_command|no perf_command|no_perf_command/, meaning: 'the task has no usable benchmark command' },
  { code: 'bench_timeout', rank: 10, pattern: /[Bb]enchmark timed out|TimeoutExpired|timed out after \d+ ?s/, meaning: 'the benchmark did not finish in time' },
  { code: 'server_start_timeout', rank: 10, pattern: /[Ss]erver did not become ready|[Ss]erver (?:failed to )?start(?:ed)? timed out|[Tt]imed out waiting for (?:the )?server/, meaning: 'the server never answered its health check' },
  { code: 'requests_failed', rank: 11, pattern: /Initial test run failed|Successful requests:\s+0\b|All requests failed/, meaning: 'the server answered but requests failed' },
  { code: 'bench_failed', rank: 12, pattern: /error: unrecognized arguments|error: argument --|FileNotFoundError: \[Errno 2\] No such file or directory: '[^']*\.json'|Error: Command '[^']*benchmark_\w+\.py[^']*' returned non-zero/, meaning: 'the benchmark client failed (bad arguments, missing dataset)' },
  { code: 'server_crashed', rank: 13, pattern: /[Ss]erver crashed|server failed to start|SERVER failed to start|EngineCore hit an exception|Engine core initialization failed|Engine process failed to start|EngineDeadError|RuntimeError: Engine loop has died|Worker failed with error/, meaning: 'the server process died' },
  { code: 'no_metrics', rank: 14, pattern: /produced no metrics|No (?:\w+ )?metrics in (?:\w+ )?output|No JSON results in output|no_metrics/, meaning: 'the benchmark printed no result' },
];

/** One pass that rejects the (many) lines no signature matches. */
const ANY_SIGNATURE = new RegExp(FAILURE_SIGNATURES.map((s) => `(?:${s.pattern.source})`).join('|'));
/** Lines that look like an error, for the evidence of an unknown failure. */
const ERROR_LOOKING = /\b(?:Error|Exception|Traceback|FAILED|failed|fatal|Fatal|CRITICAL|error)\b/;
const SOURCE_ECHO = /^(?:\S*\s+)?(?:\[rank\d+\]:)?\s*(?:raise |File ")/;
const MAX_EVIDENCE = 400;
const MAX_LINE_SCAN = 4096;

/** What a failure means: its signature's meaning, or that no signature matched (the fallback of `classifyFailure`). */
export function failureMeaning(failure: Failure): string {
  const signature = FAILURE_SIGNATURES.find((s) => s.code === failure.code && s.pattern.test(failure.evidence));
  return signature?.meaning ?? FAILURE_SIGNATURES.find((s) => s.code === failure.code && failure.code !== 'internal_error')?.meaning ?? 'no known failure signature matched';
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
 * Gives a failed run one failure code with the line that proves it: the most specific root cause found in any log
 * wins (ties: the earliest line); nothing known → `internal_error` with the last error-looking line.
 */
export function classifyFailure(input: FailureInput): Failure {
  const binary = (['error', 'server', 'bench'] as const).find((k) => input[k] !== undefined && looksBinary(input[k] ?? ''));
  if (binary) return { code: 'internal_error', evidence: `the ${binary} log looks binary, not text`, source: binary };
  let best: Hit | undefined;
  let lastErrorLike: { evidence: string; line: number; source: string } | undefined;
  for (const source of ['error', 'server', 'bench'] as const) {
    const text = input[source];
    if (!text) continue;
    forEachLine(text, (line, lineNo) => {
      const probe = line.length > MAX_LINE_SCAN ? line.slice(0, MAX_LINE_SCAN) : line;
      // A traceback echoes the source (`raise ValueError(f"Unknown RoPE ...")`); the message line after it is the evidence.
      if (SOURCE_ECHO.test(probe)) return;
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
  if (lastErrorLike) return failure('internal_error', lastErrorLike.evidence, lastErrorLike.line, lastErrorLike.source);
  const anyText = [input.error, input.server, input.bench].find((t) => t && t.trim() !== '');
  if (anyText) {
    const trimmed = anyText.trimEnd();
    const lastLine = trimmed.slice(trimmed.lastIndexOf('\n') + 1);
    return { code: 'internal_error', evidence: evidenceText(lastLine) };
  }
  return { code: 'internal_error', evidence: 'no log and no error message were recorded' };
}

function failure(code: FailureCode, evidence: string, line: number, source: string): Failure {
  return { code, evidence: evidenceText(evidence), line, source };
}

function evidenceText(line: string): string {
  // Control characters would redraw the user's terminal; ANSI colours are noise in evidence.
  const clean = redactSecrets(line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?').trim());
  return clean.length > MAX_EVIDENCE ? `${clean.slice(0, MAX_EVIDENCE)}…` : clean;
}
