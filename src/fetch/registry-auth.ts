import { readFileSync } from 'node:fs';

/**
 * A user name and password (Basic, or sent to a token server), or an OAuth2 refresh token: what
 * `az acr login` stores as `identitytoken` for a Microsoft Entra identity, traded at the registry's
 * token server for an access token (grant_type=refresh_token).
 */
export type RegistryCredentials =
  | { readonly kind: 'password'; readonly username: string; readonly password: string }
  | { readonly kind: 'refresh-token'; readonly refreshToken: string };

/**
 * Credentials for `registry` from a Docker-style config.json (`auths`), as oras and skopeo read it:
 * `{"auths": {"myacr.azurecr.io": {"auth": base64("user:password")}}}`, `username`/`password`, or
 * `identitytoken`. Host settings only, never the twin; the values are never logged.
 */
export function credentialsFor(registry: string, authFile: string | undefined): RegistryCredentials | undefined {
  if (!authFile) return undefined;
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }> };
  try {
    config = JSON.parse(readFileSync(authFile, 'utf8'));
  } catch {
    return undefined;
  }
  const entry = config.auths?.[registry] ?? config.auths?.[`https://${registry}`];
  if (!entry) return undefined;
  if (entry.identitytoken) return { kind: 'refresh-token', refreshToken: entry.identitytoken };
  if (entry.username && entry.password) return { kind: 'password', username: entry.username, password: entry.password };
  if (!entry.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  return at > 0 ? { kind: 'password', username: decoded.slice(0, at), password: decoded.slice(at + 1) } : undefined;
}
