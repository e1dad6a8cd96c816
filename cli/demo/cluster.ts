// The simulated workloads: Deployments whose pods export what cAdvisor,
// the application and kube-state-metrics would, and a queue. Everything runs
// on wall-clock seconds, since Prometheus computes rate() on wall time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const NAMESPACE = 'default';

/** Requests per second offered to each web Deployment at wall-clock second t. */
export interface LoadProfile {
  readonly rampSeconds: number;
  readonly holdSeconds: number;
  readonly peakRps: number;
}

export function loadAt(p: LoadProfile, t: number): number {
  if (t < 0) return 0;
  if (t < p.rampSeconds) return (p.peakRps * t) / p.rampSeconds;
  if (t < p.rampSeconds + p.holdSeconds) return p.peakRps;
  return 0;
}

export function loadStopsAt(p: LoadProfile): number {
  return p.rampSeconds + p.holdSeconds;
}

/** CPU an idle php-apache pod burns, and what each request adds. */
const IDLE_CORES = 0.005;
const CORES_PER_REQUEST = 0.01;
/** Working set of an idle container, and what each request per second adds (buffers, PHP workers). */
const IDLE_BYTES = 40 * 1024 * 1024;
const BYTES_PER_RPS = 1024 * 1024;
/** The pause container's share, which cAdvisor reports as container="POD". */
const PAUSE_CORES = 0.0001;
const PAUSE_BYTES = 400 * 1024;
/** Messages published per request, and what one queue worker drains per second. */
const MESSAGES_PER_REQUEST = 0.8;
const MESSAGES_PER_WORKER = 8;
/** A message waits this long even when workers keep up (they poll in batches). */
const POLL_SECONDS = 5;

interface Pod {
  readonly name: string;
  /** Simulated-clock start, for the HPA's readiness checks. */
  readonly startedAt: number;
  cpuSeconds: number;
  /** The pause container's counter, apart from the app's. */
  pauseCpuSeconds: number;
  memoryBytes: number;
  requests: number;
}

export class Deployment {
  readonly pods: Pod[] = [];
  private next = 0;
  private readonly hash: string;

  constructor(
    readonly name: string,
    readonly app: string,
    /** Whether the pods serve HTTP (web) or consume the queue (worker). */
    readonly serves: boolean,
    replicas: number,
    now: number,
  ) {
    // A stable pseudo pod-template-hash, as a ReplicaSet would have.
    let h = 0;
    for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    this.hash = h.toString(36).slice(0, 9).padEnd(9, 'x');
    this.scaleTo(replicas, now);
  }

  get replicas(): number {
    return this.pods.length;
  }

  /** New pods get fresh names, so no series history carries over; removed pods stop exporting. */
  scaleTo(replicas: number, now: number): void {
    while (this.pods.length < replicas) {
      this.pods.push({ name: `${this.name}-${this.hash}-${this.next++}`, startedAt: now, cpuSeconds: 0, pauseCpuSeconds: 0, memoryBytes: IDLE_BYTES, requests: 0 });
    }
    // The newest pods go first, as a ReplicaSet prefers when scaling down.
    this.pods.splice(replicas);
  }
}

export class Cluster {
  readonly deployments: readonly Deployment[];
  queueReady = 0;
  private backlog = 0;
  private lastAdvance: number;

  constructor(
    readonly profile: LoadProfile,
    /** Wall-clock ms when the load generator starts; Infinity until then. */
    public startedAt: number,
    simNow: number,
  ) {
    this.deployments = [
      new Deployment('php-apache', 'php-apache', true, 1, simNow),
      new Deployment('frontend', 'frontend', true, 1, simNow),
      new Deployment('queue-worker', 'queue-worker', false, 1, simNow),
    ];
    this.lastAdvance = Date.now();
  }

  /** Seconds of wall time since the load generator started. */
  elapsed(wallMs = Date.now()): number {
    return (wallMs - this.startedAt) / 1000;
  }

