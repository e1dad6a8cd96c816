#!/usr/bin/env node
// Entry point: the compiled composition root lives in dist/ (built by `npm ci`
// through the prepare script, or `npm run build`).
import { main } from '../dist/cli/main.js';

const out = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

main(process.argv.slice(2), out).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`hpa-bridge: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
