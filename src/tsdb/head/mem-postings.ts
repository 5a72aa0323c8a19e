// The head's inverted index: label name → value → sorted series refs, plus the list of every ref. Series refs are
// handed out in increasing order, so adding a series is an append to each of its lists in the common case. Lists
// are kept compact (ref-list.ts); names and values are the series' own label strings, which the series cache and
// WAL replay intern, so the maps' keys cost no string of their own.

import { compareStrings, type Labels } from "../../model/labels.ts";
import { merge, type PostingsList } from "../index/postings.ts";
import { type RefList, refListAdd, refListFilter, refListLength, refListView } from "./ref-list.ts";

const EMPTY: readonly number[] = Object.freeze([]);
const NO_VALUES: readonly string[] = Object.freeze([]);

interface ValueMap {
  readonly byValue: Map<string, RefList>;
  /** The values in UTF-8 byte order, rebuilt lazily after a value appears or disappears. */
  sorted: string[] | null;
}

/**
 * In-memory postings. Lists handed out may be views of the live arrays: callers must not modify them and must copy
 * what they keep across appends (the matcher helpers in index/postings.ts always return new arrays).
 */
export class MemPostings {
  private readonly names = new Map<string, ValueMap>();
  private all: RefList | undefined;
  private sortedNames: string[] | null = null;

  /** Adds series `ref` under each of its labels. */
  add(ref: number, labels: Labels): void {
    this.all = refListAdd(this.all, ref);
    labels.forEach((name, value) => {
      let vm = this.names.get(name);
      if (vm === undefined) {
        vm = { byValue: new Map(), sorted: null };
        this.names.set(name, vm);
        this.sortedNames = null;
      }
      const list = vm.byValue.get(value);
      if (list === undefined) vm.sorted = null;
      const next = refListAdd(list, ref);
      if (next !== list) vm.byValue.set(value, next);
    });
  }

  /**
   * Removes the given series (ref → its labels) from every list in one pass per affected list; empty lists, values
   * and names disappear.
   */
  delete(deleted: ReadonlyMap<number, Labels>): void {
    if (deleted.size === 0) return;
    const keep = (ref: number) => !deleted.has(ref);
    if (this.all !== undefined) this.all = refListFilter(this.all, keep);
    const touched = new Map<string, Set<string>>();
    for (const labels of deleted.values()) {
      labels.forEach((name, value) => {
        let vs = touched.get(name);
        if (vs === undefined) {
          vs = new Set();
          touched.set(name, vs);
        }
        vs.add(value);
      });
    }
    for (const [name, values] of touched) {
      const vm = this.names.get(name);
      if (vm === undefined) continue;
      for (const value of values) {
        const list = vm.byValue.get(value);
        if (list === undefined) continue;
        const rest = refListFilter(list, keep);
        if (rest !== undefined) {
          if (rest !== list) vm.byValue.set(value, rest);
          continue;
        }
        vm.byValue.delete(value);
        vm.sorted = null;
      }
      if (vm.byValue.size === 0) {
        this.names.delete(name);
        this.sortedNames = null;
      }
    }
  }

  /** Sorted label names present in any series. The array is shared: do not modify it. */
  labelNames(): readonly string[] {
    if (this.sortedNames === null) this.sortedNames = [...this.names.keys()].sort(compareStrings);
    return this.sortedNames;
  }

  /** Sorted values of `name`; empty when no series has it. The array is shared: do not modify it. */
  labelValues(name: string): readonly string[] {
    const vm = this.names.get(name);
    if (vm === undefined) return NO_VALUES;
    if (vm.sorted === null) vm.sorted = [...vm.byValue.keys()].sort(compareStrings);
    return vm.sorted;
  }

  /** Union of the lists of `name=v` over `values`; a view of a live list when only one value matches. */
  postings(name: string, values: readonly string[]): PostingsList {
    const vm = this.names.get(name);
    if (vm === undefined) return EMPTY;
    if (values.length === 1) {
      const l = vm.byValue.get(values[0]);
      return l === undefined ? EMPTY : refListView(l);
    }
    const lists: PostingsList[] = [];
    for (const v of values) {
      const l = vm.byValue.get(v);
      if (l !== undefined) lists.push(refListView(l));
    }
    return merge(lists);
  }

  /** Every series ref, ascending (decoded afresh). */
  allPostings(): PostingsList {
    return this.all === undefined ? EMPTY : refListView(this.all);
  }

  /** Number of series indexed. */
  get numSeries(): number {
    return this.all === undefined ? 0 : refListLength(this.all);
  }
}
