// The series resourceRules read, in the text exposition format, shaped as
// kube-prometheus scrapes them:
//
// - cAdvisor (the kubelet's /metrics/cadvisor, dockershim naming): per pod a
//   row for each container, one for the pause container (container="POD")
//   and one for the pod's cgroup as a whole (container="", image="",
//   name=""), labelled container, id, image, name, namespace, pod (and
//   cpu="total" on container_cpu_usage_seconds_total). The target labels a
//   scrape adds (job, instance, node...) are left out: no query here reads
//   them, and every byte is parsed again at each scrape.
// - node-exporter: node_cpu_seconds_total per cpu and mode, and the two
//   memory gauges the example nodeQuery subtracts, with job="node-exporter"
//   and instance set to the node name as kube-prometheus relabels it.
// - node_namespace_pod:kube_pod_info:, kube-prometheus's recording rule, as
//   plain series (the bench's Prometheus evaluates no rules): one per pod,
//   naming its node.
//
// Counters advance by one scrape interval per step, so rate() over them has
// a value at any time; gauges are rendered once.
import { createHash } from 'node:crypto';
import { podName } from './lib.js';

/** Namespaces and how many pods each holds, named by podName(). */
export type PodCounts = readonly (readonly [string, number])[];

const SCRAPE_SECONDS = 5;
const CPUS_PER_NODE = 4;
const NODE_MEMORY_BYTES = 16 * 2 ** 30;
const MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'] as const;
const PAUSE_IMAGE = 'registry.k8s.io/pause:3.9';
const MONITORING = 'monitoring';

interface Counter {
  readonly line: string;
  readonly start: number;
  readonly perStep: number;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly cores: number;
  readonly bytes: number;
}

const hex = (text: string, length: number): string => createHash('sha256').update(text).digest('hex').slice(0, length);

function uidOf(text: string): string {
  const h = hex(text, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Every pod runs `app`; every other pod of a namespace (the first, the third...) also an `istio-proxy` sidecar. */
function containersOf(index: number): Container[] {
  const app: Container = { name: 'app', image: 'docker.io/library/nginx:1.27.3', cores: 0.005 + (index % 200) * 0.001, bytes: (48 + (index % 100)) * 2 ** 20 };
  const sidecar: Container = { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.24.1', cores: 0.002, bytes: 40 * 2 ** 20 };
  return index % 2 === 0 ? [app, sidecar] : [app];
}

function labelText(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

/** Containers (not pause, not the pod's cgroup) of a namespace of `pods` pods: the series a container query returns for it. */
export const containersIn = (pods: number): number => pods + Math.ceil(pods / 2);

export const nodeNames = (count: number): string[] => Array.from({ length: count }, (_, n) => `node-${String(n).padStart(3, '0')}`);

export class ResourceSeries {
  private readonly containerCounters: Counter[] = [];
  private readonly nodeCounters: Counter[] = [];
  private readonly gauges: string;

  /** Pods are placed on the nodes in turn. */
  constructor(namespaces: PodCounts, nodeCount: number) {
    const nodes = nodeNames(nodeCount);
    const pods = namespaces.flatMap(([namespace, count]) => Array.from({ length: count }, (_, index) => ({ namespace, name: podName(namespace, index), index })));
    const memory: string[] = ['# HELP container_memory_working_set_bytes Current working set in bytes.', '# TYPE container_memory_working_set_bytes gauge'];
    const podInfo: string[] = ['# TYPE node_namespace_pod:kube_pod_info: gauge'];
    pods.forEach((pod, i) => {
      const node = nodes[i % nodeCount] as string;
      const uid = uidOf(`${pod.namespace}/${pod.name}`);
      const cgroup = `/kubepods/burstable/pod${uid}`;
      const row = (container: string, image: string, name: string, id: string, cores: number, bytes: number): void => {
        const labels = `id="${id}",image="${image}",name="${name}",namespace="${pod.namespace}",pod="${pod.name}"`;
        this.containerCounters.push({ line: `container_cpu_usage_seconds_total{container="${container}",cpu="total",${labels}}`, start: 1000 + i, perStep: cores * SCRAPE_SECONDS });
        memory.push(`container_memory_working_set_bytes{container="${container}",${labels}} ${bytes}`);
      };
      const containers = containersOf(pod.index);
      const pauseCores = 0.0001;
      const pauseBytes = 400 * 1024;
      row(
        '',
        '',
        '',
        cgroup,
        containers.reduce((sum, c) => sum + c.cores, pauseCores),
        containers.reduce((sum, c) => sum + c.bytes, pauseBytes),
      );
      row('POD', PAUSE_IMAGE, `k8s_POD_${pod.name}_${pod.namespace}_${uid}_0`, `${cgroup}/${hex(`${uid}/POD`, 64)}`, pauseCores, pauseBytes);
      for (const c of containers) row(c.name, c.image, `k8s_${c.name}_${pod.name}_${pod.namespace}_${uid}_0`, `${cgroup}/${hex(`${uid}/${c.name}`, 64)}`, c.cores, c.bytes);
      podInfo.push(`node_namespace_pod:kube_pod_info:${labelText({ namespace: pod.namespace, node, pod: pod.name })} 1`);
    });
    const memTotal = ['# TYPE node_memory_MemTotal_bytes gauge'];
    const memAvailable = ['# TYPE node_memory_MemAvailable_bytes gauge'];
    nodes.forEach((node, n) => {
      const exporterPod = `node-exporter-${hex(node, 5)}`;
      const target = { instance: node, job: 'node-exporter', namespace: MONITORING, pod: exporterPod };
      podInfo.push(`node_namespace_pod:kube_pod_info:${labelText({ namespace: MONITORING, node, pod: exporterPod })} 1`);
      const busy = 0.3 + (n % 10) * 0.05;
      for (let cpu = 0; cpu < CPUS_PER_NODE; cpu++) {
        for (const mode of MODES) {
          const perStep = mode === 'idle' ? (1 - busy) * SCRAPE_SECONDS : mode === 'user' ? busy * 0.7 * SCRAPE_SECONDS : mode === 'system' ? busy * 0.3 * SCRAPE_SECONDS : 0;
          this.nodeCounters.push({ line: `node_cpu_seconds_total${labelText({ cpu: String(cpu), mode, ...target })}`, start: 10_000 + n, perStep });
        }
      }
      memTotal.push(`node_memory_MemTotal_bytes${labelText(target)} ${NODE_MEMORY_BYTES}`);
      memAvailable.push(`node_memory_MemAvailable_bytes${labelText(target)} ${NODE_MEMORY_BYTES - (4 + (n % 8)) * 2 ** 30}`);
    });
    this.gauges = [...memory, ...podInfo, ...memTotal, ...memAvailable].join('\n');
  }

  /** The scrape body at a step; counters grow by one scrape interval of usage per step. */
  exposition(step: number): string {
    const value = (c: Counter): string => `${c.line} ${(c.start + c.perStep * step).toFixed(6)}`;
    return [
      '# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.',
      '# TYPE container_cpu_usage_seconds_total counter',
      ...this.containerCounters.map(value),
      '# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.',
      '# TYPE node_cpu_seconds_total counter',
      ...this.nodeCounters.map(value),
      this.gauges,
    ].join('\n');
  }
}
