import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
/** kcrumb's version, from package.json (recorded in every manifest). */
export const VERSION: string = require('../package.json').version;
/** The installed package's top folder (this file is src/version.ts or dist/version.js). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../', import.meta.url));
