// A kubeconfig file for a test server: the Kubernetes API test double, or hpa-bridge itself.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `dir/kubeconfig` for `serverUrl` and returns its path. A `token`
 * is sent as a bearer token; kubectl needs one, since with no credential at
 * all it asks for a username on standard input.
 */
export async function writeKubeconfig(dir: string, serverUrl: string, options: { readonly token?: string } = {}): Promise<string> {
  const path = join(dir, 'kubeconfig');
  await writeFile(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: double
  cluster: {server: "${serverUrl}", insecure-skip-tls-verify: true}
users:
- name: tester
  user: ${options.token ? `{token: "${options.token}"}` : '{}'}
contexts:
- name: double
  context: {cluster: double, user: tester}
current-context: double
`,
  );
  return path;
}
