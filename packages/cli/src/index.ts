export { type CliIo, run, USAGE } from './correlate.js';
