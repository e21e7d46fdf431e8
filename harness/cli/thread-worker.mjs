// Entry of a worker thread of `amh run` (harness/cli/threads.ts): registers tsx in this thread, as
// amh.mjs does in the main one, then runs the TypeScript worker.
import { runTypeScript } from './run-typescript.mjs';

await runTypeScript(new URL('./thread-worker.ts', import.meta.url).href);
