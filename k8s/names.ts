// The name rules of Kubernetes: DNS-1123 labels and subdomains, label keys
// (qualified names) and label values, with the checks and error texts of
// k8s.io/apimachinery/pkg/api/validate/content (kube.go, dns.go, errors.go)
// as of apimachinery v0.35/v0.36, so that a name the API server would reject
// is rejected here with the text a Kubernetes user already knows.
import { utf8Length } from './go-strings.js';

const LABEL_KEY_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY_ERR_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_MAX_LENGTH = 63;
const LABEL_KEY_RE = new RegExp(`^${LABEL_KEY_FMT}$`);

const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_ERR_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MAX_LENGTH = 63;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
export const DNS1123_LABEL_ERROR_MESSAGE = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_MAX_LENGTH = 63;
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);

const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
export const DNS1123_SUBDOMAIN_ERROR_MESSAGE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
/** The DNS-1123 subdomain alphabet and shape, without the length limit. */
export const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);

function maxLenError(length: number): string {
  return `must be no more than ${length} bytes`;
}

function emptyError(): string {
  return 'must be non-empty';
}

// The double space in "'MyName',  or" is Kubernetes' own output: every
// example is followed by ", " and the separator adds " or ".
function regexError(msg: string, re: string, ...examples: string[]): string {
  let out = `${msg} (e.g. `;
  examples.forEach((example, i) => {
    if (i > 0) {
      out += ' or ';
    }
    out += `'${example}', `;
  });
  return `${out}regex used for validation is '${re}')`;
}

// A value of at most maxLength bytes (Go's len(), which counts UTF-8 bytes)
// that matches a pattern: the shape of most of apimachinery's checks.
function lengthAndPattern(value: string, maxLength: number, pattern: RegExp, patternError: string): string[] {
  const errs: string[] = [];
  if (utf8Length(value) > maxLength) {
    errs.push(maxLenError(maxLength));
  }
  if (!pattern.test(value)) {
    errs.push(patternError);
  }
  return errs;
}

const DNS1123_LABEL_PATTERN_ERROR = regexError(DNS1123_LABEL_ERROR_MESSAGE, DNS1123_LABEL_FMT, 'my-name', '123-abc');
const DNS1123_SUBDOMAIN_PATTERN_ERROR = regexError(DNS1123_SUBDOMAIN_ERROR_MESSAGE, DNS1123_SUBDOMAIN_FMT, 'example.com');
const LABEL_KEY_PATTERN_ERROR = regexError(LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc');
const LABEL_VALUE_PATTERN_ERROR = regexError(LABEL_VALUE_ERR_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345');

/** content.IsDNS1123Label: namespaces and most object names. Empty when valid. */
export function isDNS1123Label(value: string): string[] {
  // A valid subdomain that is not a valid label can only be one with dots:
  // the length is checked on its own.
  const patternError = DNS1123_SUBDOMAIN_RE.test(value) ? 'must not contain dots' : DNS1123_LABEL_PATTERN_ERROR;
  return lengthAndPattern(value, DNS1123_LABEL_MAX_LENGTH, DNS1123_LABEL_RE, patternError);
}

/** content.IsDNS1123Subdomain: object names such as pods, and label key prefixes. Empty when valid. */
export function isDNS1123Subdomain(value: string): string[] {
  return lengthAndPattern(value, DNS1123_SUBDOMAIN_MAX_LENGTH, DNS1123_SUBDOMAIN_RE, DNS1123_SUBDOMAIN_PATTERN_ERROR);
}

/**
 * Kubernetes' qualified-name (label key) check: an optional DNS-1123
 * subdomain prefix and '/', then a name of at most 63 bytes. Returns the
 * error strings apimachinery would return; empty when the key is valid.
 */
export function isQualifiedName(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) {
      errs.push(`prefix part ${emptyError()}`);
    } else {
      for (const msg of isDNS1123Subdomain(prefix)) {
        errs.push(`prefix part ${msg}`);
      }
    }
  } else {
    // More than one '/': Kubernetes stops here with a single message.
    errs.push(`a valid label key ${LABEL_KEY_PATTERN_ERROR} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`);
    return errs;
  }
  if (name.length === 0) {
    errs.push(`name part ${emptyError()}`);
  } else if (utf8Length(name) > LABEL_KEY_MAX_LENGTH) {
    errs.push(`name part ${maxLenError(LABEL_KEY_MAX_LENGTH)}`);
  }
  if (!LABEL_KEY_RE.test(name)) {
    errs.push(`name part ${LABEL_KEY_PATTERN_ERROR}`);
  }
  return errs;
}

/** Kubernetes' label-value check: empty, or at most 63 bytes of the name alphabet. */
export function isValidLabelValue(value: string): string[] {
  return lengthAndPattern(value, LABEL_VALUE_MAX_LENGTH, LABEL_VALUE_RE, LABEL_VALUE_PATTERN_ERROR);
}
