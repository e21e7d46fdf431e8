/**
 * Outcome-carrying errors thrown inside a property run. Anything else thrown is a harness error.
 */

/** The target violated a requirement (becomes `fail` for MUST, `warn` for SHOULD/MAY). */
export class RequirementViolation extends Error {
  override name = 'RequirementViolation';
  constructor(
    readonly requirement: string,
    message: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(`${requirement}: ${message}${expected !== undefined ? `\n  expected: ${expected}` : ''}${actual !== undefined ? `\n  actual:   ${actual}` : ''}`);
  }
}

/** The outcome could not be established (e.g. a settlement that could not be confirmed). */
export class Indeterminate extends Error {
  override name = 'Indeterminate';
  constructor(
    readonly requirement: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A fault of the harness or its environment (RPC down, revert drift), never the target's. */
export class HarnessFault extends Error {
  override name = 'HarnessFault';
}

/**
 * The target cannot be talked to as declared: an endpoint refuses connections or answers 404/405
 * where the protocol's entry point should be, a chain RPC is unreachable or answers garbage. Not a
 * requirement verdict (nothing was established) and not a harness bug: the run reports it as a
 * target problem (the scenarios involved end indeterminate; exit code 2).
 */
export class TargetProblem extends Error {
  override name = 'TargetProblem';
}
