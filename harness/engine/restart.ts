/**
 * Crash and restart of a target's server (capability `restart`): the target file's restart control
 * for an endpoint (harness/target/schema.ts) is a shell command that kills the server with SIGKILL
 * and has it started again; the harness runs it, then polls until the server answers again. What
 * the server kept across the crash is then the scenario's to judge.
 */
import { exec } from 'node:child_process';
import { promisify } from 'node:util';
import { endpointOf, type EndpointSpec, type RestartControl, type Target } from '../target/schema.ts';
import { HarnessFault, TargetProblem } from './errors.ts';

const run = promisify(exec);

/** Default time for the command and the wait together. */
export const RESTART_TIMEOUT_MS = 60_000;

/** The endpoint `name` and its restart control; a harness fault when the target has none. */
export function restartControlOf(t: Target, name: string): { control: RestartControl; endpoint: EndpointSpec } {
  const control = t.restart?.[name];
  const endpoint = endpointOf(t, name);
  if (!control || !endpoint) throw new HarnessFault(`target declares no restart control for endpoint '${name}' (restart.${name}.command)`);
  // A separate restartable instance keeps the endpoint's method, body and headers.
  return { control, endpoint: control.url ? { ...endpoint, url: control.url } : endpoint };
}

/** Whether anything answers HTTP at `url` (any status counts: the server is up). */
async function answers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

/** Poll `url` until it answers or `deadline` (ms since epoch) passes; throws a TargetProblem then. */
export async function waitUntilAnswers(url: string, deadline: number, what: string): Promise<void> {
  while (!(await answers(url, Math.max(100, Math.min(5_000, deadline - Date.now()))))) {
    if (Date.now() >= deadline) throw new TargetProblem(`${what}: ${url} did not answer within the restart timeout`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Run the restart control of endpoint `name` and wait until the server answers again. A failing
 * command or a server that does not come back in time is a target problem (nothing established).
 * Returns how long it took and what the command printed.
 */
export async function restartEndpoint(t: Target, name: string): Promise<{ ms: number; output: string }> {
  const { control, endpoint } = restartControlOf(t, name);
  const timeout = control.timeoutMs ?? RESTART_TIMEOUT_MS;
  const t0 = Date.now();
  let output = '';
  try {
    const r = await run(control.command, { shell: '/bin/sh', timeout, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 });
    output = `${r.stdout}${r.stderr}`.trim();
  } catch (e) {
    const x = e as { code?: number | string; signal?: string; stderr?: string; stdout?: string };
    const how = x.signal ? `was killed (${x.signal}) after ${timeout} ms` : `exited ${x.code}`;
    throw new TargetProblem(`the restart command of '${name}' ${how}: ${`${x.stderr ?? ''}${x.stdout ?? ''}`.trim().slice(-400) || '(no output)'}`);
  }
  await waitUntilAnswers(control.ready ?? endpoint.url, t0 + timeout, `after the restart of '${name}'`);
  return { ms: Date.now() - t0, output };
}

/**
 * Poll `done()` every `everyMs` until it is true or `ms` have passed; answers its last verdict. For
 * what a restarted server finishes on its own time (a release it decided before the crash, a send
 * the node mines).
 */
export async function eventually(done: () => Promise<boolean>, ms: number, everyMs = 200): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return done();
}
