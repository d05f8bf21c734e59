/** Counts SOAP calls by method: for tests and benchmarks. */
export class CallCounter {
  private readonly counts = new Map<string, number>();
  private sum = 0;

  record(method: string): void {
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1);
    this.sum++;
  }

  /** All calls since creation or the last reset. */
  get total(): number {
    return this.sum;
  }

  /** Calls of one method. */
  count(method: string): number {
    return this.counts.get(method) ?? 0;
  }

  /** A copy of the counts by method. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
    this.sum = 0;
  }
}
