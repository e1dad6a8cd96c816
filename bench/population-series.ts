// Serves the population section's series to Prometheus from a process of its
// own, so building a body of tens of thousands of series per scrape costs the
// processes being measured nothing: a request counter per pod, advancing every
// scrape at a rate of its own, and a queue length per HPA with an external
// metric. Reads a PopulationShape (JSON) from argv[2] and prints
// `127.0.0.1:<port>` once listening.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXTERNAL_METRIC, POD_COUNTER, populationHpas, type PopulationShape } from './population-model.js';

const shape = JSON.parse(process.argv[2] ?? '') as PopulationShape;
const hpas = populationHpas(shape);
const counters = hpas.flatMap((h) => h.pods.map((pod) => `${POD_COUNTER}{namespace="${h.namespace}",pod="${pod}"} `));
const queues = hpas.filter((h) => h.external).map((h) => `${EXTERNAL_METRIC}{namespace="${h.namespace}",queue="${h.name}"} `);
let step = 0;

function body(): string {
  step++;
  const out = [`# TYPE ${POD_COUNTER} counter`];
  counters.forEach((series, i) => out.push(`${series}${step * (1 + (i % 10))}`));
  out.push(`# TYPE ${EXTERNAL_METRIC} gauge`);
  queues.forEach((series, i) => out.push(`${series}${(i * 7 + step) % 100}`));
  return `${out.join('\n')}\n`;
}

const server = createServer((req, res) => {
  if (req.method !== 'GET' || req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  const text = body();
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`127.0.0.1:${(server.address() as AddressInfo).port}\n`));
// Ends with the driver, whose end closes this pipe.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
