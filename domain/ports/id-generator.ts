/** Random, non-secret identifiers (names of partner instances, correlation ids). Safe to log. */
export interface IdGenerator {
  /**
   * A new unique id (UUID v4 or similar).
   *
   * @example
   * const name = `wa-${tenantId}-${ids.newId().slice(0, 8)}`
   */
  newId(): string
}
