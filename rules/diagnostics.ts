// Problems found in rule files. Validation gathers every problem instead of
// stopping at the first, so a platform team sees the whole list in one lint
// run; errors block a rule set from loading, warnings never do.
import type { DiagnosticCode, ErrorCode, WarningCode } from './diagnostic-codes.js';

type Severity = 'error' | 'warning';

export interface SourcePosition {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
}

export interface Diagnostic extends SourcePosition {
  readonly severity: Severity;
  /** Where in the document, e.g. `rules[2].name.matches`. */
  readonly path: string;
  /** Stable, machine-readable identifier of the kind of problem. */
  readonly code: DiagnosticCode;
  readonly message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.path ? `${d.path}: ` : '';
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${where}${d.message} (${d.code})`;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.message.localeCompare(b.message);
}

/** Collects diagnostics; the order of the final list is by file and position. */
export class DiagnosticList {
  private readonly items: Diagnostic[] = [];

  error(at: SourcePosition, path: string, code: ErrorCode, message: string): void {
    this.items.push({ ...pick(at), severity: 'error', path, code, message });
  }

  warning(at: SourcePosition, path: string, code: WarningCode, message: string): void {
    this.items.push({ ...pick(at), severity: 'warning', path, code, message });
  }

  add(d: Diagnostic): void {
    this.items.push(d);
  }

  get errors(): Diagnostic[] {
    return this.sorted().filter((d) => d.severity === 'error');
  }

  get warnings(): Diagnostic[] {
    return this.sorted().filter((d) => d.severity === 'warning');
  }

  /** Whether an error was already reported at or below `path`, so a check can skip reporting its consequence. */
  hasErrorUnder(path: string): boolean {
    return this.items.some((d) => d.severity === 'error' && (d.path === path || d.path.startsWith(`${path}.`) || d.path.startsWith(`${path}[`)));
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  sorted(): Diagnostic[] {
    return [...this.items].sort(compareDiagnostics);
  }
}

function pick(at: SourcePosition): SourcePosition {
  return { file: at.file, line: at.line, column: at.column };
}
