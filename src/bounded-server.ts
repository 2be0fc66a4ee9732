import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';

/** How long an HTTP peer may take to send its headers, and its whole request (slowloris). */
const HEADERS_MS = 10_000;
const REQUEST_MS = 30_000;

/**
 * Bounds what peers can hold of a server the module listens on: open connections (each a file
 * descriptor the host needs for its own files and links; beyond the bound a new one is closed at once)
 * and, for HTTP, the time headers and a request may take.
 */
export function boundServer<T extends Server>(server: T, maxConnections: number): T {
  server.maxConnections = maxConnections;
  if ('headersTimeout' in server) {
    const http = server as unknown as HttpServer;
    http.headersTimeout = HEADERS_MS;
    http.requestTimeout = REQUEST_MS;
  }
  return server;
}
