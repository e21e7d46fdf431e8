/** Repository paths (kept apart from artifacts.ts so start-up does not load zod). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in harness/chain/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
