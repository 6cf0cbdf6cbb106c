export { cpioArchive, type CpioEntry } from '../../src/hunt/cpio.js';
