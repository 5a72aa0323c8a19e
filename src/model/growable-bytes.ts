// The growable byte buffer under Contrail's binary writers (the protobuf writer, the TSDB's Encbuf): one backing
// Uint8Array with a cached DataView, doubled when full, reused across messages with `reset()`. Subclasses write
// through the protected fields; a view they hand out aliases the buffer until the next write or reset.

/** A growable byte buffer; not thread-safe. */
export class GrowableBytes {
  protected buf: Uint8Array;
  protected view: DataView;
  protected len = 0;

  /** `capacity`: initial size of the backing array in bytes (at least 16). */
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes written since construction or the last `reset()`. */
  get length(): number {
    return this.len;
  }

  /** Forgets the written bytes, keeping the backing array for reuse. */
  reset(): void {
    this.len = 0;
  }

  /** Makes room for `n` more bytes, doubling the backing array as often as needed. */
  protected grow(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}
