// Why an HPA scales or does not: a pure function from the HPA, its scale
// target, its pods, what the metrics APIs answered and "now" to an
// explanation. Every number comes from hpa/, the copy of the controller's
// algorithm: each metric's proposal from computeReplicasForMetric, the
// decision from reconcile, the limits from the behavior functions. This
// module only reads their results and says which input made the difference.
import { formatMilli } from '../k8s/quantity.js';
import {
  applySpecDefaults,
  calculateRequests,
  calculateScaleDownLimitWithBehaviors,
  calculateScaleUpLimit,
  calculateScaleUpLimitWithScalingRules,
  computeReplicasForMetric,
  DEFAULT_CONTROLLER_OPTIONS,
  getCondition,
  groupPods,
  HpaCalculationError,
  milliValue,
  podsMetricInfo,
  reconcile,
  resolveBehavior,
  resourceMetricsInfo,
  stabilizeRecommendation,
  stabilizeRecommendationWithBehaviors,
  tolerancesForHpa,
  type ControllerOptions,
  type ControllerState,
  type ExternalMetricValue,
  type HorizontalPodAutoscaler,
  type HpaCondition,
  type MetricContext,
  type MetricSpec,
  type MetricsSource,
  type MetricStatus,
  type ObjectMetricValue,
  type PodInfo,
  type PodMetricsInfo,
  type PodMetricsItem,
  type PodsMetricValue,
  type ScaleInfo,
  type Timestamp,
  type Tolerances,
} from '../hpa/index.js';
import { resolveDefaults, type DefaultsPolicy } from '../rules/defaults.js';
import { metricRequestPath, type MetricRequest } from './request.js';

/** Why a metrics API gave no answer. */
export type FetchFailureCause =
  /** No rule serves the metric (the API's NotFound for an unknown metric). */
  | 'no-rule'
  /** A rule serves it, but nothing matched: no series, no objects, a selector that matches nothing. */
  | 'no-values'
  /** Prometheus (or the object source) could not be reached or failed. */
  | 'unavailable'
  /** The request itself was refused (a selector the rule cannot render). */
  | 'rejected';

export type MetricAnswer =
  | { readonly ok: true; readonly resource: readonly PodMetricsItem[] }
  | { readonly ok: true; readonly pods: readonly PodsMetricValue[] }
  | { readonly ok: true; readonly object: ObjectMetricValue }
  | { readonly ok: true; readonly external: readonly ExternalMetricValue[] }
  | { readonly ok: false; readonly cause: FetchFailureCause; readonly message: string };

/** One metric of the HPA: the request the controller sends and what the provider answered. */
export interface FetchedMetric {
  readonly request: MetricRequest;
  /** The rule that serves it, as `rules[2] (file.yaml:14)`; undefined when none does. */
  readonly rule?: string;
  /** The PromQL the provider sent for it, in order. */
  readonly queries: readonly string[];
  readonly answer: MetricAnswer;
}

/** What the defaults webhook would do for the target's containers. */
export interface WebhookView {
  readonly policy: DefaultsPolicy;
  /** The scale target's kind and pod-template labels, as the webhook matches them. */
  readonly workloadKind: string;
  readonly workloadLabels: Readonly<Record<string, string>>;
  /** Set when the namespace carries hpa-bridge.io/defaults=off. */
  readonly namespaceOptedOut?: boolean;
}

export interface ExplainInput {
  readonly hpa: HorizontalPodAutoscaler;
  /** The scale target's scale: spec.replicas, status.replicas and the selector. */
  readonly scale: ScaleInfo;
  readonly targetKind: string;
  readonly targetName: string;
  readonly pods: readonly PodInfo[];
  /** One per metric of the spec after defaulting (metricSpecsOf), in order. */
  readonly metrics: readonly FetchedMetric[];
  readonly now: Timestamp;
  /** The controller's recent recommendations and scale events, as far as known. */
  readonly history?: ControllerState;
  readonly options?: Partial<ControllerOptions>;
  readonly webhook?: WebhookView;
}

export type PodState = 'counted' | 'no-value' | 'pending' | 'not-ready' | 'cpu-initializing' | 'ignored' | 'no-request';

export interface PodNote {
  readonly pod: string;
  readonly state: PodState;
  /** The pod's value, as the API gave it, when it has one. */
  readonly value?: string;
  readonly detail?: string;
}

