// Go's string rules (strconv.Quote, strconv.Unquote, strconv.ParseInt, len,
// and the bytewise order of strings), shared by the template engine, PromQL
// checks, label selectors, quantities and Kubernetes-style error messages,
// which all read, quote, measure or sort strings exactly as Go does.
import { Buffer } from 'node:buffer';

// strconv.IsPrint: categories L, M, N, P, S plus the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

export function isPrint(cp: number): boolean {
  return cp === 0x20 || (!(cp >= 0xd800 && cp <= 0xdfff) && PRINTABLE.test(String.fromCodePoint(cp)));
}

/** strconv.Quote, which fmt's %q uses for strings. */
export function goQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i) ?? 0;
    i += cp > 0xffff ? 2 : 1;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate reaches Go as three bytes of invalid UTF-8, each
      // printed as \x.
      for (const byte of [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]) {
        out += `\\x${byte.toString(16)}`;
      }
      continue;
    }
    const ch = String.fromCodePoint(cp);
    if (ch === '"' || ch === '\\') {
      out += `\\${ch}`;
    } else if (isPrint(cp)) {
      out += ch;
    } else if (cp === 0x07) {
      out += '\\a';
    } else if (cp === 0x08) {
      out += '\\b';
    } else if (cp === 0x0c) {
      out += '\\f';
    } else if (cp === 0x0a) {
      out += '\\n';
    } else if (cp === 0x0d) {
      out += '\\r';
    } else if (cp === 0x09) {
      out += '\\t';
    } else if (cp === 0x0b) {
      out += '\\v';
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (cp < 0x10000) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += `\\U${cp.toString(16).padStart(8, '0')}`;
    }
  }
  return `${out}"`;
}

const utf8Encoder = new TextEncoder();

function decodeUtf8(bytes: number[]): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

interface UnquotedChar {
  readonly value: number;
  /** \x and octal escapes denote a byte, not a code point. */
  readonly isByte: boolean;
  readonly next: number;
}

/** strconv.UnquoteChar. */
export function unquoteChar(s: string, i: number, quote: string): UnquotedChar | null {
  const c = s[i];
  if (c === undefined || c === quote) return null;
  if (c !== '\\') {
    const cp = s.codePointAt(i) ?? 0;
    return { value: cp, isByte: false, next: i + (cp > 0xffff ? 2 : 1) };
  }
  const e = s[i + 1];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
  if (e === undefined) return null;
  if (e in simple) return { value: simple[e] ?? 0, isByte: false, next: i + 2 };
  if (e === "'" || e === '"') return e === quote ? { value: e.charCodeAt(0), isByte: false, next: i + 2 } : null;
  if (e === 'x' || e === 'u' || e === 'U') {
    const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
    const hex = s.slice(i + 2, i + 2 + n);
    if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) return null;
    const v = parseInt(hex, 16);
    if (e === 'x') return { value: v, isByte: true, next: i + 2 + n };
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return null;
    return { value: v, isByte: false, next: i + 2 + n };
  }
  if (e >= '0' && e <= '7') {
    const oct = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(oct)) return null;
    const v = parseInt(oct, 8);
    return v > 255 ? null : { value: v, isByte: true, next: i + 4 };
  }
  return null;
}

/** strconv.Unquote for "..." and `...`; null when Go would reject it, or when the bytes are not UTF-8. */
export function unquoteString(lit: string): string | null {
  if (lit.startsWith('`')) return lit.slice(1, -1).replace(/\r/g, '');
  // PromQL also allows '...' strings, with the same escapes and \' for the quote.
  const quote = lit.startsWith("'") ? "'" : '"';
  if (lit.length < 2 || !lit.endsWith(quote)) return null;
  const body = lit.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length;) {
    const r = unquoteChar(body, i, quote);
    if (!r) return null;
    if (r.isByte) bytes.push(r.value);
    else bytes.push(...utf8Encoder.encode(String.fromCodePoint(r.value)));
    i = r.next;
  }
  return decodeUtf8(bytes);
}

/** Go's len() of a string: its length in UTF-8 bytes (a lone surrogate is U+FFFD, 3 bytes, in both). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Go's string comparison: bytewise, which for UTF-8 is code point order and
 * differs from JavaScript's UTF-16 order above U+FFFF.
 */
export function compareGoStrings(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(j) ?? 0;
    if (ca !== cb) {
      return ca < cb ? -1 : 1;
    }
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return a.length - i - (b.length - j);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * strconv.ParseInt(s, 10, 64): an optional sign, ASCII digits (no '_' since
 * the base is explicit), leading zeros allowed, int64 range; undefined where
 * Go returns an error.
 */
export function parseGoInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) {
    return undefined;
  }
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}
