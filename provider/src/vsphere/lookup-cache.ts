/**
 * Remembers lookups by key for the life of a client: concurrent callers share
 * one call, later callers its result. A lookup that fails is forgotten, so the
 * next caller tries again.
 */
export class LookupCache<T> {
  private readonly entries = new Map<string, Promise<T>>();

  /** The cached result for `key`, or the result of `lookup()` (then cached). */
  get(key: string, lookup: () => Promise<T>): Promise<T> {
    let found = this.entries.get(key);
    if (!found) {
      found = lookup();
      found.catch(() => this.entries.delete(key));
      this.entries.set(key, found);
    }
    return found;
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.clear();
  }
}
