export * from './errors.js';
export * from './failures.js';
export * from './metrics.js';
export * from './secrets.js';
export * from './workload.js';
export * from './presets.js';
