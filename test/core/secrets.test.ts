import { describe, expect, it } from 'vitest';
import { addSecretValues, redactDeep, redactSecrets, secretsOfArgs } from '../../src/core/index.js';
import { parsePerfCommand } from '../../src/vllm/index.js';

describe('redactSecrets', () => {
  it.each([
    ['short Hugging Face token', 'token hf_Zq9x here', 'token *** here'],
    ['short OpenAI key', 'key sk-7Kp2 here', 'key *** here'],
    ['bearer of any characters', "--header 'Authorization: Bearer tok!Q7zz#m'", "--header 'Authorization: Bearer ***'"],
    ['header as KEY=VALUE', '--header X-Api-Key=abc123', '--header X-Api-Key=***'],
    ['header echoed as JSON', '{"authorization":"Bearer abc","x-api-key":"zz9"}', '{"authorization":"Bearer ***","x-api-key":"***"}'],
    ['secret flags', '--hf-token hf_Zq9x --api-key=Key1 --openai-api-key "a b"', '--hf-token *** --api-key=*** --openai-api-key ***'],
    ['secret env assignments', 'HF_TOKEN=x1 MY_SERVICE_PASSWORD=pw', 'HF_TOKEN=*** MY_SERVICE_PASSWORD=***'],
  ])('redacts a %s', (_what, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it.each([
    'pip install hf_transfer',
    'from huggingface_hub import hf_hub_download',
    'uses sk-learn',
    'unknown flag --hf-token for benchmark_serving',
    '--max-num-batched-tokens 8192 --tokenizer m',
    'MAX_NUM_BATCHED_TOKENS=8192',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts by value every secret it was given and every secret of its own environment', () => {
    addSecretValues(['zq-given-7']);
    process.env.SOME_SERVICE_TOKEN = 'odd value!';
    try {
      expect(redactSecrets('echo zq-given-7 and odd value! back')).toBe('echo *** and *** back');
    } finally {
      delete process.env.SOME_SERVICE_TOKEN;
    }
    expect(redactSecrets('odd value!')).toBe('odd value!');
  });

  it('takes the secrets of an argument list: secret flags, every header value, the credential of Bearer', () => {
    expect(secretsOfArgs(['--hf-token', 'hfv1', '--api-key=akv1', '--header', 'X-A=hv01', 'Authorization: Bearer bv01', '--model', 'm', 'HF_TOKEN=ev01'])).toEqual([
      'hfv1',
      'akv1',
      'hv01',
      'Bearer bv01',
      'bv01',
      'ev01',
    ]);
  });

  it('a parsed perf command makes its secrets known: its text, env and arguments print redacted', () => {
    const parsed = parsePerfCommand("OPENAI_API_KEY=u!v9 python benchmarks/benchmark_serving.py --model m --header 'X-Secret-Thing: plain1' --hf-token tokn5");
    expect(parsed.status).toBe('ok');
    expect(redactSecrets('plain1 u!v9 tokn5')).toBe('*** *** ***');
  });

  it('redactDeep keeps JSON valid and replaces secret-named keys', () => {
    const value = { cmd: 'HF_TOKEN=abc', env: { HF_TOKEN: 'x', authorization: 'y' }, list: ['sk-7Kp2'], n: 1 };
    const out = redactDeep(value);
    expect(out).toEqual({ cmd: 'HF_TOKEN=***', env: { HF_TOKEN: '***', authorization: '***' }, list: ['***'], n: 1 });
    expect(JSON.parse(JSON.stringify(out)) as unknown).toEqual(out);
  });
});
