// What amh.mjs and each `amh run` worker thread (thread-worker.mjs) do before their TypeScript runs:
// register tsx in this thread, and drop node:sqlite's ExperimentalWarning (the reference servers'
// state prints it on every start; it is noise for CLI users, all other warnings pass through).
export async function runTypeScript(entry) {
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = (warning, ...rest) => {
    if (String(warning).includes('SQLite is an experimental feature')) return;
    emitWarning(warning, ...rest);
  };
  const { register } = await import('tsx/esm/api');
  register();
  await import(entry);
}
