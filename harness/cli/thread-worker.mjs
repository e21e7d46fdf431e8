// Entry of a worker thread of `amh run` (harness/cli/threads.ts): registers tsx in this thread, as
// amh.mjs does in the main one, then runs the TypeScript worker.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('SQLite is an experimental feature')) return;
  emitWarning(warning, ...rest);
};
const { register } = await import('tsx/esm/api');
register();
await import('./thread-worker.ts');
