// From a Prometheus series name to the metric name a rule publishes.
import type { GoRegexp } from './go-regexp.js';

export interface SeriesFilter {
  readonly regex: GoRegexp;
  /** true for `is`, false for `isNot`. */
  readonly keep: boolean;
}

interface NameMapping {
  readonly seriesFilters: readonly SeriesFilter[];
  readonly nameMatches: GoRegexp;
  /** The expansion template, with the reference's default already applied. */
  readonly nameAs: string;
}

/**
 * The metric name for a series, or undefined when a filter drops it or the
 * name does not match. Filters are unanchored and ANDed, and `name.matches`
 * is one more `is` filter, as in the reference.
 */
export function metricNameForSeries(rule: NameMapping, seriesName: string): string | undefined {
  for (const f of rule.seriesFilters) {
    if (f.regex.test(seriesName) !== f.keep) return undefined;
  }
  const m = rule.nameMatches.findSubmatchIndex(seriesName);
  if (!m) return undefined;
  const name = rule.nameMatches.expand(rule.nameAs, m);
  return name === '' ? undefined : name;
}

/** The default `as`: the whole match without groups, the group with one. */
export function defaultNameAs(matches: GoRegexp): string | undefined {
  const groups = matches.groupNames.length - 1;
  if (groups === 0) return '$0';
  if (groups === 1) return '$1';
  return undefined;
}
