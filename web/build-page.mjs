// Builds the viewer page into dist/public/: type-checks page/ (DOM lib, its own tsconfig), then
// bundles page/main.ts with esbuild and copies the static files. Run after `tsc -b web`, which
// builds @camqtt/wire's dist that the page imports.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const require = createRequire(import.meta.url);
const outDir = here('./dist/public/');

const typecheck = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', here('./page/tsconfig.json')], {
  stdio: 'inherit',
});
if (typecheck.status !== 0) {
  console.error('build-page: the page does not type-check');
  process.exit(1);
}

await mkdir(outDir, { recursive: true });
await build({
  entryPoints: [here('./page/main.ts')],
  outfile: `${outDir}main.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
// The browser camera's encoder runs in a worker: its own bundle, a classic script for the widest support.
await build({
  entryPoints: [here('./page/jpeg-encoder-worker.ts')],
  outfile: `${outDir}jpeg-encoder-worker.js`,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
await Promise.all(['index.html', 'styles.css', 'favicon.svg'].map((file) => copyFile(here(`./page/${file}`), `${outDir}${file}`)));
console.log(`build-page: wrote ${outDir}`);
