// Ref scopes by number, for the rows of the series cache and the key index: a row keeps its ref's scope (a token
// object per open database) as a small number in an integer column instead of a reference to the object.

/** Ref scopes numbered from 1 (0: none), at most `max` of them. Single-threaded; owned by one table of rows. */
export class RefScopes {
  private readonly scopes: object[] = [];
  private readonly numbers = new Map<object, number>();
  private readonly max: number;

  /** Numbers at most `max` distinct scopes before starting over. */
  constructor(max: number) {
    this.max = max;
  }

  /** The scope of number `n`; null for 0. */
  scopeOf(n: number): object | null {
    return n === 0 ? null : this.scopes[n - 1];
  }

  /**
   * The number of `scope` (0 for null), made when new; when `max` scopes are numbered already, `forget` is called
   * first (its caller clears every number it holds) and numbering starts over.
   */
  numberOf(scope: object | null, forget: () => void): number {
    if (scope === null) return 0;
    let n = this.numbers.get(scope);
    if (n === undefined) {
      if (this.scopes.length >= this.max) {
        forget();
        this.clear();
      }
      this.scopes.push(scope);
      n = this.scopes.length;
      this.numbers.set(scope, n);
    }
    return n;
  }

  /** Forgets every number. */
  clear(): void {
    this.scopes.length = 0;
    this.numbers.clear();
  }
}
