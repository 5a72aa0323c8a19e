// A FIFO of waiting things that all share one timeout. Because every entry waits the same time, insertion order is
// deadline order: push, remove and expiry are O(1) and no per-entry timer is needed. The edge sweeps its lists from
// one interval timer (upstream response timeouts, the hard-limit queues).

/** An entry of a DeadlineList; subclass it. An entry is in at most one list at a time. */
export class DeadlineNode {
  /** `performance.now()` milliseconds after which the entry has expired; valid while linked. */
  deadline = 0;
  prev: DeadlineNode | null = null;
  next: DeadlineNode | null = null;
  /** The list holding the entry, or null. */
  list: DeadlineList<DeadlineNode> | null = null;
}

/** A doubly linked FIFO whose entries expire `timeoutMs` after they were pushed. */
export class DeadlineList<T extends DeadlineNode> {
  private head: T | null = null;
  private tail: T | null = null;
  size = 0;

  constructor(readonly timeoutMs: number) {}

  /** Appends `node` with deadline `now + timeoutMs`, first taking it out of any list it is in. */
  push(node: T, now: number): void {
    if (node.list !== null) node.list.remove(node);
    node.deadline = now + this.timeoutMs;
    node.prev = this.tail;
    node.next = null;
    if (this.tail === null) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    node.list = this as unknown as DeadlineList<DeadlineNode>;
    this.size++;
  }

  /** Unlinks `node`; a no-op when it is not in this list. */
  remove(node: T): void {
    if (node.list !== (this as unknown as DeadlineList<DeadlineNode>)) return;
    if (node.prev === null) this.head = node.next as T | null;
    else node.prev.next = node.next;
    if (node.next === null) this.tail = node.prev as T | null;
    else node.next.prev = node.prev;
    node.prev = null;
    node.next = null;
    node.list = null;
    this.size--;
  }

  /** The oldest entry, or null. */
  first(): T | null {
    return this.head;
  }

  /** Unlinks every entry whose deadline is at or before `now`, oldest first, and hands it to `fn`. */
  expire(now: number, fn: (node: T) => void): void {
    while (this.head !== null && this.head.deadline <= now) {
      const node = this.head;
      this.remove(node);
      fn(node);
    }
  }
}
