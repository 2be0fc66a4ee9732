import { readFileSync } from 'node:fs';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Credentials for `registry` from a Docker-style config.json (`auths`), as oras and skopeo read it:
 * `{"auths": {"myacr.azurecr.io": {"auth": base64("user:password")}}}` or `username`/`password`.
 * Host settings only, never the twin; the values are never logged.
 */
export function credentialsFor(registry: string, authFile: string | undefined): RegistryCredentials | undefined {
  if (!authFile) return undefined;
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(readFileSync(authFile, 'utf8'));
  } catch {
    return undefined;
  }
  const entry = config.auths?.[registry] ?? config.auths?.[`https://${registry}`];
  if (!entry) return undefined;
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  if (!entry.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  return at > 0 ? { username: decoded.slice(0, at), password: decoded.slice(at + 1) } : undefined;
}
