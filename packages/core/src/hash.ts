// 64-bit FNV-1a: the hash Alertmanager uses for fingerprints; here also for short, stable ids.
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

export class Fnv64 {
  private hash = FNV_OFFSET;

  add(bytes: Uint8Array): this {
    for (const b of bytes) this.hash = ((this.hash ^ BigInt(b)) * FNV_PRIME) & MASK64;
    return this;
  }

  addString(s: string): this {
    return this.add(new TextEncoder().encode(s));
  }

  hex(): string {
    return this.hash.toString(16).padStart(16, '0');
  }
}

export function fnv64(s: string): string {
  return new Fnv64().addString(s).hex();
}
