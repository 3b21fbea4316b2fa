import { readdirSync } from 'node:fs';
import tseslint from 'typescript-eslint';

/**
 * The module map (docs/architecture.md): for each folder of src/, the folders it may import, always through their
 * index.ts. An arrow that is not listed is a lint error, for value and type imports, static and dynamic.
 * Adding a folder or an arrow: change this table and the map in docs/architecture.md together.
 */
const MAY_IMPORT = {
  core: [],
  vllm: ['core'],
  task: ['core', 'sim', 'vllm'],
  analysis: ['core'],
  // Measuring does not know where results go: the load generator never imports the store (the store imports its types).
  loadgen: ['core'],
  sim: ['core', 'vllm'],
  engine: ['core', 'sim', 'task', 'vllm'],
  store: ['core', 'loadgen', 'task'],
  import: ['core', 'store', 'task', 'vllm'],
  run: ['analysis', 'core', 'engine', 'loadgen', 'store', 'task', 'vllm'],
  queue: ['core', 'engine', 'run', 'store', 'task', 'vllm'],
  dataset: ['analysis', 'core', 'store', 'task', 'vllm'],
  report: ['analysis', 'core', 'dataset'],
  cli: '*',
};
/** What a cli/ file may import at its top (stages that load no npm package); every other stage is imported inside the command's action (start-up). */
const CLI_EAGER = ['analysis', 'core', 'vllm'];

/** In cli/, options are declared only in a command's table; commander options are made from it by addOptions (cli/options.ts, whose addOption calls take a built Option). */
const OPTIONS_ONCE = ["CallExpression[callee.property.name='option']", "CallExpression[callee.property.name='requiredOption']", "CallExpression[callee.property.name='addOption'] > NewExpression"].map((selector) => ({
  selector,
  message: "declare the option in the command's table (opt.* of src/cli/options.ts) and register it with addOptions(cmd, TABLE) (docs/architecture.md#options-one-table-per-command)",
}));

const folders = readdirSync(new URL('./src/', import.meta.url), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
const stages = [...new Set([...Object.keys(MAY_IMPORT), ...folders])].sort();
const alt = (names) => names.join('|');
/** A relative import that leaves the folder for one of `names` (`../x/...` or `../../x/...` from a subfolder). */
const into = (names) => `^(\\.\\./)+(${alt(names)})(/|$)`;

function zone(folder) {
  const allowed = MAY_IMPORT[folder] === '*' ? stages : (MAY_IMPORT[folder] ?? []);
  const forbidden = stages.filter((s) => s !== folder && !allowed.includes(s));
  const patterns = [
    {
      regex: `^(\\.\\./)+(${alt(stages.filter((s) => s !== folder))})/(?!index\\.js$)`,
      message: 'import another folder through its index.ts only (docs/architecture.md)',
    },
  ];
  const dynamic = [];
  if (forbidden.length > 0) {
    const message = `src/${folder}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing'} (the module map in eslint.config.js, docs/architecture.md)`;
    patterns.push({ regex: into(forbidden), message });
    dynamic.push({ selector: `ImportExpression[source.value=/${into(forbidden).replaceAll('/', '\\/')}/]`, message });
  }
  if (folder === 'cli') {
    patterns.push({
      regex: into(stages.filter((s) => s !== 'cli' && !CLI_EAGER.includes(s))),
      allowTypeImports: true,
      message: 'a cli/ file loads this stage inside the action that uses it: `const { x } = await import(...)`, so that --help starts fast (docs/architecture.md#start-up-the-compiled-cli)',
    });
    patterns.push({ regex: '^zod$', message: "a command's options are its table (opt.* of src/cli/options.ts), read by readOptions: no zod schema in cli/ (docs/architecture.md#options-one-table-per-command)" });
    dynamic.push(...OPTIONS_ONCE);
  }
  const known = folder in MAY_IMPORT;
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
      'no-restricted-syntax': [
        'error',
        ...dynamic,
        ...(known ? [] : [{ selector: 'Program', message: `src/${folder}/ is not in the module map: add it to MAY_IMPORT in eslint.config.js and to docs/architecture.md` }]),
      ],
      ...(folder === 'cli'
        ? {}
        : {
            // Core code emits typed events and returns values; only cli/ writes to the terminal.
            'no-console': 'error',
            'no-restricted-properties': [
              'error',
              { object: 'process', property: 'stdout', message: 'only cli/ writes to the terminal: emit an event or return a value' },
              { object: 'process', property: 'stderr', message: 'only cli/ writes to the terminal: emit an event or return a value' },
            ],
          }),
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'bin/**', 'dist/**', 'out/**', 'coverage/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  ...stages.map(zone),
  {
    files: ['test/**', 'benchmarks/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
