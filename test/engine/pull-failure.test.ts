import { describe, expect, it } from 'vitest';
import { pullFailure } from '../../src/engine/docker.js';

describe('a failed docker pull is named by its cause', () => {
  it('tells a full disk, a missing image and a pull that failed on the way apart (messages as dockerd words them)', () => {
    const image = 'anonymous/vllm-baseline:baseline-a6d795d59304';
    expect(pullFailure(image, 'failed to register layer: write /var/lib/docker/overlay2/x/diff/usr/lib/libcuda.so: no space left on device').code).toBe('disk_full');
    expect(pullFailure(image, `(HTTP code 404) unexpected - manifest for ${image} not found: manifest unknown: manifest unknown`).code).toBe('image_missing');
    expect(pullFailure(image, 'pull access denied for anonymous/vllm-baseline, repository does not exist or may require \'docker login\'').code).toBe('image_missing');
    const net = pullFailure(image, 'Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout');
    expect(net).toEqual({ code: 'image_pull_failed', evidence: `image ${image} could not be pulled: Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout`, source: 'engine' });
  });
});
