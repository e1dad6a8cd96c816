// The listening sockets of `serve`: the HTTPS port with its serving
// certificate (reloaded when cert-manager rotates it), the plain --http-port
// and the plain /metrics port. Each is a lifecycle component.
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { dirname } from 'node:path';
import type { Logger } from '../adapter/log.js';
import { watchDirectories } from '../rules/file-watch.js';
import { StartupError } from './errors.js';
import { certDirPair, selfSignedPair } from './cert-dir.js';
import type { Component } from './lifecycle.js';
import type { ServeConfig } from './serve-config.js';
import { readServingPair } from './startup-files.js';
import type { ServingTlsOptions } from './tls-options.js';

interface Listener extends Component {
  readonly server: HttpServer | HttpsServer;
}

export async function servingCertificate(config: ServeConfig, log: Logger): Promise<{ cert: string; key: string }> {
  if (config.tlsCertFile && config.tlsKeyFile) {
    return readServingPair({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile });
  }
  if (config.certDir) {
    log.warn('no --tls-cert-file given: serving with the self-signed certificate of --cert-dir; an APIService then needs insecureSkipTLSVerify', { certDir: config.certDir });
    return certDirPair(config.certDir, config.bindAddress, log);
  }
  log.warn('no --tls-cert-file given: serving with a self-signed certificate; an APIService then needs insecureSkipTLSVerify');
  return selfSignedPair(config.bindAddress);
}

/** --tls-min-version and --tls-cipher-suites, for the first context and every reload. */
const tlsOptionsOf = (config: ServeConfig): ServingTlsOptions => config.tls ?? { minVersion: 'TLSv1.2' };

/** Listens, or fails start-up with one line naming the address. */
export async function listen<S extends HttpServer | HttpsServer>(server: S, port: number, host: string, describe: (e: NodeJS.ErrnoException) => string): Promise<S> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new StartupError(describe(e))));
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** Stops accepting connections and waits for requests in flight, up to `graceMs` when given. */
async function stopListening(server: HttpServer | HttpsServer, graceMs?: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive connections would hold close() open; busy ones finish first.
  server.closeIdleConnections();
  const grace = graceMs === undefined ? undefined : setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(grace);
}

export const busy = (e: NodeJS.ErrnoException): string => (e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message);

/**
 * The HTTPS listener. Modern ciphers only, unless --tls-cipher-suites and
 * --tls-min-version say otherwise: Node's defaults with TLS 1.2 as the
 * floor. With authentication, client certificates are requested, never
 * required, and verified by the authenticator against the current CAs (no
 * `ca` here: a Go client sends no certificate whose issuer is not in the
 * advertised list). Stopping it waits up to the grace period for requests
 * in flight, then cuts the rest.
 */
export async function secureListener(config: ServeConfig, tls: { cert: string; key: string }, clientCertificates: boolean, handler: RequestListener): Promise<Listener & { server: HttpsServer }> {
  const server = createHttpsServer({ ...tls, ...tlsOptionsOf(config), ...(clientCertificates ? { requestCert: true, rejectUnauthorized: false } : {}) }, handler);
  server.keepAliveTimeout = 65_000;
  await listen(server, config.securePort, config.bindAddress, (e) => `cannot listen on ${config.bindAddress}:${config.securePort}: ${busy(e)}`);
  return {
    name: 'secure port',
    server,
    stop: () => stopListening(server, config.shutdownGraceMs ?? 25_000),
  };
}

/** The plain --http-port: the webhook and health checks for platforms that end TLS in front of the container. */
export async function plainListener(config: ServeConfig, port: number, handler: RequestListener): Promise<Listener> {
  const server = await listen(createHttpServer(handler), port, config.bindAddress, (e) => `cannot listen on ${config.bindAddress}:${port}: ${busy(e)}`);
  return {
    name: 'http port',
    server,
    stop: () => stopListening(server),
  };
}

/**
 * Re-reads the serving certificate when its files change and every minute:
 * cert-manager rotates it in place; new connections get the new one, open
 * connections keep theirs.
 */
export function watchServingCertificate(config: ServeConfig, server: HttpsServer, log: Logger): Component & { reload: () => Promise<void> } {
  const reload = async (): Promise<void> => {
    if (!config.tlsCertFile || !config.tlsKeyFile) return;
    try {
      const next = await servingCertificate(config, log);
      server.setSecureContext({ ...next, ...tlsOptionsOf(config) });
      log.info('serving certificate reloaded');
    } catch (e) {
      log.error('cannot reload the serving certificate; keeping the current one', { error: (e as Error).message });
    }
  };
  const files = config.tlsCertFile && config.tlsKeyFile ? [config.tlsCertFile, config.tlsKeyFile] : [];
  const watch =
    files.length > 0
      ? watchDirectories(
          files.map((f) => dirname(f)),
          () => void reload(),
          { debounceMs: 200, pollMs: 60_000 },
        )
      : undefined;
  return {
    name: 'serving certificate watch',
    reload,
    stop: () => watch?.close(),
  };
}