export interface MetricExplanation {
  /** `Resource cpu`, `Pods http_requests_qps`, `External queue_depth`… */
  readonly title: string;
  /** The resource of a Resource or ContainerResource metric, and the container of the latter. */
  readonly resource?: string;
  readonly container?: string;
  readonly api: MetricRequest['api'];
  readonly path: string;
  readonly rule?: string;
  readonly queries: readonly string[];
  /** The value per object (pod, described object, or external series). */
  readonly values: readonly { readonly object: string; readonly value: string }[];
  /** Per-pod metrics only: every pod of the target and how the controller counts it. */
  readonly pods: readonly PodNote[];
  /** `50% of request`, `500m per pod`, `1 in total`. */
  readonly target: string;
  /** The current value in the target's terms, when computed. */
  readonly current?: string;
  readonly usageRatio?: number;
  /** The replica count this metric recommends. */
  readonly replicas?: number;
  /** Why the controller cannot use the metric (its ScalingActive message). */
  readonly error?: string;
  /** What the metrics API answered instead of values, when it failed. */
  readonly fetchError?: string;
  readonly cause?: FetchFailureCause | 'no-request' | 'no-pods' | 'calculation';
}

export type Verdict = 'scaling' | 'holding' | 'not-scaling' | 'cannot-evaluate';

export interface Decision {
  readonly currentReplicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** The highest recommendation over the metrics, and the metric it came from. */
  readonly metricReplicas?: number;
  readonly metricName?: string;
  readonly tolerance: Tolerances;
  readonly scaleUpWindowSeconds: number;
  readonly scaleDownWindowSeconds: number;
  /** The recommendation after the stabilization window. */
  readonly stabilizedReplicas?: number;
  /** The most and fewest replicas the scaling policies allow now. */
  readonly scaleUpLimit?: number;
  readonly scaleDownLimit?: number;
  readonly desiredReplicas: number;
  readonly conditions: readonly HpaCondition[];
}

export interface Explanation {
  readonly hpa: string;
  readonly target: string;
  readonly metrics: readonly MetricExplanation[];
  readonly decision: Decision;
  readonly verdict: Verdict;
  /** One plain sentence. */
  readonly summary: string;
}

/** The metrics the controller reads: the spec's, or cpu at 80% when it has none. */
export function metricSpecsOf(hpa: HorizontalPodAutoscaler): readonly MetricSpec[] {
  return applySpecDefaults(hpa.spec).metrics;
}

function unavailable(message: string): never {
  throw new Error(message);
}

/** The answer as the controller's metrics client sees it: values, or the API's error. */
function sourceOf(answer: MetricAnswer): MetricsSource {
  if (!answer.ok)
    return {
      resourceMetrics: () => unavailable(answer.message),
      podsMetric: () => unavailable(answer.message),
      objectMetric: () => unavailable(answer.message),
      externalMetric: () => unavailable(answer.message),
    };
  if ('resource' in answer) return { resourceMetrics: () => answer.resource };
  if ('pods' in answer) return { podsMetric: () => answer.pods };
  if ('object' in answer) return { objectMetric: () => answer.object };
  return { externalMetric: () => answer.external };
}

function titleOf(spec: MetricSpec): string {
  switch (spec.type) {
    case 'Resource':
      return `Resource ${spec.resource.name}`;
    case 'ContainerResource':
      return `ContainerResource ${spec.containerResource.name} of container ${spec.containerResource.container}`;
    case 'Pods':
      return `Pods ${spec.pods.metric.name}`;
    case 'Object':
      return `Object ${spec.object.metric.name} of ${spec.object.describedObject.kind}/${spec.object.describedObject.name}`;
    case 'External':
      return `External ${spec.external.metric.name}`;
  }
}

function targetOf(spec: MetricSpec): { text: string; milli?: bigint; utilization?: number } {
  const target =
    spec.type === 'Resource'
      ? spec.resource.target
      : spec.type === 'ContainerResource'
        ? spec.containerResource.target
        : spec.type === 'Pods'
          ? spec.pods.target
          : spec.type === 'Object'
            ? spec.object.target
            : spec.external.target;
  if ((spec.type === 'Resource' || spec.type === 'ContainerResource') && target.averageValue === undefined && target.averageUtilization !== undefined) {
    return { text: `${target.averageUtilization}% of request`, utilization: target.averageUtilization };
  }
  if (target.averageValue !== undefined) return { text: `${String(target.averageValue)} per pod`, milli: milliValue(target.averageValue, 'target.averageValue') };
  if (target.value !== undefined) return { text: `${String(target.value)} in total`, milli: milliValue(target.value, 'target.value') };
  return { text: 'no target' };
}

