/** Types for the `macaroon` package (go-macaroon/js-macaroon), which ships none. Only what asa uses. */
declare module 'macaroon' {
  export interface Macaroon {
    readonly identifier: Uint8Array;
    readonly location: string;
    readonly signature: Uint8Array;
    readonly caveats: { identifier: Uint8Array; location?: string; vid?: Uint8Array }[];
    addFirstPartyCaveat(caveatId: string | Uint8Array): void;
    verify(rootKey: Uint8Array, check: (condition: string) => string | null, discharges?: Macaroon[]): void;
    exportBinary(): Uint8Array;
    exportJSON(): unknown;
    clone(): Macaroon;
  }
  export function newMacaroon(o: { identifier: string | Uint8Array; rootKey: string | Uint8Array; location?: string; version?: number }): Macaroon;
  export function importMacaroon(o: string | Uint8Array | object): Macaroon;
  export function importMacaroons(o: string | Uint8Array | object[]): Macaroon[];
  export function bytesToBase64(b: Uint8Array): string;
  export function base64ToBytes(s: string): Uint8Array;
}
