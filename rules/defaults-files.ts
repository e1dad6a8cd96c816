// The `defaults` section alone, for the webhook run as a function. The files
// are listed, read and decoded as the full loader does it (rule-files.ts), so
// the same files mean the same policy, but only the defaults section is
// compiled: the PromQL parser and the template engine the other sections need
// are never loaded. The rest of each file is checked for its format only;
// `hpa-bridge lint` checks all of it.
import { EventEmitter } from 'node:events';
import { buildDefaultsPolicy, compileDefaultsSection, type DefaultsPolicy } from './defaults.js';
import { DiagnosticList, type Diagnostic } from './diagnostics.js';
import { coalescing, directoriesOf, watchDirectories, type FileWatch } from './file-watch.js';
import { decodeRuleTexts, digestOf, readRuleTexts } from './rule-files.js';
import { listField } from './schema.js';

/** What applies when no rule file says otherwise: the built-in fallback alone. */
export const FALLBACK_POLICY: DefaultsPolicy = buildDefaultsPolicy([], new DiagnosticList());

export interface DefaultsLoadResult {
  /** Present only when there are no errors. */
  readonly policy: DefaultsPolicy | undefined;
  readonly errors: readonly Diagnostic[];
  readonly warnings: readonly Diagnostic[];
  readonly files: readonly string[];
  /** Hash of the files' contents, to tell a real change from a touch. */
  readonly digest: string;
}

/** Reads every rule file under `paths` and compiles their `defaults` sections into one policy. Never throws on bad input. */
export async function loadDefaultsPolicy(paths: readonly string[]): Promise<DefaultsLoadResult> {
  const diagnostics = new DiagnosticList();
  const texts = await readRuleTexts(paths, diagnostics);
  const entries = decodeRuleTexts(texts, diagnostics).flatMap(({ file, root }) => compileDefaultsSection(file, listField(root, 'defaults'), diagnostics));
  const policy = buildDefaultsPolicy(entries, diagnostics);
  return {
    policy: diagnostics.hasErrors ? undefined : policy,
    errors: diagnostics.errors,
    warnings: diagnostics.warnings,
    files: texts.map((t) => t.file),
    digest: digestOf(texts),
  };
}

interface DefaultsStoreEvents {
  /** A load without errors whose files differ from the policy in force. */
  applied: [result: DefaultsLoadResult];
  /** A load with errors; the policy in force stays. */
  rejected: [result: DefaultsLoadResult];
}

interface DefaultsWatchOptions {
  /** Wait this long after the last change before reloading; editors and ConfigMap swaps write in bursts. */
  readonly debounceMs?: number;
  /** Also re-read on this interval, since inotify misses changes on some volumes. 0 disables. */
  readonly pollMs?: number;
}

/**
 * The defaults policy in force: the last one that loaded without errors, or
 * the built-in fallback before any did. A bad edit is reported and ignored,
 * as serve's RuleStore does with the whole rule set.
 */
export class DefaultsStore extends EventEmitter<DefaultsStoreEvents> {
  private current: { readonly policy: DefaultsPolicy; readonly digest: string } | undefined;

  constructor(readonly paths: readonly string[]) {
    super();
  }

  get policy(): DefaultsPolicy {
    return this.current?.policy ?? FALLBACK_POLICY;
  }

  /** Whether a policy has loaded from the files, rather than the fallback being in force. */
  get loaded(): boolean {
    return this.current !== undefined;
  }

  /** Loads the files now; concurrent calls share one load, and a call during a load schedules one more. */
  readonly reload: () => Promise<DefaultsLoadResult> = coalescing(async () => {
    const result = await loadDefaultsPolicy(this.paths);
    if (!result.policy) this.emit('rejected', result);
    else if (result.digest !== this.current?.digest) {
      this.current = { policy: result.policy, digest: result.digest };
      this.emit('applied', result);
    }
    return result;
  });

  /** Reloads whenever the directories holding the files change (file-watch.ts), and every `pollMs`. */
  async watch(options: DefaultsWatchOptions = {}): Promise<FileWatch> {
    const dirs = await directoriesOf(this.paths);
    return watchDirectories(dirs, () => void this.reload(), { debounceMs: options.debounceMs ?? 250, pollMs: options.pollMs ?? 30_000 });
  }
}
