/** A recorded profile's constants as the report pages and `amh diff` list them. */
import type { ProfileInfo } from './types.ts';

/** Each constant the profile sets, `protocol.constant`, its value, and whether it is a default it pins. */
export function profileConstants(p: ProfileInfo): { name: string; value: string; pinnedDefault: boolean }[] {
  const list = (x: ProfileInfo['constants'] | undefined, pinnedDefault: boolean) =>
    Object.entries(x ?? {}).flatMap(([pid, c]) => Object.entries(c).map(([k, value]) => ({ name: `${pid}.${k}`, value, pinnedDefault })));
  return [...list(p.constants, false), ...list(p.pinnedDefaults, true)];
}

/** `name = value` per constant (a pinned default says so), joined; `none` when the profile sets nothing. */
export function profileConstantsText(p: ProfileInfo, none: string, name: (n: string) => string = (n) => n): string {
  return (
    profileConstants(p)
      .map((c) => `${name(c.name)} = ${c.value}${c.pinnedDefault ? ' (the default, pinned)' : ''}`)
      .join(', ') || none
  );
}
