// Calls an exported function of a compiled module on a worker thread. A timer
// cannot interrupt synchronous code on its own thread, so a call that blocks
// for minutes would freeze the test runner and then pass; on a worker it
// fails at the deadline instead, and the worker is terminated.
import { Worker } from 'node:worker_threads';

const ENTRY = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module)
  .then((m) => m[workerData.name](...workerData.args))
  .then(
    (value) => parentPort.postMessage({ value }),
    (e) => parentPort.postMessage({ error: String((e && e.stack) || e) }),
  );
`;

/** `name(...args)` from `module`, with arguments and result passed by structured clone. */
export function callInWorker<T>(module: URL, name: string, args: readonly unknown[], deadlineMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(ENTRY, { eval: true, workerData: { module: module.href, name, args } });
    worker.unref();
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`${name} did not return within ${deadlineMs} ms`));
    }, deadlineMs);
    worker.once('message', (m: { value?: T; error?: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m.value as T);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
