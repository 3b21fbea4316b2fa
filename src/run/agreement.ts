/**
 * The correctness probe: a fixed set of prompts decoded greedily, compared with the baseline's outputs.
 * Greedy decoding on a changed kernel may drift after many tokens, so a probe scores the shared prefix rather than
 * requiring equality; a "clear mismatch" is an agreement below MISMATCH_BELOW.
 */
export const PROBE_PROMPTS: readonly string[] = [
  'The capital of France is',
  'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n',
  'List the first five prime numbers:',
  'Translate to German: "The weather is nice today."',
];

/** Tokens generated per probe prompt. */
export const PROBE_MAX_TOKENS = 16;

/** Below this agreement the variant is `correctness_mismatch`. */
export const MISMATCH_BELOW = 0.5;

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Similarity of one output with its reference in 0..1: 1 when equal, else the shared prefix over the longer length. */
export function probeSimilarity(reference: string, output: string): number {
  if (reference === output) return 1;
  const longer = Math.max(reference.length, output.length);
  return longer === 0 ? 1 : commonPrefixLength(reference, output) / longer;
}

/** Mean similarity over the probes both sides answered (a probe that failed on one side scores 0). */
export function agreement(reference: readonly (string | null)[], outputs: readonly (string | null)[]): { agreement: number; probes: number } {
  const probes = Math.max(reference.length, outputs.length);
  if (probes === 0) return { agreement: 1, probes: 0 };
  let sum = 0;
  for (let i = 0; i < probes; i++) {
    const r = reference[i];
    const o = outputs[i];
    if (r !== null && r !== undefined && o !== null && o !== undefined) sum += probeSimilarity(r, o);
  }
  return { agreement: sum / probes, probes };
}
