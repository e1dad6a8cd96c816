// `hpa-bridge demo`: the whole product on one machine, with no cluster. A
// simulated workload is scraped by a real Prometheus, `serve` turns the
// example rules into metrics APIs, and simulated HPAs read those APIs over
// HTTPS and scale the workload, which changes what the exporter reports.
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../adapter/log.js';
import { parseArgs, UsageError, type Output } from './args.js';
import { startServer, type RunningServer } from './serve.js';
import { Cluster, loadStopsAt, startExporter, type LoadProfile } from './demo/cluster.js';
import { metricsClient, type MetricsClient } from './demo/metrics-client.js';
import { aptInstallPrometheus, findOnPath, startPrometheus, type DemoPrometheus } from './demo/prometheus.js';
import { eventLine, header, hpaRow, screen, topPods, type History } from './demo/render.js';
import { demoHpas, SYNC_PERIOD_MS, type ScaleEvent, type SimulatedHpa } from './demo/simulator.js';
import { explainFrom } from './explain.js';
import { loadRules } from './explain-sources.js';
import { prometheusClientFor } from './prometheus-connection.js';
import { renderText } from '../explain/render.js';
import { StaticResourceCatalog } from '../rules/resources.js';
import { NAMESPACE } from './demo/cluster.js';

const DEMO_USAGE = `Usage: hpa-bridge demo [--fast] [--no-tty]

Runs a real Prometheus (Debian's prometheus package), a simulated workload,
'hpa-bridge serve' with rules/examples, and three simulated HPAs that read the
metrics APIs over HTTPS: php-apache's on CPU utilization from metrics.k8s.io,
the others on custom and external metrics. One sync every second stands for
the controller's 15 s.

  --fast     a shorter load profile and scale-down window (about a minute and a half: the rules' 1m rate window runs on wall time)
  --no-tty   plain lines instead of a live table (the default when stdout is not a terminal)
`;

interface Timing {
  readonly profile: LoadProfile;
  readonly syncMs: number;
  /** behavior.scaleDown.stabilizationWindowSeconds, in simulated seconds. */
  readonly scaleDownWindowSeconds: number;
  /** Wall seconds after the load stops before the demo gives up waiting for scale-in. */
  readonly settleSeconds: number;
}

// The example rules take rate() over [1m] of wall time, which no clock
// compression can shorten: a per-pod rate keeps the whole burst in it for a
// minute after the load stops, so scale-in always comes a minute or more later.
const NORMAL: Timing = { profile: { rampSeconds: 10, holdSeconds: 50, peakRps: 100 }, syncMs: 1000, scaleDownWindowSeconds: 300, settleSeconds: 105 };
const FAST: Timing = { profile: { rampSeconds: 3, holdSeconds: 17, peakRps: 100 }, syncMs: 1000, scaleDownWindowSeconds: 60, settleSeconds: 85 };
const SIM_FACTOR = SYNC_PERIOD_MS / 1000;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

interface Track {
  peak: number;
  /** Wall seconds since load start of the first scale-up. */
  outAt: number | undefined;
  /** Wall seconds since load start when replicas last came back to minReplicas after the load stopped. */
  inAt: number | undefined;
}

function topTitle(h: SimulatedHpa): string {
  return `$ kubectl top pods -l app=${h.target.app}`;
}

/** `hpa-bridge explain` of one simulated HPA, with the simulation's own history, on the same code paths as the command. */
async function explainDemoHpa(h: SimulatedHpa, rulesDir: string, prometheusUrl: string, simNow: number): Promise<string> {
  const rules = await loadRules([rulesDir], new StaticResourceCatalog());
  const labels = { app: h.target.app };
  const explanation = await explainFrom({
    hpa: { name: h.name, namespace: NAMESPACE, spec: h.spec, ...(h.status ? { status: h.status } : {}) },
    workload: {
      kind: 'Deployment',
      name: h.target.name,
      specReplicas: h.target.replicas,
      selector: `app=${h.target.app}`,
      templateLabels: labels,
      containers: h.pods()[0]?.containers ?? [],
      initContainers: [],
    },
    pods: h.pods().map((info) => ({ info, labels })),
    rules,
    prometheus: prometheusClientFor({ prometheusUrl, requestTimeoutMs: 5_000 }),
    now: simNow,
    timeoutMs: 5_000,
    ...(h.history ? { history: h.history } : {}),
  });
  return renderText(explanation);
}

