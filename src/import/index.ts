/** Import of the original ISO-Bench result files into the store. */
export { importIsoBench, DEFAULT_AGENT, type ImportOptions, type ImportProgress, type ImportSummary } from './importer.js';
export { mapMetrics, canonicalKey, type MappedMetrics } from './metric-keys.js';
export { shapeOf, type FileShape } from './readers.js';
export type { LegacyRecord, LegacyFileError, LegacyTaskInfo } from './legacy.js';
