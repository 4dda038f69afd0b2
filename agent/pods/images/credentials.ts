/**
 * Registry credentials from a pod's `imagePullSecrets` (`kubernetes.io/dockerconfigjson`
 * and legacy `kubernetes.io/dockercfg` secrets), matched to the image's registry host as
 * kubelet's credential provider keyring does (exact host, then the `docker.io` aliases).
 */
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { AuthConfig } from '../../runtime/index.js';
import { parseImage } from './reference.js';

interface DockerAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

const DOCKER_HUB_ALIASES = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'];

function hostOf(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

function authsOf(secret: Secret): Record<string, DockerAuth> {
  try {
    const data = secret.data ?? {};
    if (data['.dockerconfigjson']) {
      const doc = JSON.parse(Buffer.from(data['.dockerconfigjson'], 'base64').toString('utf8')) as { auths?: Record<string, DockerAuth> };
      return doc.auths ?? {};
    }
    if (data['.dockercfg']) return JSON.parse(Buffer.from(data['.dockercfg'], 'base64').toString('utf8')) as Record<string, DockerAuth>;
  } catch {
    // A malformed secret gives no credentials, as kubelet logs and ignores it.
  }
  return {};
}

/** The credentials from `secrets` that apply to `image`, in order. */
export function credentialsFor(image: string, secrets: readonly Secret[]): AuthConfig[] {
  const p = parseImage(image);
  if (!p) return [];
  const wanted = p.host === 'docker.io' ? DOCKER_HUB_ALIASES.map(hostOf) : [p.host];
  const out: AuthConfig[] = [];
  for (const s of secrets) {
    for (const [key, a] of Object.entries(authsOf(s))) {
      if (!wanted.includes(hostOf(key))) continue;
      let { username, password } = a;
      if (a.auth && !username) {
        const decoded = Buffer.from(a.auth, 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        if (i > 0) {
          username = decoded.slice(0, i);
          password = decoded.slice(i + 1);
        }
      }
      out.push({ username, password, serverAddress: key, identityToken: a.identitytoken, registryToken: a.registrytoken });
    }
  }
  return out;
}
