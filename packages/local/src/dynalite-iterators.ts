import { createRequire } from 'node:module';

/**
 * dynalite 4 reads its LevelDB through `db.keys()` / `db.values()` iterators wrapped in streams, and the
 * streams' `destroy()` closes the iterator with `iterator.return()` — a method abstract-level iterators
 * do not have (they have `close()`). So every Query and Scan left its iterator open until the database
 * closed. An open LevelDB iterator pins the version it started on: the memtables and table files it
 * can see are never freed, however often their keys are overwritten, so native memory and the data
 * directory grew with every write (and a manual compaction could reclaim nothing).
 *
 * This gives the iterators of every dynalite store created afterwards in the process the `return()`
 * dynalite calls (startEmulators calls it before starting dynalite; calling it again does nothing). The
 * stream destroys itself when it ends and when a query stops early (Limit, 1 MB page), so each iterator
 * now closes as soon as its request is answered. It also counts the open ones, for the growth bench and
 * the integration test.
 */
export function closeDynaliteIterators(): void {
  if (installed) return;
  installed = true;
  // The module dynalite's server builds its store with (`require('./db')`), resolved the same way.
  const dbModule = createRequire(import.meta.url)('dynalite/db') as DynaliteDbModule;
  const create = dbModule.create;
  dbModule.create = (options) => {
    const store = create(options);
    const { db } = store;
    for (const method of ['keys', 'values'] as const) {
      const openIterator = db[method].bind(db);
      db[method] = (iteratorOptions) => {
        const iterator = openIterator(iteratorOptions);
        open++;
        const close = iterator.close.bind(iterator);
        let closed = false;
        iterator.close = () => {
          if (!closed) open--;
          closed = true;
          return close();
        };
        // The fix: what dynalite's stream calls when it is destroyed.
        iterator.return ??= () => iterator.close();
        return iterator;
      };
    }
    return store;
  };
}

/** LevelDB iterators dynalite has opened in this process and not closed yet (0 when idle). */
export function openDynaliteIterators(): number {
  return open;
}

let installed = false;
let open = 0;

/** The part of abstract-level's iterator and database that dynalite's streams use. */
interface LevelIterator {
  close(): Promise<void>;
  return?: () => Promise<void>;
}
interface LevelDb {
  keys(options?: unknown): LevelIterator;
  values(options?: unknown): LevelIterator;
}
interface DynaliteDbModule {
  create(options: unknown): { db: LevelDb };
}
