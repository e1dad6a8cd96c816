// One HTTPS request with an optional client certificate, for tests of
// certificate-based authentication.
import { request as httpsRequest } from 'node:https';

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface Call {
  readonly client?: { readonly cert: string; readonly key: string };
  readonly headers?: Record<string, string | string[]>;
  readonly method?: string;
  readonly body?: string;
}

/** `ca` verifies the server; the body is parsed as JSON, or kept as `{text}`. */
export function httpsCall(url: string, ca: string, options: Call = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        ca,
        // The test certificates name no host; the CA check is what matters here.
        checkServerIdentity: () => undefined,
        // A fresh connection per call: no TLS session is resumed across client certificates.
        agent: false,
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
        headers: options.headers ?? {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { text };
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