/** The current value and usage ratio from the status the controller would write. */
function currentOf(status: MetricStatus, target: ReturnType<typeof targetOf>, statusReplicas: number, spec: MetricSpec): { current?: string; usageRatio?: number } {
  if (status.type === '') return {};
  const current =
    status.type === 'Resource'
      ? status.resource.current
      : status.type === 'ContainerResource'
        ? status.containerResource.current
        : status.type === 'Pods'
          ? status.pods.current
          : status.type === 'Object'
            ? status.object.current
            : status.external.current;
  if (target.utilization !== undefined && current.averageUtilization !== undefined) {
    return { current: `${current.averageUtilization}% of request (${current.averageValue ?? '?'} per pod)`, usageRatio: current.averageUtilization / target.utilization };
  }
  if (target.milli === undefined || target.milli === 0n) return {};
  if (current.averageValue !== undefined) {
    return { current: `${current.averageValue} per pod`, usageRatio: Number(milliValue(current.averageValue, 'current')) / Number(target.milli) };
  }
  if (current.value !== undefined) {
    // An Object or External Value target compares the total; an AverageValue one divides by the replicas.
    const total = Number(milliValue(current.value, 'current'));
    const perPod = spec.type === 'Object' && spec.object.target.averageValue !== undefined;
    return { current: `${current.value} in total`, usageRatio: perPod ? total / statusReplicas / Number(target.milli) : total / Number(target.milli) };
  }
  return {};
}

function valuesOf(answer: MetricAnswer, request: MetricRequest): { object: string; value: string }[] {
  if (!answer.ok) return [];
  if ('resource' in answer) {
    const resource = request.api === 'metrics.k8s.io/v1beta1' ? request.resource : 'cpu';
    return answer.resource.map((item) => ({
      object: `pod/${item.name}`,
      value: item.containers.map((c) => `${c.name}=${String(c.usage[resource] ?? 'none')}`).join(' '),
    }));
  }
  if ('pods' in answer) return answer.pods.map((v) => ({ object: `pod/${v.pod}`, value: String(v.value) }));
  if ('object' in answer) return [{ object: request.api === 'custom.metrics.k8s.io/v1beta2' ? `${request.resource.resource}/${request.name}` : 'object', value: String(answer.object.value) }];
  return answer.external.map((v, i) => ({ object: `series ${i + 1}`, value: String(v.value) }));
}

/** The pods' samples as the controller reads them; empty when the answer has none or fails. */
function podSamples(answer: MetricAnswer, request: MetricRequest): PodMetricsInfo {
  if (!answer.ok) return new Map();
  try {
    if ('resource' in answer && request.api === 'metrics.k8s.io/v1beta1') return resourceMetricsInfo(answer.resource, request.resource, request.container ?? '', request.namespace).metrics;
    if ('pods' in answer) return podsMetricInfo(answer.pods).metrics;
  } catch (e) {
    if (!(e instanceof HpaCalculationError)) throw e;
  }
  return new Map();
}

/** Which containers of a pod lack the request, and what the webhook would add to each. */
function missingRequests(pod: PodInfo, resource: string, container: string, namespace: string, webhook: WebhookView | undefined): { container: string; webhookAdds?: string }[] {
  const out: { container: string; webhookAdds?: string }[] = [];
  for (const c of [...pod.containers, ...(pod.initContainers ?? []).filter((i) => i.restartPolicy === 'Always')]) {
    if (container !== '' && c.name !== container) continue;
    if (c.resources?.requests?.[resource] !== undefined) continue;
    const resolved =
      webhook && !webhook.namespaceOptedOut ? resolveDefaults(webhook.policy, { namespace, kind: webhook.workloadKind, workloadLabels: webhook.workloadLabels, container: c.name }) : undefined;
    const adds = resolved?.requests[resource as 'cpu']?.quantity.text;
    out.push(adds === undefined ? { container: c.name } : { container: c.name, webhookAdds: adds });
  }
  return out;
}

