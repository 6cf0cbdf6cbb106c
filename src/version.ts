import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** kcrumb's version, from package.json (recorded in every manifest). */
export const VERSION: string = require('../package.json').version;
