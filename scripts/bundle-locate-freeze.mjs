// Part of npm run build: dist/locate-freeze.cjs, everything `kcrumb locate-freeze` runs in one CommonJS
// file, which bin/kcrumb loads through vm.Script with V8's code cache (Node 20 caches no ES module's code):
// most of a small locate-freeze run is parsing and compiling kcrumb's modules, and the cache skips both.
// The other commands' modules stay outside (they are never loaded on this path); each module keeps its
// own import.meta.url, so paths it resolves from it (package.json, templates) stay what they are in dist/.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outfile = `${dist}locate-freeze.cjs`;

const keepModuleUrls = {
  name: 'module-urls',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\// }, (args) => (args.path === './commands/locate-freeze.js' ? undefined : { path: args.path, external: true }));
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'js' };
      const own = JSON.stringify(relative(dirname(outfile), args.path));
      return { contents: source.replaceAll('import.meta.url', `__kcrumbModuleUrl(${own})`), loader: 'js' };
    });
  },
};

await build({
  entryPoints: [`${dist}cli/main.js`],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile,
  logLevel: 'error',
  plugins: [keepModuleUrls],
  banner: { js: "const __kcrumbModuleUrl = (file) => require('node:url').pathToFileURL(require('node:path').join(__dirname, file)).href;" },
});
// bin/kcrumb keys the code cache by this: a cache made for another build is never used
writeFileSync(`${outfile}.hash`, createHash('sha256').update(readFileSync(outfile)).digest('hex').slice(0, 16));