function podNotes(input: ExplainInput, spec: MetricSpec, fetched: FetchedMetric, options: ControllerOptions): PodNote[] {
  const perPodResource = spec.type === 'Resource' ? spec.resource.name : spec.type === 'ContainerResource' ? spec.containerResource.name : undefined;
  if (perPodResource === undefined && spec.type !== 'Pods') return [];
  const container = spec.type === 'ContainerResource' ? spec.containerResource.container : '';
  const samples = podSamples(fetched.answer, fetched.request);
  const groups = groupPods(input.pods, samples, perPodResource ?? '', {
    now: input.now,
    cpuInitializationPeriod: options.cpuInitializationPeriod,
    delayOfInitialReadinessStatus: options.delayOfInitialReadinessStatus,
  });
  const namespace = input.hpa.namespace ?? 'default';
  const utilization = perPodResource !== undefined && targetOf(spec).utilization !== undefined;
  return input.pods.map((pod): PodNote => {
    const sample = samples.get(pod.name);
    const value = sample === undefined ? {} : { value: formatMilli(sample.value) };
    if (groups.ignoredPods.has(pod.name)) return { pod: pod.name, state: 'ignored', detail: pod.phase === 'Failed' ? 'failed' : 'being deleted' };
    if (utilization) {
      try {
        calculateRequests([pod], container, perPodResource, options.podLevelResources);
      } catch (e) {
        if (!(e instanceof HpaCalculationError)) throw e;
        const missing = missingRequests(pod, perPodResource, container, namespace, input.webhook);
        const detail = missing.length > 0 ? `no ${perPodResource} request in container ${missing.map((m) => m.container).join(', ')}` : e.message;
        return { pod: pod.name, state: 'no-request', ...value, detail };
      }
    }
    if (groups.unreadyPods.has(pod.name)) {
      if (pod.phase === 'Pending') return { pod: pod.name, state: 'pending', ...value, detail: 'pending' };
      const initializing = pod.startTime !== undefined && pod.startTime + options.cpuInitializationPeriod > input.now;
      return initializing
        ? {
            pod: pod.name,
            state: 'cpu-initializing',
            ...value,
            detail: `started ${Math.round((input.now - (pod.startTime ?? 0)) / 1000)} s ago, within the ${options.cpuInitializationPeriod / 1000} s cpu initialization period`,
          }
        : { pod: pod.name, state: 'not-ready', ...value, detail: pod.ready?.status === 'False' ? 'not ready' : 'no Ready condition or start time' };
    }
    if (groups.missingPods.has(pod.name)) return { pod: pod.name, state: 'no-value', detail: fetched.answer.ok ? 'the answer has no value for this pod (no series)' : 'no answer' };
    return { pod: pod.name, state: 'counted', ...value };
  });
}

function explainMetric(input: ExplainInput, ctx: MetricContext, spec: MetricSpec, fetched: FetchedMetric, options: ControllerOptions): MetricExplanation {
  const target = targetOf(spec);
  const base = {
    title: titleOf(spec),
    ...(spec.type === 'Resource' ? { resource: spec.resource.name } : {}),
    ...(spec.type === 'ContainerResource' ? { resource: spec.containerResource.name, container: spec.containerResource.container } : {}),
    api: fetched.request.api,
    path: metricRequestPath(fetched.request),
    ...(fetched.rule === undefined ? {} : { rule: fetched.rule }),
    queries: fetched.queries,
    values: valuesOf(fetched.answer, fetched.request),
    pods: podNotes(input, spec, fetched, options),
    target: target.text,
  };
  const proposal = computeReplicasForMetric({ ...ctx, metricsSource: sourceOf(fetched.answer) }, spec);
  if (!proposal.ok) {
    const cause = !fetched.answer.ok ? fetched.answer.cause : base.pods.some((p) => p.state === 'no-request') ? 'no-request' : input.pods.length === 0 ? 'no-pods' : 'calculation';
    return { ...base, error: proposal.condition.message, cause, ...(fetched.answer.ok ? {} : { fetchError: fetched.answer.message }) };
  }
  return { ...base, ...currentOf(proposal.status, target, ctx.statusReplicas, spec), replicas: proposal.replicas };
}

