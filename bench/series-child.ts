// Serves the resource section's cAdvisor and node-exporter series
// (resource-series.ts) to Prometheus from a process of its own, so that
// building and sending about 10 MB per scrape costs the servers under test,
// which share the driver's process, nothing. The body is empty until
// POST /start; from then on the counters advance one step per scrape;
// POST /stop empties it again. Reads a SeriesChildSpec (JSON) from argv[2]
// and prints `127.0.0.1:<port>` once listening.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ResourceSeries, type PodCounts } from './resource-series.js';

export interface SeriesChildSpec {
  readonly namespaces: PodCounts;
  readonly nodes: number;
}

const spec = JSON.parse(process.argv[2] ?? '') as SeriesChildSpec;
const series = new ResourceSeries(spec.namespaces, spec.nodes);
let step = 0;
let serving = false;
let body = Buffer.alloc(0);

const server = createServer((req, res) => {
  if (req.method === 'POST' && (req.url === '/start' || req.url === '/stop')) {
    serving = req.url === '/start';
    body = serving ? Buffer.from(series.exposition(step)) : Buffer.alloc(0);
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET' || req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length }).end(body);
  if (serving) {
    res.once('finish', () => {
      if (serving) body = Buffer.from(series.exposition(++step));
    });
  }
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`127.0.0.1:${(server.address() as AddressInfo).port}\n`));
// Ends with the driver, whose end closes this pipe.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
