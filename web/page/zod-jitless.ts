/**
 * The page's Content-Security-Policy forbids eval. Zod 4 (status parsing, from the wire
 * contract) probes for it with `new Function` when it builds an object schema, which the browser
 * reports as a CSP violation on every load. Jitless parsing needs no eval and is quick enough for
 * a few statuses a second. Imported first by main.ts, so it runs before any schema is built.
 */
import { config } from 'zod';

config({ jitless: true });
