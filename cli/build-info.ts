// What build is running, for `hpa-bridge version` and hpa_bridge_build_info.
import { readFileSync } from 'node:fs';

/** The labels of `hpa_bridge_build_info`. */
export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly nodejs_version: string;
}

/** The environment variable the image build sets to the source revision (deploy/Dockerfile). */
export const REVISION_ENV = 'HPA_BRIDGE_REVISION';

/** The installed package's version (package.json sits two levels above dist/cli/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * What this process is: the package version, the revision the image was
 * built from (empty when the build did not say; nothing runs git at run
 * time, since the image has neither git nor the history), and Node.js.
 */
export function readBuildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  return { version: packageVersion(), revision: env[REVISION_ENV]?.trim() ?? '', nodejs_version: process.version };
}
