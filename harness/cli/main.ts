/**
 * `amh` entry point: dispatches `amh <command> [args]` to `./commands/<command>.ts`.
 * Each command module exports `summary` (one line for the help index) and
 * `run(argv): Promise<number>` returning the process exit code
 * (0 = every MUST passed / success, 1 = a requirement failed, 2 = harness or usage error).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');

function listCommands(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadCommand(name: string): Promise<CommandModule> {
  return (await import(path.join(commandsDir, `${name}.ts`))) as CommandModule;
}

async function printHelp(): Promise<void> {
  const lines = ['amh — agentmarket-harness', '', 'Usage: amh <command> [options]   (amh <command> --help for details)', '', 'Commands:'];
  for (const name of listCommands()) {
    const mod = await loadCommand(name);
    lines.push(`  ${name.padEnd(10)} ${mod.summary}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write('agentmarket-harness 0.1.0\n');
    return 0;
  }
  if (!listCommands().includes(name)) {
    process.stderr.write(`amh: unknown command '${name}'. Run 'amh --help' for the list.\n`);
    return 2;
  }
  const mod = await loadCommand(name);
  return mod.run(rest);
}

/**
 * A command has returned: whatever still holds the event loop (a server or socket it started that did
 * not close) must not hang the script or CI job that runs amh. The timer is unref'd, so it fires only
 * when something else keeps the process alive.
 */
function exitWhenStuck(): void {
  setTimeout(() => {
    process.stderr.write(`amh: still running ${STUCK_MS / 1000} s after the command finished (a server or socket it started did not close); exiting\n`);
    process.exit();
  }, STUCK_MS).unref();
}
const STUCK_MS = 10_000;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    exitWhenStuck();
  },
  (err) => {
    process.stderr.write(`amh: harness error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
    exitWhenStuck();
  },
);
