// What faas-js-runtime loads: init() before it listens, handle() for each
// request, shutdown() on SIGTERM. All of it is hpa-bridge's
// webhook/function.ts, from the package packed into this directory
// (deploy/README.md, "The webhook as a function").
export { handle, init, shutdown } from 'hpa-bridge/dist/webhook/function.js';
