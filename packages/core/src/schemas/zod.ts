/**
 * The core's zod: `zod/mini`. Its functions build only what a schema uses, where the full `zod` API
 * carries every method, the JSON Schema machinery and more into every bundle. zod/mini ships no
 * messages; English is installed here, so an issue reads as it would with full zod (`Invalid input:
 * expected string, received number`). The config is global: the other packages, which import
 * `zod/mini` themselves, get the same messages (they all import the core).
 *
 * Two rules keep a function's module init free of zod work (scripts/bench-cold-start.ts):
 * - a module-level schema is `z.lazy(() => …)`, built on its first parse, so importing the core
 *   builds no schema (an object another module extends is the exception: see incident-summary.ts);
 * - import this module as a namespace (`import * as z from './zod.js'`) and use it by member:
 *   esbuild then bundles only the members used (passing the namespace around as a value would pull
 *   in all of zod/mini, every locale included).
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
