// A kubeconfig file pointing at the Kubernetes API test double.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `dir/kubeconfig` for `serverUrl` and returns its path. */
export async function writeKubeconfig(dir: string, serverUrl: string): Promise<string> {
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
  user: {}
contexts:
- name: double
  context: {cluster: double, user: tester}
current-context: double
`,
  );
  return path;
}
