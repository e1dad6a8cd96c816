// Series shaped as a cluster's exporters emit them, for the metrics.k8s.io
// tests: cAdvisor through the kubelet, the kubelet's resource metrics,
// node-exporter, windows_exporter and kube-state-metrics, with the target
// labels their usual scrape configurations add. The label sets follow what
// the resourceRules of test/fixtures/rules/real-world (rules-01, rules-02,
// rules-03) and test/fixtures/rules/prometheus-adapter-resource-rules.yaml
// select on.
//
// The usage a test expects is the model below; every exporter's series are
// derived from it the way the real exporter's would be (per-CPU idle
// counters, MemTotal minus MemAvailable, a pod cgroup that holds its
// containers and the pause container, a root cgroup for the node), so a
// test computes the numbers kubectl must print from the model alone.
//
// CPU counters rise at a constant rate with sample timestamps every 15 s
// (Exporter.setRate); rates that are binary fractions of a core (1/4,
// 1/64...) keep every sample exact, so irate() returns them exactly.
import { createHash } from 'node:crypto';
import type { Exporter, Labels } from './exporter.js';

export interface ContainerUsage {
  readonly name: string;
  readonly image: string;
  /** Cores in use; absent: cAdvisor has no CPU series for the container. */
  readonly cpuCores?: number;
  /** Working set; absent: cAdvisor has no memory series for the container. */
  readonly memoryBytes?: number;
}

export interface PodUsage {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerUsage[];
}

