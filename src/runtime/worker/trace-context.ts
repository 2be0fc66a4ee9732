import type { GuestMessage } from '../protocol.js';

/**
 * W3C trace context carried through a guest: the `traceparent` of the message a guest is handling
 * (on-message) is put on the telemetry and publishes it sends meanwhile, unless it set its own. So a
 * trace that entered the device on an edgeHub input or a local topic continues to IoT Hub.
 */
let current: string | undefined;

/** Runs `call` with the message's traceparent (if any) as the current one. */
export function withMessageTrace<T>(msg: GuestMessage, call: () => T): T {
  current = msg.properties.find(([key]) => key === 'traceparent')?.[1];
  try {
    return call();
  } finally {
    current = undefined;
  }
}

/** The properties an outgoing message leaves with: the guest's own, plus the current traceparent. */
export function withTraceparent(properties: Array<[string, string]>): Array<[string, string]> {
  if (current === undefined || properties.some(([key]) => key === 'traceparent')) return properties;
  return [...properties, ['traceparent', current]];
}
