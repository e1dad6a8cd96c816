// Output: a `kubectl get hpa -w`-style table, a small chart and the scaling
// events, either redrawn in place (TTY) or as plain lines.
import type { PodMetricsItem } from '../../hpa/index.js';
import { tryParseQuantity } from '../../k8s/quantity.js';
import type { ScaleEvent, SimulatedHpa } from './simulator.js';

const COLUMNS = ['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS'] as const;
const WIDTHS = [14, 25, 24, 9, 9, 8];
const BARS = ' ▁▂▃▄▅▆▇█';

export function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(WIDTHS[i] ?? 10)))
    .join(' ')
    .trimEnd();
}

export function header(): string {
  return row(COLUMNS);
}

export function hpaRow(h: SimulatedHpa): string {
  return row([h.name, h.reference, h.targets(), String(h.spec.minReplicas ?? 1), String(h.spec.maxReplicas), String(h.target.replicas)]);
}

function spark(values: readonly number[], max: number, width: number): string {
  return values
    .slice(-width)
    .map((v) => BARS[Math.min(BARS.length - 1, Math.round((v / Math.max(max, 1e-9)) * (BARS.length - 1)))] ?? ' ')
    .join('');
}

export interface History {
  readonly load: number[];
  readonly replicas: Map<string, number[]>;
}

export function screen(opts: {
  title: string;
  phase: string;
  hpas: readonly SimulatedHpa[];
  history: History;
  peakLoad: number;
  events: readonly ScaleEvent[];
  /** A `kubectl top pods` view of the pods of the HPA on CPU. */
  top?: { readonly title: string; readonly lines: readonly string[] } | undefined;
}): string {
  const width = 60;
  const lines = [opts.title, opts.phase, '', header(), ...opts.hpas.map(hpaRow), ''];
  if (opts.top) lines.push(opts.top.title, ...opts.top.lines, '');
  lines.push(`${'load req/s'.padEnd(14)} ${spark(opts.history.load, opts.peakLoad, width)}`);
  for (const h of opts.hpas) {
    lines.push(`${h.name.padEnd(14)} ${spark(opts.history.replicas.get(h.name) ?? [], h.spec.maxReplicas, width)}`);
  }
  lines.push('', 'Events:');
  // Redrawn in place, so a line must not wrap: cut events at the terminal width.
  const columns = Math.max(40, (process.stdout.columns || 120) - 1);
  for (const e of opts.events.slice(-8)) {
    const line = eventLine(e);
    lines.push(line.length > columns ? `${line.slice(0, columns - 1)}…` : line);
  }
  return lines.join('\n');
}

export function eventLine(e: ScaleEvent): string {
  return `  t=${e.at.toFixed(0).padStart(3)}s  ${e.hpa}: SuccessfulRescale ${e.from} -> ${e.to}: ${e.reason}`;
}

/**
 * `kubectl top pods` of one HPA's pods, from the PodMetrics it last read:
 * per pod the sum over its containers, CPU in millicores and memory in MiB,
 * rounded as kubectl rounds them.
 */
export function topPods(items: readonly PodMetricsItem[]): string[] {
  const sum = (item: PodMetricsItem, resource: string): bigint | undefined => {
    let total = 0n;
    for (const c of item.containers) {
      const q = tryParseQuantity(c.usage[resource]);
      if (!q) return undefined;
      total += q.nano;
    }
    return total;
  };
  // Quantity.MilliValue() and Value() round up; usage is never negative.
  const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
  const rows = [...items]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((item) => {
      const cpu = sum(item, 'cpu');
      const memory = sum(item, 'memory');
      return [item.name, cpu === undefined ? '<unknown>' : `${ceilDiv(cpu, 1_000_000n)}m`, memory === undefined ? '<unknown>' : `${ceilDiv(memory, 1_000_000_000n) / (1024n * 1024n)}Mi`];
    });
  const width = Math.max(4, ...rows.map((r) => r[0]?.length ?? 0)) + 3;
  const line = (cells: readonly string[]): string => `${(cells[0] ?? '').padEnd(width)}${(cells[1] ?? '').padEnd(13)}${cells[2] ?? ''}`;
  return [line(['NAME', 'CPU(cores)', 'MEMORY(bytes)']), ...rows.map(line)];
}
