// Watching files that are replaced in place: rule files and the serving
// certificate alike. Directories are watched rather than files, because a
// ConfigMap or Secret volume update swaps the `..data` symlink and the
// files' own inodes never change; events are debounced, since editors and
// the kubelet write in bursts; and a poll re-checks on an interval, since
// inotify misses changes on some volumes (and a missing directory cannot be
// watched at all until it appears).
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

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

/** The directories to watch for `paths`: a directory itself, a file's (or a missing path's) parent. */
export async function directoriesOf(paths: readonly string[]): Promise<Set<string>> {
  const dirs = new Set<string>();
  for (const p of paths) {
    const full = resolve(p);
    try {
      dirs.add((await stat(full)).isDirectory() ? full : dirname(full));
    } catch {
      dirs.add(dirname(full));
    }
  }
  return dirs;
}

/**
 * `load` behind a guard for reloads: concurrent calls share one run, and a
 * call made during a run schedules exactly one more, so the last write on
 * disk is always the one read last.
 */
export function coalescing<T>(load: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  let again = false;
  return () => {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      let result: T;
      do {
        again = false;
        result = await load();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a call during the await sets it
      } while (again);
      return result;
    })().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
