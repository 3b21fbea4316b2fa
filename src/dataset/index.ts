export * from './schema.js';
export { readDataset, DATASET_FILES, parseListLiteral } from './io.js';
export { renderCard, type CardOptions } from './card.js';
export { writeDataset, type WrittenDataset } from './write.js';
export { checkDataset, normalizeLabel, IMPROVEMENT_TOLERANCE, THROUGHPUT_UNIT_RATIO, type CheckReport, type Finding, type FindingCode, type FindingExample } from './check.js';
export { v5Improvement, fillImprovements, improvementColumn, numberCell } from './formula.js';
export { buildDatasetRows, choose, v5Value, DEFAULT_SOURCE_PRIORITY, type BuildOptions } from './build.js';
export { storeMeasurements } from './build.js';
export { compareWithPublished, type PublishedComparison, type CellDifference, type DifferenceReason, type Measurement, type MeasurementLookup } from './compare.js';
