// Live reload. The store always serves the last rule set that loaded without
// errors; a bad edit is reported and ignored, never applied, so an edit can
// never drop the rules the HPAs depend on.
import { EventEmitter } from 'node:events';
import type { Diagnostic } from './diagnostics.js';
import { coalescing, directoriesOf, watchDirectories, type FileWatch } from './file-watch.js';
import { loadRuleSet, type LoadResult, type RuleSet } from './load.js';
import { StaticResourceCatalog, type ResourceCatalog } from './resources.js';

export interface ReloadStatus {
  /** True once a rule set has loaded. */
  readonly loaded: boolean;
  /** Digest of the rule set being served. */
  readonly servingDigest: string | undefined;
  readonly servingSince: Date | undefined;
  readonly lastAttempt: Date | undefined;
  /** Whether the newest files on disk are the ones being served. */
  readonly upToDate: boolean;
  /** Errors of the newest files when they could not be applied. */
  readonly errors: readonly Diagnostic[];
  /** When the files on disk first failed to load since the last good load; undefined while up to date. */
  readonly rejectedSince: Date | undefined;
  readonly warnings: readonly Diagnostic[];
  readonly reloads: { readonly succeeded: number; readonly failed: number };
  /** Seconds the last load attempt took. */
  readonly lastDurationSeconds: number | undefined;
}

interface RuleStoreEvents {
  applied: [ruleSet: RuleSet, result: LoadResult];
  rejected: [result: LoadResult];
}

export class RuleStore extends EventEmitter<RuleStoreEvents> {
  private current: RuleSet | undefined;
  private state: ReloadStatus = {
    loaded: false,
    servingDigest: undefined,
    servingSince: undefined,
    lastAttempt: undefined,
    upToDate: false,
    errors: [],
    rejectedSince: undefined,
    warnings: [],
    reloads: { succeeded: 0, failed: 0 },
    lastDurationSeconds: undefined,
  };

  constructor(
    readonly paths: readonly string[],
    private readonly catalog: ResourceCatalog = new StaticResourceCatalog(),
  ) {
    super();
  }

  /** The rule set being served, or undefined before the first good load. */
  get rules(): RuleSet | undefined {
    return this.current;
  }

  get status(): ReloadStatus {
    return this.state;
  }

  /**
   * Loads the files now. Concurrent calls share one load, and a call made
   * during a load schedules exactly one more, so the last write always wins.
   */
  readonly reload: () => Promise<LoadResult> = coalescing(() => this.loadOnce());

  private async loadOnce(): Promise<LoadResult> {
    const started = process.hrtime.bigint();
    const result = await loadRuleSet(this.paths, this.catalog);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const now = new Date();
    const { succeeded, failed } = this.state.reloads;
    if (result.ruleSet) {
      const changed = result.ruleSet.digest !== this.current?.digest;
      if (changed) this.current = result.ruleSet;
      this.state = {
        loaded: true,
        servingDigest: this.current?.digest,
        servingSince: changed ? now : this.state.servingSince,
        lastAttempt: now,
        upToDate: true,
        errors: [],
        rejectedSince: undefined,
        warnings: result.warnings,
        reloads: { succeeded: succeeded + 1, failed },
        lastDurationSeconds: seconds,
      };
      if (changed) this.emit('applied', result.ruleSet, result);
    } else {
      this.state = {
        ...this.state,
        lastAttempt: now,
        upToDate: false,
        errors: result.errors,
        rejectedSince: this.state.rejectedSince ?? now,
        warnings: result.warnings,
        reloads: { succeeded, failed: failed + 1 },
        lastDurationSeconds: seconds,
      };
      this.emit('rejected', result);
    }
    return result;
  }
}

interface WatchOptions {
  /** Wait this long after the last change before reloading; editors and ConfigMap swaps write in bursts. */
  readonly debounceMs?: number;
  /** Also re-read on this interval, since inotify misses changes on some volumes. 0 disables. */
  readonly pollMs?: number;
}

/** Watches the directories that hold the rule files (see file-watch.ts) and reloads the store. */
export class RuleWatcher {
  private watch: FileWatch | undefined;
  private closed = false;

  constructor(
    private readonly store: RuleStore,
    private readonly options: WatchOptions = {},
  ) {}

  async start(): Promise<void> {
    const dirs = await directoriesOf(this.store.paths);
    if (this.closed) return;
    this.watch = watchDirectories(dirs, () => void this.store.reload(), { debounceMs: this.options.debounceMs ?? 250, pollMs: this.options.pollMs ?? 30_000 });
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
  }
}
