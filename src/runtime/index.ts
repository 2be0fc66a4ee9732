export { Engine, type EngineOptions, type StartOptions } from './engine.js';
export { KEEP_RECENT, RECENT_USE_MS, type CachePolicy } from './compile-cache.js';
export { WorkloadInstance, GuestFatalError, type InstanceListener } from './instance.js';
export type { CompiledComponent } from './compiler.js';
export type { CompiledMeta } from './compile-format.js';
export { NO_HEAP, type HeapReport } from './protocol.js';
export type { CallStats, Effect, ExportName, Fatal, FailureReason, GraphPlan, GuestMessage, HandlerCall, LogLevel, WorkloadKind } from './protocol.js';
export { TokenBucket } from './token-bucket.js';
export { importsKv } from './worker/kv-store.js';
