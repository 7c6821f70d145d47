import { it, expect } from 'vitest';
import { startEmulators } from '../../packages/local/src/emulators.js';
it('lock', async () => {
  const dir = '/tmp/scratch/lockdb';
  const a = await startEmulators({ dataDir: dir });
  const err = await startEmulators({ dataDir: dir }).catch((e) => e);
  console.log('ERR', err?.message, err?.cause?.name, err?.cause?.message);
  await a.stop();
});
