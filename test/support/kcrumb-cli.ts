/** kcrumb from the TypeScript sources, for tests that need it in a process of its own (to kill it). */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
