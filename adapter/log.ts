// The logging interface domain code depends on; the composition root
// supplies the implementation (pino, JSON lines on stderr).
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line, e.g. a request id. */
  child(fields: LogFields): Logger;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function wrap(p: PinoLogger): Logger {
  return {
    debug: (m, f) => p.debug(f ?? {}, m),
    info: (m, f) => p.info(f ?? {}, m),
    warn: (m, f) => p.warn(f ?? {}, m),
    error: (m, f) => p.error(f ?? {}, m),
    child: (f) => wrap(p.child(f)),
  };
}

/** Structured JSON logs, one object per line, on stderr. */
export function jsonLogger(level: LogLevel = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return wrap(
    pino(
      {
        level,
        base: { name: 'hpa-bridge' },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination as DestinationStream,
    ),
  );
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

/** One key's current window: when it began and how many occurrences it held back. */
interface RepeatWindow {
  readonly start: number;
  repeated: number;
}

/** Repeats of one key held back while its window was open. */
interface RepeatCount {
  readonly key: string;
  readonly repeated: number;
}

/**
 * Which occurrences of a repeated event to write: the first of each key at
 * once, then only a count until `windowMs` has passed since that first one.
 * Pure, with the clock given, so the windows can be tested exactly.
 */
export class RepeatFilter {
  private readonly windows = new Map<string, RepeatWindow>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /** Keys tracked at most; past that, new keys are written every time. */
    private readonly maxKeys = 1000,
  ) {}

  /**
   * Counts one occurrence. `write` says whether to write it now;
   * `endedRepeats` is what the key's previous window held back, when this
   * occurrence is the first after that window ended.
   */
  admit(key: string): { write: boolean; endedRepeats: number } {
    const now = this.now();
    const open = this.windows.get(key);
    if (open && now < open.start + this.windowMs) {
      open.repeated++;
      return { write: false, endedRepeats: 0 };
    }
    const endedRepeats = open?.repeated ?? 0;
    if (!open && this.windows.size >= this.maxKeys) {
      this.expire();
      if (this.windows.size >= this.maxKeys) return { write: true, endedRepeats: 0 };
    }
    this.windows.set(key, { start: now, repeated: 0 });
    return { write: true, endedRepeats };
  }

  /** Ends every window that has passed, returning those that held repeats back. */
  expire(): RepeatCount[] {
    const now = this.now();
    const ended: RepeatCount[] = [];
    for (const [key, w] of this.windows) {
      if (now < w.start + this.windowMs) continue;
      this.windows.delete(key);
      if (w.repeated > 0) ended.push({ key, repeated: w.repeated });
    }
    return ended;
  }

  /** When the earliest open window holding repeats ends, if any does. */
  nextEnd(): number | undefined {
    let next: number | undefined;
    for (const w of this.windows.values()) {
      if (w.repeated > 0 && (next === undefined || w.start + this.windowMs < next)) next = w.start + this.windowMs;
    }
    return next;
  }
}

interface RepeatLimitedLogOptions {
  /** How long repeats of a line are only counted (default 10 s). */
  readonly windowMs?: number;
  readonly now?: () => number;
  /** Runs `flush` after `ms`; the default is an unreferenced timer. */
  readonly schedule?: (flush: () => void, ms: number) => void;
}

type RepeatLevel = 'warn' | 'error';

/**
 * Lines that repeat during an outage (every request failing the same way:
 * about 500 lines in 6 s under load), written through `log` as the first
 * occurrence of each key at once and then one line per window with
 * `repeated: N`, the number held back. Keys name the error (what failed and
 * how), never the request, so distinct errors are each written.
 */
export class RepeatLimitedLog {
  private readonly filter: RepeatFilter;
  private readonly last = new Map<string, { level: RepeatLevel; message: string; fields: LogFields }>();
  private readonly now: () => number;
  private readonly schedule: (flush: () => void, ms: number) => void;
  private timerDue: number | undefined;

  constructor(
    private readonly log: Logger,
    options: RepeatLimitedLogOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.filter = new RepeatFilter(options.windowMs ?? 10_000, this.now);
    this.schedule = options.schedule ?? ((flush, ms) => setTimeout(flush, ms).unref());
  }

  warn(key: string, message: string, fields: LogFields = {}): void {
    this.write('warn', key, message, fields);
  }

  error(key: string, message: string, fields: LogFields = {}): void {
    this.write('error', key, message, fields);
  }

  /** Writes the count of every window that has ended. */
  flush(): void {
    this.timerDue = undefined;
    for (const { key, repeated } of this.filter.expire()) this.summarise(key, repeated);
    this.arm();
  }

  private write(level: RepeatLevel, key: string, message: string, fields: LogFields): void {
    const { write, endedRepeats } = this.filter.admit(key);
    if (endedRepeats > 0) this.summarise(key, endedRepeats);
    if (write) {
      this.log[level](message, fields);
      return;
    }
    // The latest occurrence held back is the one its summary line shows.
    this.last.set(key, { level, message, fields });
    this.arm();
  }

  private summarise(key: string, repeated: number): void {
    const line = this.last.get(key);
    if (!line) return;
    this.last.delete(key);
    this.log[line.level](line.message, { ...line.fields, repeated });
  }

  private arm(): void {
    const due = this.filter.nextEnd();
    if (due === undefined || (this.timerDue !== undefined && this.timerDue <= due)) return;
    this.timerDue = due;
    this.schedule(() => this.flush(), Math.max(0, due - this.now()));
  }
}
