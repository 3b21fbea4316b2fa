export { buildProgram, runCli } from './program.js';
export { addOptions, opt, readOptions, type OptionSpec, type OptionTable, type OptionsOf } from './options.js';
