// Watching files that are replaced in place: rule files and the serving
// certificate alike. Directories are watched rather than files, because a
// ConfigMap or Secret volume update swaps the `..data` symlink and the
// files' own inodes never change; events are debounced, since editors and
// the kubelet write in bursts; and a poll re-checks on an interval, since
// inotify misses changes on some volumes (and a missing directory cannot be
// watched at all until it appears).
import { watch, type FSWatcher } from 'node:fs';

interface FileWatchOptions {
  /** Wait this long after the last change before calling back. */
  readonly debounceMs: number;
  /** Also call back on this interval. 0 disables. */
  readonly pollMs: number;
}

export interface FileWatch {
  close(): void;
}

/** Calls `onChange` (debounced) when anything in `dirs` changes, and every `pollMs`. */
export function watchDirectories(dirs: Iterable<string>, onChange: () => void, options: FileWatchOptions): FileWatch {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, options.debounceMs);
    timer.unref();
  };
  for (const dir of new Set(dirs)) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', schedule);
      watchers.push(w);
    } catch {
      // The directory may appear later; polling covers it.
    }
  }
  const poller = options.pollMs > 0 ? setInterval(schedule, options.pollMs) : undefined;
  poller?.unref();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (poller) clearInterval(poller);
      for (const w of watchers) w.close();
      watchers.length = 0;
    },
  };
}
