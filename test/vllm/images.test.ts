import { describe, expect, it } from 'vitest';
import { IsobenchError } from '../../src/core/index.js';
import { v5BenchmarkMode } from '../../src/core/index.js';
import { defaultImages, imageName } from '../../src/vllm/index.js';

const commit = '015069b01741e9ecb9e604c7fe87fbdfc306ebe5';
const parent = 'fbefc8a78d22b20eac042c586805c7dcbfc66b1c';

describe('imageName', () => {
  it("fills the original pipeline's image names", () => {
    expect(imageName(defaultImages.human, { commit, parent })).toBe(`anonymous/vllm-bench:${commit}`);
    expect(imageName(defaultImages.baseline, { commit, parent })).toBe('anonymous/vllm-baseline:baseline-fbefc8a78d22');
    expect(imageName('x/y:{commit8}-{parent}', { commit, parent })).toBe(`x/y:015069b0-${parent}`);
  });

  it('refuses a missing value or an unknown placeholder', () => {
    expect(() => imageName(defaultImages.baseline, { commit })).toThrow(IsobenchError);
    expect(() => imageName('x/{agent}', { commit, parent })).toThrow(/unknown placeholder \{agent\}/);
  });
});

describe('v5BenchmarkMode', () => {
  it('folds latency and throughput into standalone', () => {
    expect(['serving', 'latency', 'throughput', 'prefix_caching', 'unknown'].map((m) => v5BenchmarkMode(m as 'serving'))).toEqual(['serving', 'standalone', 'standalone', 'prefix_caching', null]);
  });
});
