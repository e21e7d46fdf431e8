/**
 * Providers' API keys at rest: AES-256-GCM with a server secret (config `keySecret`, or a file beside
 * the database created with mode 0600 on first start, so keys survive a restart). Each key is
 * encrypted with a fresh IV and bound, as additional authenticated data, to its listing id and the
 * block hash of the listing's `Listed` event: a ciphertext copied to another listing, or kept for a
 * listing a revert took away (its id then names someone else's listing), does not decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export class KeyBox {
  private constructor(private readonly secret: Buffer) {}

  /** From a 32-byte hex secret. */
  static fromHex(hex: string): KeyBox {
    const b = Buffer.from(hex.replace(/^0x/, ''), 'hex');
    if (b.length !== 32) throw new Error('keySecret must be 32 bytes of hex');
    return new KeyBox(b);
  }

  /**
   * The secret in `file` (created, mode 0600, if missing), or a random one for an in-memory database
   * (`freshEachStart`: always a random one, the test-only fault keySecretPerStart).
   */
  static forDatabase(dbPath: string, hex?: string, freshEachStart = false): KeyBox {
    if (hex) return KeyBox.fromHex(hex);
    if (dbPath === ':memory:' || freshEachStart) return new KeyBox(randomBytes(32));
    const file = `${dbPath}.keysecret`;
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    return KeyBox.fromHex(readFileSync(file, 'utf8').trim());
  }

  seal(plain: string, binding: string): { iv: string; tag: string; ciphertext: string } {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.secret, iv);
    c.setAAD(Buffer.from(binding, 'utf8'));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return { iv: iv.toString('hex'), tag: c.getAuthTag().toString('hex'), ciphertext: ct.toString('hex') };
  }

  /** The plaintext, or undefined when the binding or the ciphertext does not match. */
  open(box: { iv: string; tag: string; ciphertext: string }, binding: string): string | undefined {
    try {
      const d = createDecipheriv('aes-256-gcm', this.secret, Buffer.from(box.iv, 'hex'));
      d.setAAD(Buffer.from(binding, 'utf8'));
      d.setAuthTag(Buffer.from(box.tag, 'hex'));
      return Buffer.concat([d.update(Buffer.from(box.ciphertext, 'hex')), d.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
