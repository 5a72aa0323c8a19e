// Go's sort.Sort (pattern-defeating quicksort) and container/heap, step for step. PromQL results whose order
// depends on ties (topk, bottomk, sort, sort_by_label, limitk) come out in exactly the order Prometheus gives only
// when the same algorithms run on the same input, so these are faithful ports, not merely "a sort".

/** Index-based access to a sequence, as Go's sort.Interface and heap.Interface. */
export interface Sortable {
  len(): number;
  less(i: number, j: number): boolean;
  swap(i: number, j: number): void;
}

function bitsLen(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** Go's sort.Sort: an unstable, deterministic in-place sort. */
export function goSort(data: Sortable): void {
  const n = data.len();
  if (n <= 1) return;
  pdqsort(data, 0, n, bitsLen(n));
}

function insertionSort(d: Sortable, a: number, b: number): void {
  for (let i = a + 1; i < b; i++) {
    for (let j = i; j > a && d.less(j, j - 1); j--) d.swap(j, j - 1);
  }
}

function siftDown(d: Sortable, lo: number, hi: number, first: number): void {
  let root = lo;
  for (;;) {
    let child = 2 * root + 1;
    if (child >= hi) return;
    if (child + 1 < hi && d.less(first + child, first + child + 1)) child++;
    if (!d.less(first + root, first + child)) return;
    d.swap(first + root, first + child);
    root = child;
  }
}

function heapSort(d: Sortable, a: number, b: number): void {
  const first = a;
  const hi = b - a;
  for (let i = Math.trunc((hi - 1) / 2); i >= 0; i--) siftDown(d, i, hi, first);
  for (let i = hi - 1; i >= 0; i--) {
    d.swap(first, first + i);
    siftDown(d, 0, i, first);
  }
}

const INCREASING = 1;
const DECREASING = 2;

function pdqsort(d: Sortable, a: number, b: number, limit: number): void {
  let wasBalanced = true;
  let wasPartitioned = true;
  for (;;) {
    const length = b - a;
    if (length <= 12) {
      insertionSort(d, a, b);
      return;
    }
    if (limit === 0) {
      heapSort(d, a, b);
      return;
    }
    if (!wasBalanced) {
      breakPatterns(d, a, b);
      limit--;
    }
    let [pivot, hint] = choosePivot(d, a, b);
    if (hint === DECREASING) {
      reverseRange(d, a, b);
      pivot = b - 1 - (pivot - a);
      hint = INCREASING;
    }
    if (wasBalanced && wasPartitioned && hint === INCREASING && partialInsertionSort(d, a, b)) return;
    if (a > 0 && !d.less(a - 1, pivot)) {
      a = partitionEqual(d, a, b, pivot);
      continue;
    }
    const [mid, already] = partition(d, a, b, pivot);
    wasPartitioned = already;
    const leftLen = mid - a;
    const rightLen = b - mid;
    const balanceThreshold = Math.trunc(length / 8);
    if (leftLen < rightLen) {
      wasBalanced = leftLen >= balanceThreshold;
      pdqsort(d, a, mid, limit);
      a = mid + 1;
    } else {
      wasBalanced = rightLen >= balanceThreshold;
      pdqsort(d, mid + 1, b, limit);
      b = mid;
    }
  }
}

function partition(d: Sortable, a: number, b: number, pivot: number): [number, boolean] {
  d.swap(a, pivot);
  let i = a + 1;
  let j = b - 1;
  while (i <= j && d.less(i, a)) i++;
  while (i <= j && !d.less(j, a)) j--;
  if (i > j) {
    d.swap(j, a);
    return [j, true];
  }
  d.swap(i, j);
  i++;
  j--;
  for (;;) {
    while (i <= j && d.less(i, a)) i++;
    while (i <= j && !d.less(j, a)) j--;
    if (i > j) break;
    d.swap(i, j);
    i++;
    j--;
  }
  d.swap(j, a);
  return [j, false];
}

function partitionEqual(d: Sortable, a: number, b: number, pivot: number): number {
  d.swap(a, pivot);
  let i = a + 1;
  let j = b - 1;
  for (;;) {
    while (i <= j && !d.less(a, i)) i++;
    while (i <= j && d.less(a, j)) j--;
    if (i > j) break;
    d.swap(i, j);
    i++;
    j--;
  }
  return i;
}

function partialInsertionSort(d: Sortable, a: number, b: number): boolean {
  let i = a + 1;
  for (let step = 0; step < 5; step++) {
    while (i < b && !d.less(i, i - 1)) i++;
    if (i === b) return true;
    if (b - a < 50) return false;
    d.swap(i, i - 1);
    if (i - a >= 2) {
      for (let j = i - 1; j >= 1; j--) {
        if (!d.less(j, j - 1)) break;
        d.swap(j, j - 1);
      }
    }
    if (b - i >= 2) {
      for (let j = i + 1; j < b; j++) {
        if (!d.less(j, j - 1)) break;
        d.swap(j, j - 1);
      }
    }
  }
  return false;
}

const MASK64 = (1n << 64n) - 1n;

function breakPatterns(d: Sortable, a: number, b: number): void {
  const length = b - a;
  if (length < 8) return;
  let r = BigInt(length);
  const modulus = 2 ** bitsLen(length);
  const idx = a + Math.trunc(length / 4) * 2 - 1;
  for (let i = 0; i < 3; i++) {
    r ^= (r << 13n) & MASK64;
    r ^= r >> 7n;
    r ^= (r << 17n) & MASK64;
    let other = Number(r & BigInt(modulus - 1));
    if (other >= length) other -= length;
    d.swap(idx - 1 + i, a + other);
  }
}

function choosePivot(d: Sortable, a: number, b: number): [number, number] {
  const l = b - a;
  const swaps = { n: 0 };
  let i = a + Math.trunc(l / 4) * 1;
  let j = a + Math.trunc(l / 4) * 2;
  let k = a + Math.trunc(l / 4) * 3;
  if (l >= 8) {
    if (l >= 50) {
      i = median(d, i - 1, i, i + 1, swaps);
      j = median(d, j - 1, j, j + 1, swaps);
      k = median(d, k - 1, k, k + 1, swaps);
    }
    j = median(d, i, j, k, swaps);
  }
  if (swaps.n === 0) return [j, INCREASING];
  if (swaps.n === 12) return [j, DECREASING];
  return [j, 0];
}

function median(d: Sortable, a: number, b: number, c: number, swaps: { n: number }): number {
  if (d.less(b, a)) {
    swaps.n++;
    [a, b] = [b, a];
  }
  if (d.less(c, b)) {
    swaps.n++;
    [b, c] = [c, b];
  }
  if (d.less(b, a)) {
    swaps.n++;
    [a, b] = [b, a];
  }
  return b;
}

function reverseRange(d: Sortable, a: number, b: number): void {
  let i = a;
  let j = b - 1;
  while (i < j) {
    d.swap(i, j);
    i++;
    j--;
  }
}

/** Go's sort.Reverse. */
export function reversed(d: Sortable): Sortable {
  return { len: () => d.len(), less: (i, j) => d.less(j, i), swap: (i, j) => d.swap(i, j) };
}

/** Go's slices.SortFunc on an array (same algorithm, `cmp(a, b) < 0` as less). */
export function goSortFunc<T>(items: T[], cmp: (a: T, b: T) => number): void {
  goSort({
    len: () => items.length,
    less: (i, j) => cmp(items[i], items[j]) < 0,
    swap: (i, j) => {
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    },
  });
}

/** container/heap.Push after the element was appended at index `n - 1`. */
export function heapUp(h: Sortable, j: number): void {
  for (;;) {
    const i = Math.trunc((j - 1) / 2);
    if (i === j || !h.less(j, i)) break;
    h.swap(i, j);
    j = i;
  }
}

function heapDown(h: Sortable, i0: number, n: number): boolean {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n || j1 < 0) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && h.less(j2, j1)) j = j2;
    if (!h.less(j, i)) break;
    h.swap(i, j);
    i = j;
  }
  return i > i0;
}

/** container/heap.Fix. */
export function heapFix(h: Sortable, i: number): void {
  if (!heapDown(h, i, h.len())) heapUp(h, i);
}