export interface NodeUsage {
  readonly name: string;
  readonly os: 'linux' | 'windows';
  readonly internalIP: string;
  /** Logical CPUs: the node's capacity, one node_cpu_seconds_total{cpu} each. */
  readonly cpus: number;
  /** CPU the node allocates to pods (status.allocatable.cpu), in millicores. */
  readonly allocatableMilliCpu: number;
  /** Physical memory (status.capacity.memory, MemTotal). */
  readonly memoryTotalBytes: number;
  /** status.allocatable.memory. */
  readonly allocatableMemoryBytes: number;
  /** Cores in use on the whole node. */
  readonly cpuCores: number;
  /** Memory in use on the whole node: the root cgroup's working set, MemTotal - MemAvailable. */
  readonly memoryBytes: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/** The pause container's usage, as cAdvisor reports it: a little memory, next to no CPU. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.9';
export const PAUSE_CPU_CORES = 1 / 1024;
export const PAUSE_MEMORY_BYTES = 499_712;

/** A deterministic hex string standing for an ID the runtime would make. */
function hexId(seed: string, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += createHash('sha256').update(`${seed}#${i}`).digest('hex');
  return out.slice(0, length);
}

/** The pod's UID, as the API server would have given it. */
export function podUid(pod: Pick<PodUsage, 'namespace' | 'name'>): string {
  const h = hexId(`uid/${pod.namespace}/${pod.name}`, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The systemd cgroup of a Burstable pod, as the kubelet names it. */
function podCgroup(pod: PodUsage): string {
  return `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid(pod).replace(/-/g, '_')}.slice`;
}

/** Which generation of cAdvisor's pod labels to emit. */
export type CadvisorLabels =
  /** Kubernetes 1.16 and later: container, pod. */
  | 'current'
  /** Kubernetes 1.14 and 1.15 emitted both, the old ones deprecated. */
  | 'both';

export interface CadvisorOptions {
  readonly labels?: CadvisorLabels;
  /** The labels the scrape adds; default kube-prometheus's kubelet endpoint with instance=<ip>:10250. */
  readonly target?: Labels;
}

/** kube-prometheus's kubelet ServiceMonitor: prometheus-operator adds `node` for Node targets. */
export function kubeletTarget(node: NodeUsage, metricsPath: string): Labels {
  return { job: 'kubelet', metrics_path: metricsPath, instance: `${node.internalIP}:10250`, node: node.name, endpoint: 'https-metrics', service: 'kubelet' };
}

/**
 * cAdvisor's container_cpu_usage_seconds_total and
 * container_memory_working_set_bytes for one node: every container of its
 * pods, each pod's pause container (container="POD"), each pod's own cgroup
 * (container="", the sum of the above) and the root cgroup id="/" (the
 * whole node, with empty pod labels).
 */
export function emitCadvisor(exporter: Exporter, node: NodeUsage, pods: readonly PodUsage[], options: CadvisorOptions = {}): void {
  const style = options.labels ?? 'current';
  const target = options.target ?? kubeletTarget(node, '/metrics/cadvisor');
  const series = (s: { id: string; image: string; name: string; container: string; pod: string; namespace: string }): Labels => ({
    ...target,
    id: s.id,
    image: s.image,
    name: s.name,
    container: s.container,
    pod: s.pod,
    namespace: s.namespace,
    ...(style === 'both' ? { container_name: s.container, pod_name: s.pod } : {}),
  });
  const emit = (labels: Labels, cpuCores: number | undefined, memoryBytes: number | undefined): void => {
    if (cpuCores !== undefined) exporter.setRate('container_cpu_usage_seconds_total', labels, cpuCores);
    if (memoryBytes !== undefined) exporter.set('container_memory_working_set_bytes', labels, memoryBytes);
  };
  for (const pod of pods) {
    if (pod.node !== node.name) continue;
    const cgroup = podCgroup(pod);
    const sandbox = hexId(`sandbox/${pod.namespace}/${pod.name}`, 64);
    emit(
      series({ id: `${cgroup}/cri-containerd-${sandbox}.scope`, image: PAUSE_IMAGE, name: sandbox, container: 'POD', pod: pod.name, namespace: pod.namespace }),
      PAUSE_CPU_CORES,
      PAUSE_MEMORY_BYTES,
    );
    let cpu = PAUSE_CPU_CORES;
    let memory = PAUSE_MEMORY_BYTES;
    for (const c of pod.containers) {
      const id = hexId(`container/${pod.namespace}/${pod.name}/${c.name}`, 64);
      emit(series({ id: `${cgroup}/cri-containerd-${id}.scope`, image: c.image, name: id, container: c.name, pod: pod.name, namespace: pod.namespace }), c.cpuCores, c.memoryBytes);
      cpu += c.cpuCores ?? 0;
      memory += c.memoryBytes ?? 0;
    }
    emit(series({ id: cgroup, image: '', name: '', container: '', pod: pod.name, namespace: pod.namespace }), cpu, memory);
  }
  emit(series({ id: '/', image: '', name: '', container: '', pod: '', namespace: '' }), node.cpuCores, node.memoryBytes);
}

/**
 * The kubelet's /metrics/resource node series (node_cpu_usage_seconds_total,
 * node_memory_working_set_bytes), which prometheus-adapter's default
 * resourceRules read for nodes. The endpoint's container series are left
 * out: with cAdvisor's scraped too they would be counted twice.
 */
export function emitKubeletResource(exporter: Exporter, node: NodeUsage, target: Labels = kubeletTarget(node, '/metrics/resource')): void {
  exporter.setRate('node_cpu_usage_seconds_total', target, node.cpuCores);
  exporter.set('node_memory_working_set_bytes', target, node.memoryBytes);
}

/** The node-exporter pod that runs on `node`, as the DaemonSet names it. */
export function nodeExporterPod(node: Pick<NodeUsage, 'name'>): string {
  return `node-exporter-${hexId(`node-exporter/${node.name}`, 5).replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)] as string)}`;
}

/**
 * node-exporter on `node` as kube-prometheus scrapes it: instance is the
 * node's name (a relabeling of its ServiceMonitor), namespace and pod are
 * the exporter's own pod's. CPU time is split per logical CPU, the idle
 * share making up what the node does not use; MemAvailable is MemTotal
 * less the memory in use.
 */
export function emitNodeExporter(exporter: Exporter, node: NodeUsage): void {
  const target: Labels = { job: 'node-exporter', instance: node.name, namespace: 'monitoring', pod: nodeExporterPod(node), container: 'kube-rbac-proxy', endpoint: 'https', service: 'node-exporter' };
  const busy = node.cpuCores / node.cpus;
  const modes: Record<string, number> = { idle: 1 - busy, user: busy * 0.75, system: busy * 0.25, iowait: 0, irq: 0, nice: 0, softirq: 0, steal: 0 };
  for (let cpu = 0; cpu < node.cpus; cpu++) {
    for (const [mode, rate] of Object.entries(modes)) exporter.setRate('node_cpu_seconds_total', { ...target, cpu: String(cpu), mode }, rate);
  }
  const available = node.memoryTotalBytes - node.memoryBytes;
  exporter.set('node_memory_MemTotal_bytes', target, node.memoryTotalBytes);
  exporter.set('node_memory_MemAvailable_bytes', target, available);
  exporter.set('node_memory_MemFree_bytes', target, Math.floor(available / 4));
  exporter.set('node_memory_Cached_bytes', target, Math.floor(available / 2));
  exporter.set('node_memory_Buffers_bytes', target, Math.floor(available / 8));
}

export interface WindowsExporterOptions {
  /**
   * Also label the series with node=<name>. kube-prometheus's Windows
   * scrape config relabels only `instance` to the node's name, but its
   * adapter's CPU query selects Windows nodes by `node`.
   */
  readonly nodeLabel?: boolean;
}

/** windows_exporter on `node`: CPU time per core and mode, physical and available memory. */
export function emitWindowsExporter(exporter: Exporter, node: NodeUsage, options: WindowsExporterOptions = {}): void {
  const target: Labels = { job: 'windows-exporter', instance: node.name, ...(options.nodeLabel ? { node: node.name } : {}) };
  const busy = node.cpuCores / node.cpus;
  const modes: Record<string, number> = { idle: 1 - busy, user: busy * 0.5, privileged: busy * 0.5, interrupt: 0, dpc: 0 };
  for (let core = 0; core < node.cpus; core++) {
    for (const [mode, rate] of Object.entries(modes)) exporter.setRate('windows_cpu_time_total', { ...target, core: `0,${core}`, mode }, rate);
  }
  exporter.set('windows_cs_physical_memory_bytes', target, node.memoryTotalBytes);
  exporter.set('windows_memory_available_bytes', target, node.memoryTotalBytes - node.memoryBytes);
}

/** kube-state-metrics as kube-prometheus scrapes it (honorLabels, and its ServiceMonitor drops the target's pod labels). */
export const KUBE_STATE_METRICS_TARGET: Labels = { job: 'kube-state-metrics', instance: '10.244.0.7:8443', container: 'kube-rbac-proxy-main' };

const labelName = (key: string): string => `label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;

/** kube_pod_info and kube_pod_labels for a pod, kube_node_info and kube_node_labels for a node. */
export function emitKubeStateMetrics(exporter: Exporter, cluster: { readonly nodes: readonly NodeUsage[]; readonly pods: readonly PodUsage[] }): void {
  const t = KUBE_STATE_METRICS_TARGET;
  const ipOf = new Map(cluster.nodes.map((n) => [n.name, n.internalIP]));
  cluster.pods.forEach((pod, i) => {
    const uid = podUid(pod);
    exporter.set(
      'kube_pod_info',
      {
        ...t,
        namespace: pod.namespace,
        pod: pod.name,
        uid,
        host_ip: ipOf.get(pod.node) ?? '',
        pod_ip: `10.244.${1 + (i >> 8)}.${(i % 250) + 2}`,
        node: pod.node,
        created_by_kind: 'ReplicaSet',
        created_by_name: pod.name.replace(/-[^-]+$/, ''),
        priority_class: '',
        host_network: 'false',
      },
      1,
    );
    const labels = Object.fromEntries(Object.entries(pod.labels ?? {}).map(([k, v]) => [labelName(k), v]));
    exporter.set('kube_pod_labels', { ...t, namespace: pod.namespace, pod: pod.name, uid, ...labels }, 1);
  });
  for (const node of cluster.nodes) {
    const windows = node.os === 'windows';
    exporter.set(
      'kube_node_info',
      {
        ...t,
        node: node.name,
        kernel_version: windows ? '10.0.20348.2582' : '6.1.0-25-amd64',
        os_image: windows ? 'Windows Server 2022 Datacenter' : 'Debian GNU/Linux 12 (bookworm)',
        container_runtime_version: 'containerd://1.7.20',
        kubelet_version: 'v1.30.4',
        kubeproxy_version: 'v1.30.4',
        provider_id: `kind://docker/test/${node.name}`,
        pod_cidr: '',
        internal_ip: node.internalIP,
        system_uuid: podUid({ namespace: '', name: node.name }),
      },
      1,
    );
    const labels = Object.fromEntries(Object.entries(nodeLabels(node)).map(([k, v]) => [labelName(k), v]));
    exporter.set('kube_node_labels', { ...t, node: node.name, ...labels }, 1);
  }
}

