/**
 * dynalite keeps its data in LevelDB, which keeps the overwritten versions of an item until its
 * deeper levels compact. The worker rewrites an incident on every change, so without help a local data
 * directory — and the RSS of the LevelDB tables mapped into memory — grows with every write. This
 * module records the LevelDB databases dynalite opens so the local stack can compact them now and then.
 * It must be imported before dynalite (which picks up `Level` when it loads).
 */
import { createRequire } from 'node:module';

interface LevelDb {
  status: string;
  compactRange(start: string, end: string): Promise<void>;
}
type LevelClass = new (...args: unknown[]) => LevelDb;

const level = createRequire(import.meta.url)('level') as { Level: LevelClass };
const opened = new Set<LevelDb>();
const Level = level.Level;
level.Level = class extends Level {
  constructor(...args: unknown[]) {
    super(...args);
    opened.add(this);
  }
};

/** Compacts every open database dynalite uses (on LevelDB's own thread); forgets closed ones. */
export async function compactLevelDbs(): Promise<void> {
  for (const db of [...opened]) {
    if (db.status === 'closed') opened.delete(db);
    // Every key: dynalite's keys are strings below U+FFFF.
    else if (db.status === 'open') await db.compactRange('\u0000', '\uffff').catch(() => undefined);
  }
}
