import type { LinkOutcome, LinkOutcomes } from '../ports/link-outcomes'

/** Keeps every reported link outcome, in order. */
export class RecordingLinkOutcomes implements LinkOutcomes {
  readonly outcomes: LinkOutcome[] = []
  record(outcome: LinkOutcome): void {
    this.outcomes.push(outcome)
  }
}
