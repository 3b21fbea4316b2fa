export * from './schema.js';
export { readDataset, DATASET_FILES, parseListLiteral } from './io.js';
export { renderCard, type CardOptions } from './card.js';
export { writeDataset, type WrittenDataset } from './write.js';
