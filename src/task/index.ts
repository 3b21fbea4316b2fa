export * from './schema.js';
export { loadCatalog, readCatalog, parseCatalogText, validateTasks, writeCatalog } from './catalog.js';
export type { CatalogRead, TaskEntry } from './catalog.js';
export { importCatalog, detectCatalogFormat } from './import.js';
export type { CatalogFormat, ImportedTask, ImportResult } from './import.js';
export { checkTask } from './check.js';
export type { TaskCheck, Contradiction, ContradictionKind } from './check.js';
