#!/usr/bin/env node
// Entry point: the compiled composition root lives in dist/ (built by `npm ci`
// through the prepare script, or `npm run build`).
import { main, reportFailure } from '../dist/cli/main.js';

const out = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
const argv = process.argv.slice(2);
// The path this was started as: the image's /adapter link runs `serve`.
const program = process.argv[1];

// A failure ends the process once what was written is out: a start-up that
// failed half way may still hold connections (a ConfigMap watch, object
// caches) that would keep it running with nothing to serve.
const finish = (code) => {
  process.exitCode = code;
  if (code !== 0) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
};

main(argv, out, program).then(
  finish,
  // main reports its own failures; this is the last resort, still one line.
  (err) => finish(reportFailure(err, argv, out, program)),
);
