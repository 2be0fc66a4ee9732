import type { WorkloadKind } from './protocol.js';

/** Bump when the layout of a compiled cache entry changes; part of every cache key. */
/** 2: generated code instantiates synchronously (http workloads make an instance per request). 3: meta says whether an instance may serve several requests. 4: minified generated code (a third to a half the source each worker parses and holds). 5: generated code as a script, loaded with V8's code cache (generated-script.ts). */
export const COMPILE_FORMAT = 5;
export const COMPONENT_FILE = 'component.cjs';
export const META_FILE = 'meta.json';

export interface CompiledMeta {
  kind: WorkloadKind | undefined;
  imports: string[];
  exports: string[];
  coreModules: string[];
  adaptedFromPreview1: boolean;
  /**
   * http components that can serve one request per instance only: StarlingMonkey's (componentize-js,
   * its fetch event) trap on a second. Others keep their instance from request to request.
   */
  instancePerRequest: boolean;
}

export interface CompileRequest {
  id: number;
  bytes: Uint8Array;
  outDir: string;
}

export type CompileResponse = { id: number; ok: true; meta: CompiledMeta } | { id: number; ok: false; error: string };