export async function runDemo(argv: readonly string[], out: Output): Promise<number> {
  const { flags, positional } = parseArgs(argv, { fast: 'boolean', 'no-tty': 'boolean', tty: 'boolean', help: 'boolean' });
  if (flags.help) {
    out.stdout(DEMO_USAGE);
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const timing = flags.fast ? FAST : NORMAL;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- typed boolean, isTTY is undefined when stdout is not a terminal
  const tty = flags['no-tty'] ? false : Boolean(flags.tty) || Boolean(process.stdout.isTTY);
  const say = (line: string): void => out.stdout(`${line}\n`);

  let binary = await findOnPath('prometheus');
  if (!binary) {
    if (process.getuid?.() !== 0) {
      out.stderr('Prometheus is not installed. Install it with:\n  sudo apt-get install -y prometheus\n');
      return 1;
    }
    say("Prometheus is not installed; installing Debian's prometheus package (apt-get install -y prometheus)…");
    if (!aptInstallPrometheus() || !(binary = await findOnPath('prometheus'))) {
      out.stderr('hpa-bridge demo: installing prometheus failed; see the apt-get output above\n');
      return 1;
    }
  }

  const abort = new AbortController();
  // A function, not the property, so the checks after each await are not narrowed away.
  const interrupted = (): boolean => abort.signal.aborted;
  let prometheus: DemoPrometheus | undefined;
  let exporter: Server | undefined;
  let server: RunningServer | undefined;
  let client: MetricsClient | undefined;
  // Ctrl-C, a kill or a closed terminal end the run through the same cleanup
  // (the default handlers would exit without it); the 'exit' hook covers a crash.
  const onSigint = (): void => abort.abort();
  const onExit = (): void => prometheus?.stopSync();
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of SIGNALS) process.once(signal, onSigint);
  process.on('exit', onExit);

  try {
    const simStart = Date.UTC(2025, 0, 1);
    // The load generator starts only once everything is up.
    const cluster = new Cluster(timing.profile, Number.POSITIVE_INFINITY, simStart);
    const started = await startExporter(cluster);
    exporter = started.server;
    say(`workload exporter: http://${started.address}/metrics (php-apache, frontend, queue-worker in namespace default)`);
    say('starting Prometheus (scrape interval 1s; the first scrape comes ~5 s after it is ready)…');
    prometheus = await startPrometheus(binary, started.address);
    say(`prometheus: ${prometheus.url} (data in ${prometheus.dir})`);
    if (interrupted()) return 130;

    const rulesDir = fileURLToPath(new URL('../../rules/examples', import.meta.url));
    server = await startServer(
      {
        rules: [rulesDir],
        prometheusUrl: prometheus.url,
        securePort: 0,
        bindAddress: '127.0.0.1',
        objectSource: 'prometheus',
        authentication: 'none',
        relistIntervalMs: 5_000,
        maxAgeSeconds: 60,
        cacheTtlSeconds: 1,
        requestTimeoutMs: 5_000,
        logLevel: 'silent',
        metricsPort: undefined,
      },
      silentLogger,
    );
    await server.discovery.relist();
    say(`hpa-bridge serve: ${server.url} (rules ${rulesDir}, authentication off, loopback only)`);
    client = metricsClient(server.url);

    const hpas = demoHpas(cluster.deployments, timing.scaleDownWindowSeconds);
    const cpuHpa = hpas.find((h) => h.kind === 'cpu');
    say(
      `HPAs: php-apache on Resource cpu, averageUtilization 50% (kubectl autoscale deployment php-apache --cpu-percent=50), ` +
        `from metrics.k8s.io/v1beta1 PodMetrics; frontend on Pods http_requests_per_second (custom.metrics.k8s.io); ` +
        `queue-worker on External queue_messages_ready (external.metrics.k8s.io)`,
    );
    const tracks = new Map<string, Track>(hpas.map((h) => [h.name, { peak: h.target.replicas, outAt: undefined, inAt: undefined }]));
    const events: ScaleEvent[] = [];
    const history: History = { load: [], replicas: new Map(hpas.map((h) => [h.name, []])) };
    const stopAt = loadStopsAt(timing.profile);
    const deadline = stopAt + timing.settleSeconds;

    cluster.advance();
    cluster.startedAt = Date.now();
    say(
      `load: ramp to ${timing.profile.peakRps} req/s over ${timing.profile.rampSeconds} s, hold ${timing.profile.holdSeconds} s, then stop; ` +
        `1 s of wall time = ${SIM_FACTOR} s of HPA time; scale-down stabilization ${timing.scaleDownWindowSeconds} s (HPA time)`,
    );
    if (!tty) say(header());

    let settledSyncs = 0;
    let simNow = simStart;
    for (let k = 0; !interrupted(); k++) {
      await sleep(cluster.startedAt + k * timing.syncMs - Date.now(), abort.signal);
      if (interrupted()) break;
      simNow = simStart + k * SYNC_PERIOD_MS;
      const t = cluster.elapsed();
      const sources = await Promise.all(hpas.map((h) => h.fetch(client as MetricsClient, simNow)));
      const changed: SimulatedHpa[] = [];
      hpas.forEach((h, i) => {
        const source = sources[i];
        if (!source) return;
        const from = h.target.replicas;
        const scaled = h.sync(source, simNow);
        if (!scaled) return;
        h.target.scaleTo(scaled.to, simNow);
        const e = { hpa: h.name, from, to: scaled.to, reason: scaled.reason, at: t };
        events.push(e);
        changed.push(h);
        const track = tracks.get(h.name);
        if (track) {
          track.peak = Math.max(track.peak, scaled.to);
          if (scaled.to > from && track.outAt === undefined) track.outAt = t;
        }
        if (!tty) say(eventLine(e).trim());
      });
      for (const h of hpas) {
        const track = tracks.get(h.name);
        if (!track) continue;
        const atMin = h.target.replicas === (h.spec.minReplicas ?? 1);
        if (t >= stopAt && atMin && track.inAt === undefined && track.outAt !== undefined) track.inAt = t;
        if (!atMin) track.inAt = undefined;
      }
      history.load.push(cluster.load());
      for (const h of hpas) history.replicas.get(h.name)?.push(h.target.replicas);

      const phase = t < timing.profile.rampSeconds ? 'ramping up' : t < stopAt ? 'holding peak load' : 'load stopped';
      if (tty) {
        out.stdout(
          `\x1b[H\x1b[2J${screen({
            title: `hpa-bridge demo — t=${t.toFixed(0)} s wall, ${((t * SIM_FACTOR) / 60).toFixed(1)} min HPA time (Ctrl-C to stop)`,
            phase: `load ${cluster.load().toFixed(0)} req/s (${phase})`,
            hpas,
            history,
            peakLoad: timing.profile.peakRps,
            events,
            top: cpuHpa?.lastPodMetrics ? { title: topTitle(cpuHpa), lines: topPods(cpuHpa.lastPodMetrics) } : undefined,
          })}\n`,
        );
      } else {
        if (changed.length > 0 || k % 5 === 0) {
          for (const h of hpas) say(`${hpaRow(h)}   [t=${t.toFixed(0)}s load=${cluster.load().toFixed(0)}req/s]`);
        }
        if (k % 15 === 5 && cpuHpa?.lastPodMetrics) {
          say(`${topTitle(cpuHpa)}   [t=${t.toFixed(0)}s]`);
          for (const line of topPods(cpuHpa.lastPodMetrics)) say(`  ${line}`);
        }
      }

      const allBack = [...tracks.values()].every((tr) => tr.outAt !== undefined && tr.inAt !== undefined);
      settledSyncs = allBack ? settledSyncs + 1 : 0;
      if (settledSyncs >= 3 || t > deadline) break;
    }
    if (interrupted()) {
      say('interrupted; stopping');
      return 130;
    }

    say('');
    say('Summary (wall seconds; HPA time is 15x):');
    const problems: string[] = [];
    for (const h of hpas) {
      const tr = tracks.get(h.name);
      if (!tr) continue;
      const min = h.spec.minReplicas ?? 1;
      const outText = tr.outAt === undefined ? 'never' : `${tr.outAt.toFixed(0)}s`;
      const inText = tr.inAt === undefined ? 'never' : `${(tr.inAt - stopAt).toFixed(0)}s`;
      const ok = tr.outAt !== undefined && tr.inAt !== undefined && tr.peak > min;
      if (tr.outAt === undefined || tr.peak <= min) problems.push(`${h.name} never scaled out under load${h.lastError ? ` (${h.lastError})` : ''}`);
      else if (tr.inAt === undefined) problems.push(`${h.name} did not scale back to ${min} after the load stopped (still ${h.target.replicas})`);
      say(`SUMMARY ${h.name} min=${min} peak=${tr.peak} final=${h.target.replicas} ` + `scale-out=${outText} scale-in=${inText} ${ok ? 'OK' : 'FAILED'}`);
    }
    say(`  scale-out: from load start to the first scale-up; scale-in: from load stop to back at minReplicas`);
    const explained = hpas.find((h) => h.kind === 'http');
    if (explained) {
      say('');
      say(`$ hpa-bridge explain -n ${NAMESPACE} ${explained.name} --rules rules/examples --prometheus-url ${prometheus.url}`);
      const text = await explainDemoHpa(explained, rulesDir, prometheus.url, simNow).catch((e: unknown) => `explain failed: ${(e as Error).message}\n`);
      for (const line of text.trimEnd().split('\n')) say(`  ${line}`);
    }
    if (problems.length > 0) {
      out.stderr(`hpa-bridge demo: ${problems.join('; ')}\n`);
      return 1;
    }
    say('every HPA scaled out under load and back in after it');
    return 0;
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSigint);
    client?.close();
    await server?.close().catch(() => undefined);
    if (exporter) {
      exporter.closeAllConnections();
      await new Promise<void>((resolve) => exporter?.close(() => resolve()));
    }
    prometheus?.stopSync();
    process.off('exit', onExit);
  }
}
