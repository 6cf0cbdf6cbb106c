// Runs kcrumb's main() in this process with the given arguments, then prints `kcrumb-work-ms N` on stderr:
// the time main() took, with Node's start-up and kcrumb's module loading left out (they come before).
// Usage: node bench/timed-main.mjs locate-freeze LOG
const { main } = await import('../dist/cli/main.js');
const start = process.hrtime.bigint();
const code = await main(process.argv.slice(2));
process.stderr.write(`kcrumb-work-ms ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)}\n`);
process.exitCode = code;
