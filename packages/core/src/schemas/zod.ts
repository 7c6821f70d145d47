/**
 * The core's zod: `zod/mini`, whose functions build only what a schema uses (the full `zod` API
 * carries every method and the JSON Schema machinery into every bundle: the ingest function's
 * module init was ~1.5× that of its AWS clients alone). zod/mini ships no messages; English is
 * installed here, so an issue reads as it would with full zod (`Invalid input: expected string,
 * received number`). The config is global: other packages that import `zod/mini` get the same
 * messages, as they all import the core.
 *
 * Import it as a namespace (`import * as z from './zod.js'`) and use it by member (`z.string()`):
 * esbuild then bundles only the members used. Passing the namespace around as a value would pull in
 * all of zod/mini (every locale included).
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
