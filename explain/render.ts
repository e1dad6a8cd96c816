// The explanation as text for people and as JSON for tools, and the exit
// status each verdict maps to.
import type { Explanation, Verdict } from './explain.js';

/**
 * 0: the HPA scales, or holds because the metrics are on target; 1: it does
 * not scale although it should, or cannot compute a replica count; 2: usage
 * error; 3: the explanation could not be made (a file or Prometheus could
 * not be read).
 */
export const EXIT_CODES: Readonly<Record<Verdict, number>> = { scaling: 0, holding: 0, 'not-scaling': 1, 'cannot-evaluate': 3 };

const ratio = (r: number): string => r.toFixed(2);

export function renderText(e: Explanation): string {
  const out: string[] = [`HorizontalPodAutoscaler ${e.hpa} -> ${e.target}`, ''];
  e.metrics.forEach((m, i) => {
    out.push(`metric ${i + 1}: ${m.title}`);
    out.push(`  asks:    GET ${m.path}`);
    out.push(`  rule:    ${m.rule ?? (m.cause === 'unavailable' ? 'unknown: Prometheus could not be asked' : 'none serves it')}`);
    for (const q of m.queries) out.push(`  promql:  ${q}`);
    for (const v of m.values.slice(0, 20)) out.push(`  value:   ${v.object} = ${v.value}`);
    if (m.values.length > 20) out.push(`  value:   … and ${m.values.length - 20} more`);
    const uncounted = m.pods.filter((p) => p.state !== 'counted');
    if (m.pods.length > 0) out.push(`  pods:    ${m.pods.length - uncounted.length} of ${m.pods.length} counted at their value`);
    for (const p of uncounted) out.push(`           ${p.pod}: ${p.state}${p.detail === undefined ? '' : ` (${p.detail})`}`);
    out.push(`  target:  ${m.target}`);
    if (m.current !== undefined) out.push(`  current: ${m.current}${m.usageRatio === undefined ? '' : `, usage ratio ${ratio(m.usageRatio)}`}`);
    if (m.replicas !== undefined) out.push(`  recommends ${m.replicas} replicas`);
    if (m.error !== undefined) out.push(`  error:   ${m.error}`);
    out.push('');
  });
  const d = e.decision;
  out.push('decision:');
  out.push(`  current replicas ${d.currentReplicas} (min ${d.minReplicas}, max ${d.maxReplicas})`);
  if (d.metricReplicas !== undefined) out.push(`  highest recommendation ${d.metricReplicas}${d.metricName === undefined ? '' : ` from ${d.metricName}`}`);
  const t = d.tolerance;
  out.push(`  tolerance: no change while the usage ratio is within [${ratio(1 - t.scaleDown)}, ${ratio(1 + t.scaleUp)}]`);
  out.push(
    `  stabilization windows: scale-up ${d.scaleUpWindowSeconds} s, scale-down ${d.scaleDownWindowSeconds} s${d.stabilizedReplicas === undefined ? '' : `; after them ${d.stabilizedReplicas}`}`,
  );
  if (d.scaleUpLimit !== undefined || d.scaleDownLimit !== undefined) {
    const parts = [d.scaleUpLimit === undefined ? undefined : `at most ${d.scaleUpLimit}`, d.scaleDownLimit === undefined ? undefined : `at least ${d.scaleDownLimit}`].filter((x) => x !== undefined);
    out.push(`  scaling policies allow ${parts.join(' and ')} replicas now`);
  }
  out.push(`  desired replicas ${d.desiredReplicas}`);
  for (const c of d.conditions) out.push(`  ${c.type}=${c.status} ${c.reason}: ${c.message}`);
  out.push('');
  out.push(e.summary);
  return `${out.join('\n')}\n`;
}

export function renderJson(e: Explanation): string {
  return `${JSON.stringify({ ...e, exitCode: EXIT_CODES[e.verdict] }, null, 2)}\n`;
}
