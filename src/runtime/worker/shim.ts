/**
 * preview2-shim's Node interfaces, each from its own module rather than the package's index: the index
 * loads them all, and its wasi:http module imports `node:http`, whose ES module view on Node 22 and 24
 * pulls in undici (~60 ms and ~2.3 MB of heap in every workload's thread, measured). wasi:http is loaded
 * only for a guest that imports it (`httpShim`).
 */
import * as cli from '@bytecodealliance/preview2-shim/cli';
import * as clocks from '@bytecodealliance/preview2-shim/clocks';
import * as filesystem from '@bytecodealliance/preview2-shim/filesystem';
import * as io from '@bytecodealliance/preview2-shim/io';
import * as random from '@bytecodealliance/preview2-shim/random';
import * as sockets from '@bytecodealliance/preview2-shim/sockets';

export { cli, clocks, filesystem, io, random, sockets };

export type HttpShim = typeof import('@bytecodealliance/preview2-shim/http');

let http: Promise<HttpShim> | undefined;

/** The shim's wasi:http (outbound requests, and the server of an http workload), loaded on first need. */
export function httpShim(): Promise<HttpShim> {
  http ??= import('@bytecodealliance/preview2-shim/http');
  return http;
}

/** Whether any of a component's imports is a wasi:http interface. */
export function importsHttp(imports: readonly string[]): boolean {
  return imports.some((name) => name.startsWith('wasi:http/'));
}
