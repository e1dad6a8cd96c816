#!/usr/bin/env node
// Entry point: the compiled composition root lives in dist/ (built by `npm ci`
// through the prepare script, or `npm run build`).
import { main, reportFailure } from '../dist/cli/main.js';

const out = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
const argv = process.argv.slice(2);

main(argv, out).then(
  (code) => {
    process.exitCode = code;
  },
  // main reports its own failures; this is the last resort, still one line.
  (err) => {
    process.exitCode = reportFailure(err, argv, out);
  },
);
