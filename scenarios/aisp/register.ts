/** Placeholder while the register is written. */
import { defineRegister } from '../../harness/engine/register.ts';

export const aispRegister = defineRegister({ sources: [], entries: [], surface: [] });
