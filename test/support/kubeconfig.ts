// A kubeconfig file for a test server: the Kubernetes API test double, or hpa-bridge itself.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface KubeconfigOptions {
  /** Sent as a bearer token. */
  readonly token?: string;
  /** A client certificate and key (PEM). */
  readonly client?: { readonly cert: string; readonly key: string };
  /** The CA (PEM) that verifies the server; without it the server's certificate is not checked. */
  readonly ca?: string;
  /** The file name inside `dir`; default `kubeconfig`. */
  readonly name?: string;
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

/**
 * Writes `dir/kubeconfig` for `serverUrl` and returns its path. kubectl
 * needs a credential (a token or a client certificate): with none at all it
 * asks for a username on standard input.
 */
export async function writeKubeconfig(dir: string, serverUrl: string, options: KubeconfigOptions = {}): Promise<string> {
  const path = join(dir, options.name ?? 'kubeconfig');
  const cluster = options.ca ? `{server: "${serverUrl}", certificate-authority-data: "${b64(options.ca)}"}` : `{server: "${serverUrl}", insecure-skip-tls-verify: true}`;
  const user = [
    ...(options.token ? [`token: "${options.token}"`] : []),
    ...(options.client ? [`client-certificate-data: "${b64(options.client.cert)}"`, `client-key-data: "${b64(options.client.key)}"`] : []),
  ];
  await writeFile(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: double
  cluster: ${cluster}
users:
- name: tester
  user: {${user.join(', ')}}
contexts:
- name: double
  context: {cluster: double, user: tester}
current-context: double
`,
  );
  return path;
}
