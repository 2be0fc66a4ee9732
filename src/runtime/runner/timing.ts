/** How often outbox counters are relayed between host and runner when nothing else carries them. */
export const RELAY_MS = 50;
/** How often the runner reports its resident memory. */
export const STATS_MS = 5000;
