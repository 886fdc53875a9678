// The page templates (Eta), compiled once when the server starts. They are modules, not files beside
// the build: nothing to ship or find at run time, and a missing one does not compile.
export { conformance } from './conformance.js';
export { error } from './error.js';
export { job } from './job.js';
export { jobs } from './jobs.js';
export { landing } from './landing.js';
export { layout } from './layout.js';
export { logs } from './logs.js';
export { pager } from './pager.js';
export { process } from './process.js';
export { processes } from './processes.js';
export { results } from './results.js';
