/**
 * After an update switches, the new version is on probation: failing within the window sends the
 * workload back to the version it replaced (kept here). Pure.
 */
export interface Probation<V> {
  readonly previous: V;
  /** Epoch ms after which a failure is the new version's own problem (restart policy, no rollback). */
  readonly until: number;
}

export function rollbackDue<V>(probation: Probation<V> | undefined, now: number): probation is Probation<V> {
  return probation !== undefined && now <= probation.until;
}