/** Explains one HPA as the controller would see it at `input.now`. */
export function explainHpa(input: ExplainInput): Explanation {
  const options: ControllerOptions = { ...DEFAULT_CONTROLLER_OPTIONS, ...input.options };
  const spec = applySpecDefaults(input.hpa.spec);
  const namespace = input.hpa.namespace ?? 'default';
  const tolerance = tolerancesForHpa(spec, options);
  const statusReplicas = input.scale.statusReplicas ?? input.scale.specReplicas;
  const ctx: MetricContext = {
    pods: input.pods,
    now: input.now,
    cpuInitializationPeriod: options.cpuInitializationPeriod,
    delayOfInitialReadinessStatus: options.delayOfInitialReadinessStatus,
    podLevelResources: options.podLevelResources,
    tolerances: tolerance,
    metricsSource: {},
    namespace,
    specReplicas: input.scale.specReplicas,
    statusReplicas,
  };
  const metrics = spec.metrics.map((m, i) => {
    const fetched = input.metrics[i];
    if (fetched === undefined) throw new RangeError(`no fetched metric for spec.metrics[${i}]`);
    return explainMetric(input, ctx, m, fetched, options);
  });

  // The whole sync. The controller passes each spec's own metric identifier
  // to the source, so the answers are found by that object; PodMetrics are
  // one list for every resource metric, as the controller fetches them.
  const byIdentifier = new Map<object, MetricAnswer>();
  let podMetrics: MetricAnswer | undefined;
  spec.metrics.forEach((m, i) => {
    const answer = input.metrics[i]?.answer;
    if (answer === undefined) return;
    if (m.type === 'Resource' || m.type === 'ContainerResource') podMetrics = podMetrics?.ok === true ? podMetrics : answer;
    else byIdentifier.set(m.type === 'Pods' ? m.pods.metric : m.type === 'Object' ? m.object.metric : m.external.metric, answer);
  });
  const answerFor = (key: object | undefined): MetricsSource => sourceOf((key === undefined ? podMetrics : byIdentifier.get(key)) ?? { ok: false, cause: 'unavailable', message: 'no answer' });
  const combined: MetricsSource = {
    resourceMetrics: () => answerFor(undefined).resourceMetrics?.() ?? unavailable('no answer'),
    podsMetric: (metric) => answerFor(metric).podsMetric?.(metric) ?? unavailable('no answer'),
    objectMetric: (metric, described) => answerFor(metric).objectMetric?.(metric, described) ?? unavailable('no answer'),
    externalMetric: (metric) => answerFor(metric).externalMetric?.(metric) ?? unavailable('no answer'),
  };
  // The conditions are this sync's own: those in the HPA's status are the controller's last word, not an input.
  const hpaForSync: HorizontalPodAutoscaler = { ...input.hpa, status: { ...(input.hpa.status ?? {}), conditions: [] } };
  const result = reconcile({
    hpa: hpaForSync,
    scale: input.scale,
    pods: input.pods,
    metrics: combined,
    now: input.now,
    state: { recommendations: [], scaleUpEvents: [], scaleDownEvents: [], ...input.history },
    options,
  });

  const behavior = spec.behavior === undefined ? undefined : resolveBehavior(spec.behavior, Math.trunc(options.downscaleStabilizationWindow / 1000));
  const currentReplicas = input.scale.specReplicas;
  const history = input.history ?? {};
  const metricReplicas = result.metricDesiredReplicas;
  let stabilizedReplicas: number | undefined;
  let scaleUpLimit: number | undefined;
  let scaleDownLimit: number | undefined;
  if (metricReplicas !== undefined) {
    if (behavior === undefined) {
      stabilizedReplicas = stabilizeRecommendation(history.recommendations ?? [], metricReplicas, input.now, options.downscaleStabilizationWindow).recommendation;
      scaleUpLimit = calculateScaleUpLimit(currentReplicas);
    } else {
      const arg = {
        scaleUpBehavior: behavior.scaleUp,
        scaleDownBehavior: behavior.scaleDown,
        minReplicas: spec.minReplicas,
        maxReplicas: spec.maxReplicas,
        currentReplicas,
        desiredReplicas: metricReplicas,
      };
      stabilizedReplicas = stabilizeRecommendationWithBehaviors(arg, history.recommendations ?? [], input.now).recommendation;
      scaleUpLimit = calculateScaleUpLimitWithScalingRules(currentReplicas, history.scaleUpEvents ?? [], history.scaleDownEvents ?? [], behavior.scaleUp, input.now);
      scaleDownLimit = calculateScaleDownLimitWithBehaviors(currentReplicas, history.scaleUpEvents ?? [], history.scaleDownEvents ?? [], behavior.scaleDown, input.now);
    }
  }
  const decision: Decision = {
    currentReplicas,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    ...(metricReplicas === undefined ? {} : { metricReplicas }),
    ...(result.metricName === undefined ? {} : { metricName: result.metricName }),
    tolerance,
    scaleUpWindowSeconds: behavior?.scaleUp.stabilizationWindowSeconds ?? 0,
    scaleDownWindowSeconds: behavior?.scaleDown.stabilizationWindowSeconds ?? Math.trunc(options.downscaleStabilizationWindow / 1000),
    ...(stabilizedReplicas === undefined ? {} : { stabilizedReplicas }),
    ...(scaleUpLimit === undefined ? {} : { scaleUpLimit }),
    ...(scaleDownLimit === undefined ? {} : { scaleDownLimit }),
    desiredReplicas: result.newReplicas ?? currentReplicas,
    conditions: result.status.conditions,
  };
  const { verdict, summary } = judge(input, metrics, decision);
  return {
    hpa: `${namespace}/${input.hpa.name ?? ''}`,
    target: `${input.targetKind}/${input.targetName}`,
    metrics,
    decision,
    verdict,
    summary,
  };
}