  load(wallMs = Date.now()): number {
    return loadAt(this.profile, this.elapsed(wallMs));
  }

  /** Moves the counters and the queue forward to `wallMs`; load spreads over the pods that exist now. */
  advance(wallMs = Date.now()): void {
    const dt = (wallMs - this.lastAdvance) / 1000;
    if (dt <= 0) return;
    this.lastAdvance = wallMs;
    const rps = this.load(wallMs);
    for (const d of this.deployments) {
      if (!d.serves) continue;
      const perPod = rps / Math.max(1, d.pods.length);
      for (const p of d.pods) {
        p.requests += perPod * dt;
        p.cpuSeconds += (IDLE_CORES + perPod * CORES_PER_REQUEST) * dt;
        p.memoryBytes = IDLE_BYTES + Math.round(perPod * BYTES_PER_RPS);
      }
    }
    for (const d of this.deployments) for (const p of d.pods) p.pauseCpuSeconds += PAUSE_CORES * dt;
    const workers = this.deployments.find((d) => !d.serves);
    const arrivals = rps * MESSAGES_PER_REQUEST;
    const drain = (workers?.pods.length ?? 0) * MESSAGES_PER_WORKER;
    // Messages beyond what the workers drain pile up; those they keep up with
    // still wait one poll interval.
    this.backlog = Math.max(0, this.backlog + (arrivals - drain) * dt);
    this.queueReady = Math.round(this.backlog + Math.min(arrivals, drain) * POLL_SECONDS);
    for (const p of workers?.pods ?? []) p.cpuSeconds += IDLE_CORES * dt;
  }

  /**
   * The text exposition format a scrape of all the simulated targets would
   * yield. The cAdvisor series come as the kubelet exports them: one per
   * container, one for the pause container (container="POD") and one for the
   * pod's cgroup as a whole (container=""), which the rules must leave out.
   */
  render(): string {
    this.advance();
    const cpu: string[] = [];
    const memory: string[] = [];
    const http: string[] = [];
    const labels: string[] = [];
    for (const d of this.deployments) {
      for (const p of d.pods) {
        const id = `namespace="${NAMESPACE}",pod="${p.name}"`;
        cpu.push(
          `container_cpu_usage_seconds_total{${id},container="${d.app}"} ${p.cpuSeconds.toFixed(6)}`,
          `container_cpu_usage_seconds_total{${id},container="POD"} ${p.pauseCpuSeconds.toFixed(6)}`,
          `container_cpu_usage_seconds_total{${id},container=""} ${(p.cpuSeconds + p.pauseCpuSeconds).toFixed(6)}`,
        );
        memory.push(
          `container_memory_working_set_bytes{${id},container="${d.app}"} ${p.memoryBytes}`,
          `container_memory_working_set_bytes{${id},container="POD"} ${PAUSE_BYTES}`,
          `container_memory_working_set_bytes{${id},container=""} ${p.memoryBytes + PAUSE_BYTES}`,
        );
        if (d.serves) http.push(`http_requests_total{${id}} ${p.requests.toFixed(3)}`);
        labels.push(`kube_pod_labels{${id},label_app="${d.app}"} 1`);
      }
    }
    return [
      '# TYPE container_cpu_usage_seconds_total counter',
      ...cpu,
      '# TYPE container_memory_working_set_bytes gauge',
      ...memory,
      '# TYPE http_requests_total counter',
      ...http,
      '# TYPE kube_pod_labels gauge',
      ...labels,
      '# TYPE queue_messages_ready gauge',
      `queue_messages_ready{namespace="${NAMESPACE}",queue="jobs"} ${this.queueReady}`,
      '',
    ].join('\n');
  }
}

/** Serves the cluster's series on 127.0.0.1; counters advance on every scrape. */
export async function startExporter(cluster: Cluster): Promise<{ address: string; server: Server }> {
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const body = cluster.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
