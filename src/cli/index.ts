export { buildProgram, runCli } from './program.js';
export { parseOptions, opt } from './options.js';