/** The labels the kubelet gives its Node, plus the model's own. */
export function nodeLabels(node: NodeUsage): Record<string, string> {
  return { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': node.os, ...(node.labels ?? {}) };
}

/** Memory as the kubelet writes it: Ki when whole. */
const memoryQuantity = (bytes: number): string => (bytes % 1024 === 0 ? `${bytes / 1024}Ki` : String(bytes));

/** Node status as the kubelet reports it: capacity and allocatable, and its OS. */
export function nodeStatus(node: NodeUsage): Record<string, unknown> {
  return {
    capacity: { cpu: String(node.cpus), memory: memoryQuantity(node.memoryTotalBytes), pods: '110' },
    allocatable: { cpu: `${node.allocatableMilliCpu}m`, memory: memoryQuantity(node.allocatableMemoryBytes), pods: '110' },
    nodeInfo: { operatingSystem: node.os, architecture: 'amd64', kubeletVersion: 'v1.30.4' },
    addresses: [
      { type: 'InternalIP', address: node.internalIP },
      { type: 'Hostname', address: node.name },
    ],
  };
}

/** A running pod's spec and status. */
export function podSpecAndStatus(pod: PodUsage): { spec: Record<string, unknown>; status: Record<string, unknown> } {
  return {
    spec: { nodeName: pod.node, containers: pod.containers.map((c) => ({ name: c.name, image: c.image })) },
    status: { phase: 'Running', containerStatuses: pod.containers.map((c) => ({ name: c.name, image: c.image, ready: true, restartCount: 0 })) },
  };
}