const ratio = (r: number): string => r.toFixed(2);

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The verdict and the one sentence: the first cause that explains the outcome. */
function judge(input: ExplainInput, metrics: readonly MetricExplanation[], d: Decision): { verdict: Verdict; summary: string } {
  const failing = metrics.filter((m) => m.error !== undefined);
  const scalingActive = getCondition(d.conditions, 'ScalingActive');
  if (d.currentReplicas === 0 && d.minReplicas !== 0) return { verdict: 'not-scaling', summary: 'not scaling: the target has 0 replicas, and the HPA leaves a target scaled to zero alone' };
  if (scalingActive?.status === 'False' || d.metricReplicas === undefined) {
    const first = failing[0];
    if (first === undefined) return { verdict: 'not-scaling', summary: `not scaling: ${scalingActive?.message ?? 'no metric could be computed'}` };
    const unknown = `<unknown>: ${first.title}`;
    switch (first.cause) {
      case 'unavailable':
        return { verdict: 'cannot-evaluate', summary: `${unknown} cannot be read: ${firstLine(first.fetchError ?? first.error ?? '')}` };
      case 'no-rule':
        return { verdict: 'not-scaling', summary: `${unknown}: no loaded rule serves it${first.rule === undefined ? '' : ` (${first.rule})`}` };
      case 'no-values':
        return {
          verdict: 'not-scaling',
          summary: `${unknown}: ${first.rule === undefined ? 'the provider' : `the rule ${first.rule}`} answers no value for it (no matching series or objects; check the metric selector and labels)`,
        };
      case 'no-request':
        return { verdict: 'not-scaling', summary: `not scaling: ${missingRequestSentence(input, first)}` };
      case 'no-pods':
        return { verdict: 'not-scaling', summary: `not scaling: no pod matches the target's selector${input.scale.selector ? ` ${input.scale.selector}` : ''}` };
      default:
        return { verdict: 'not-scaling', summary: `${unknown}: ${first.error ?? ''}` };
    }
  }
  const desired = d.desiredReplicas;
  const wanted = d.metricReplicas;
  const limited = getCondition(d.conditions, 'ScalingLimited');
  const able = getCondition(d.conditions, 'AbleToScale');
  if (desired !== d.currentReplicas) {
    const how = limited?.status === 'True' ? ` (the metrics want ${wanted}; ${limitText(limited.reason, d)})` : '';
    return { verdict: 'scaling', summary: `scaling: from ${d.currentReplicas} to ${desired} replicas on ${d.metricName ?? 'the metrics'}${how}` };
  }
  if (wanted < d.currentReplicas && d.currentReplicas <= d.minReplicas) return { verdict: 'holding', summary: `holding at minReplicas ${d.minReplicas}: the metrics want ${wanted}` };
  if (wanted > d.currentReplicas && d.currentReplicas >= d.maxReplicas) return { verdict: 'not-scaling', summary: `not scaling: at maxReplicas ${d.maxReplicas}, and the metrics want ${wanted}` };
  if (wanted !== d.currentReplicas) {
    if (able?.reason === 'ScaleDownStabilized' || able?.reason === 'ScaleUpStabilized') {
      const window = able.reason === 'ScaleDownStabilized' ? d.scaleDownWindowSeconds : d.scaleUpWindowSeconds;
      return {
        verdict: 'not-scaling',
        summary: `held by the stabilization window: the metrics want ${wanted}, but the ${able.reason === 'ScaleDownStabilized' ? 'highest' : 'lowest'} recommendation of the last ${window} s is ${d.stabilizedReplicas ?? d.currentReplicas}`,
      };
    }
    if (limited?.status === 'True') return { verdict: 'not-scaling', summary: `not scaling: the metrics want ${wanted}, but ${limitText(limited.reason, d)}` };
  }
  // Holding: within tolerance, or held by unready or missing pods.
  const deciding = metrics.find((m) => m.replicas === wanted && m.usageRatio !== undefined) ?? metrics.find((m) => m.usageRatio !== undefined);
  if (deciding?.usageRatio !== undefined) {
    const r = deciding.usageRatio;
    const within = 1 - d.tolerance.scaleDown <= r && r <= 1 + d.tolerance.scaleUp;
    const unready = deciding.pods.filter((p) => p.state === 'not-ready' || p.state === 'cpu-initializing' || p.state === 'pending');
    const missing = deciding.pods.filter((p) => p.state === 'no-value');
    if (within) return { verdict: 'holding', summary: `holding: usage ratio ${ratio(r)} of ${deciding.title} is within tolerance ${toleranceText(d.tolerance)}` };
    if (r > 1 && unready.length > 0) {
      return {
        verdict: 'not-scaling',
        summary: `not scaling up: ${count(unready.length, 'pod')} of ${input.pods.length} ${unready.length === 1 ? 'is' : 'are'} not ready (${unready[0]?.state === 'cpu-initializing' ? 'cpu initialization period' : 'not ready'}), and counted at 0 they bring usage ratio ${ratio(r)} back to within tolerance or below 1`,
      };
    }
    if (missing.length > 0) {
      return {
        verdict: 'not-scaling',
        summary: `not scaling: ${count(missing.length, 'pod')} of ${input.pods.length} ${missing.length === 1 ? 'has' : 'have'} no value; counted at the target they hold usage ratio ${ratio(r)} back`,
      };
    }
  }
  return { verdict: 'holding', summary: `holding: the metrics recommend the current ${d.currentReplicas} replicas` };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function toleranceText(t: Tolerances): string {
  return t.scaleUp === t.scaleDown ? String(t.scaleUp) : `-${t.scaleDown}/+${t.scaleUp}`;
}

function limitText(reason: string, d: Decision): string {
  switch (reason) {
    case 'TooManyReplicas':
      return `maxReplicas is ${d.maxReplicas}`;
    case 'TooFewReplicas':
      return `minReplicas is ${d.minReplicas}`;
    case 'ScaleUpLimit':
      return `the scale-up policies allow at most ${d.scaleUpLimit ?? d.desiredReplicas} now`;
    case 'ScaleDownLimit':
      return `the scale-down policies allow no fewer than ${d.scaleDownLimit ?? d.desiredReplicas} now`;
    default:
      return reason;
  }
}

function missingRequestSentence(input: ExplainInput, m: MetricExplanation): string {
  const without = m.pods.filter((p) => p.state === 'no-request');
  const resource = m.resource ?? '';
  const namespace = input.hpa.namespace ?? 'default';
  const first = input.pods.find((p) => p.name === without[0]?.pod);
  const container = m.container ?? '';
  const adds = first ? missingRequests(first, resource, container, namespace, input.webhook)[0]?.webhookAdds : undefined;
  const fix =
    input.webhook === undefined
      ? 'no defaults policy was loaded to say whether the webhook would add one'
      : input.webhook.namespaceOptedOut
        ? `the defaults webhook is off in namespace ${namespace}`
        : adds === undefined
          ? 'the defaults webhook adds none for it'
          : `the defaults webhook would add ${adds} when the workload is next applied`;
  return `${without.length} of ${input.pods.length} pods have no ${resource} request (${fix})`;
}
