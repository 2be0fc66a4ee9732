import { OutboxWriter, type Outbox, type OutboxHandle } from '../outbox/index.js';
import { type Effect, type GuestMessage, type LogLevel, type WorkloadKind } from '../runtime/index.js';
import type { GraphMeasurements, TelemetrySink } from '../base/index.js';

/** What the output side needs from the host (a part of WorkloadContext). */
export interface OutputContext {
  readonly sink: TelemetrySink;
  /** Durable telemetry (IoT Edge mode); without it telemetry goes straight to the sink. */
  readonly outbox: Outbox | undefined;
  publish(from: string, topic: string, msg: GuestMessage): void;
}

/** How the output side tells its workload what happened. */
export interface OutputReports {
  guestLog(level: LogLevel, text: string): void;
  /** A problem the workload lives on with (a refusal): log and status. */
  warn(text: string): void;
  /** A graph's node counts and operator metrics. */
  measured(measured: GraphMeasurements): void;
}

/**
 * Where one workload's output goes: telemetry (to the sink, or through the running instance's
 * outbox), local topics, guest log lines, refusals, and a command's stdout lines as telemetry on
 * output `<workload name>`. Counts what was sent, refused and dropped for the status.
 */
export class WorkloadOutput {
  sent = 0;
  refused = 0;
  dropped = 0;
  #digest = '';
  #kind: WorkloadKind | null = null;
  /** The running instance's outbox, and the one its stdout lines go to (commands). */
  #outbox: OutboxHandle | undefined;
  #stdoutBox: { handle: OutboxHandle; writer: OutboxWriter } | undefined;

  constructor(private readonly name: string, private readonly ctx: OutputContext, private readonly reports: OutputReports) {}

  /** A new instance starts: in IoT Edge mode it gets an outbox of its own (a command one more, for stdout). */
  instanceStarting(digest: string, kind: WorkloadKind | null): OutboxHandle | undefined {
    this.instanceEnded();
    this.#digest = digest;
    this.#kind = kind;
    const outbox = this.ctx.outbox;
    if (!outbox) return undefined;
    this.#outbox = outbox.open(this.name);
    if (kind === 'command') {
      const handle = outbox.open(this.name);
      this.#stdoutBox = { handle, writer: new OutboxWriter(handle.dir, digest, new BigInt64Array(handle.counters), handle.capBytes, handle.fsync) };
    }
    return this.#outbox;
  }

  /** The instance is gone: its outboxes are removed once what is in them is sent. */
  instanceEnded(): void {
    this.detach()();
  }

  /**
   * Lets go of the current instance's outboxes now and returns what closes them, to be called once that
   * instance is gone. Taken before the instance stops, so a closing that finishes late can only ever
   * close that instance's folders, never those of the instance started after it.
   */
  detach(): () => void {
    const { ctx } = this;
    const outbox = this.#outbox;
    const stdoutBox = this.#stdoutBox;
    this.#outbox = undefined;
    this.#stdoutBox = undefined;
    return () => {
      if (outbox) ctx.outbox?.writerClosed(outbox.dir);
      if (stdoutBox) {
        stdoutBox.writer.close();
        ctx.outbox?.writerClosed(stdoutBox.handle.dir);
      }
    };
  }

  effect(effect: Effect): void {
    switch (effect.type) {
      case 'telemetry':
        this.sent++;
        this.ctx.sink.send({ workload: this.name, digest: this.#digest, output: effect.output, msg: effect.msg });
        return;
      case 'publish':
        this.ctx.publish(this.name, effect.topic, effect.msg);
        return;
      case 'log':
        return this.reports.guestLog(effect.level, effect.message);
      case 'outbox':
        if (this.#outbox) this.ctx.outbox?.notify(this.#outbox.dir);
        return;
      case 'graph-metrics':
        return this.reports.measured(effect);
      case 'refused':
        if (effect.what === 'telemetry' || effect.what === 'publish') this.refused += effect.count;
        this.reports.warn(`${effect.what} refused (${effect.reason}) x${effect.count}: ${effect.detail}`);
    }
  }

  /** A line the guest printed: a command's is a telemetry message, any other guest's a log line. */
  stdoutLine(line: string): void {
    if (this.#kind !== 'command') return this.reports.guestLog('info', line);
    const isJson = /^\s*[{[]/.test(line) && isJsonText(line);
    const msg = { body: Buffer.from(line), contentType: isJson ? 'application/json' : 'text/plain', properties: [] };
    if (this.#stdoutBox) {
      try {
        this.#stdoutBox.writer.append(this.name, msg);
        this.ctx.outbox?.notify(this.#stdoutBox.handle.dir);
      } catch {
        this.refused++; // backpressure, or the disk is full
      }
      return;
    }
    this.sent++;
    this.ctx.sink.send({ workload: this.name, digest: this.#digest, output: this.name, msg });
  }
}

function isJsonText(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}
