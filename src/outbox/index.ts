export { Outbox, type OutboxSettings, type OutboxHandle, type AckingSend } from './outbox.js';
export { OutboxRefusal, OutboxWriter, type FsyncPolicy } from './writer.js';
