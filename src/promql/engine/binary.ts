// Binary operators: scalar/scalar, vector/scalar and vector/vector with Prometheus's matching rules (on/ignoring,
// group_left/group_right, fill modifiers, set operators) and error texts. Join signatures and output label sets are
// computed once per input series or matched pair, not per step.

import type { Histogram } from "../../model/histogram.ts";
import { compareStrings, type Labels, LabelsBuilder } from "../../model/labels.ts";
import type { BinaryOp, VectorMatching } from "../parser/ast.ts";
import { elemBinop, isTrim } from "./binary-histogram.ts";
import { arith, compare, isComparison, scalarBinop } from "./binary-ops.ts";
import type { Collector } from "./collector.ts";
import { evalError } from "./context.ts";
import type { Evaluator } from "./evaluator.ts";
import { dropMetadata, emptyLabels } from "./labelsets.ts";
import type { BinaryNode } from "./plan.ts";
import { hasHistograms, type Matrix, Series, type StepVector, seriesSamples } from "./value.ts";

// Operators that change what a value means, so its metric name no longer applies.
function changesMetricSchema(op: BinaryOp): boolean {
  return op === "+" || op === "-" || op === "*" || op === "/" || op === "^" || op === "%" || op === "atan2";
}

/** Evaluates a binary expression. */
export function evalBinary(ev: Evaluator, n: BinaryNode): Matrix {
  const { lhsType: lt, rhsType: rt } = n;
  if (lt === "scalar" && rt === "scalar") {
    return ev.rangeEval([n.lhs, n.rhs], () => {
      let slot = -1;
      return (ts, [l, r], out) => {
        if (l!.n === 0 || r!.n === 0) return;
        if (slot < 0) slot = out.slot(emptyLabels(), false);
        out.add(slot, ts, scalarBinop(n.op, l!.f[0], r!.f[0]));
      };
    });
  }
  if (lt === "vector" && rt === "vector") {
    if (n.op === "and" || n.op === "or" || n.op === "unless") return evalSetOp(ev, n);
    return evalVectorBinop(ev, n);
  }
  return evalVectorScalar(ev, n, lt === "scalar");
}

function outputLabels(ev: Evaluator, labels: Labels, dropName: boolean): Labels {
  return dropName && !ev.q.settings.enableDelayedNameRemoval ? dropMetadata(labels) : labels;
}

function evalVectorScalar(ev: Evaluator, n: BinaryNode, swap: boolean): Matrix {
  const op = n.op;
  const cmp = isComparison(op);
  const trim = isTrim(op);
  const markDrop = changesMetricSchema(op) || n.returnBool;
  const vi = swap ? 1 : 0;
  const original = ev.q.current;
  const mats = [ev.eval(n.lhs), ev.eval(n.rhs)];
  if (ev.q.settings.enableDelayedNameRemoval) {
    return vectorScalarBySeries(ev, n, mats[vi], mats[1 - vi], swap, original);
  }
  return ev.stepLoop(
    mats,
    (mats) => {
      const m = mats[vi]!;
      const slots = new Int32Array(m.length).fill(-1);
      return (ts, vecs, out) => {
        const vec = vecs[vi]!;
        const sv = vecs[1 - vi]!;
        if (sv.n === 0) return;
        const scalar = sv.f[0];
        for (let i = 0; i < vec.n; i++) {
          const id = vec.ids[i];
          const f = vec.f[i];
          const l = swap ? scalar : f;
          const r = swap ? f : scalar;
          const hv = vec.histAt(i);
          let value: number;
          let keep: boolean;
          let hOut: Histogram | undefined;
          if (hv !== undefined || trim) {
            const e = elemBinop(op, l, r, swap ? undefined : hv, swap ? hv : undefined, n.pos);
            if (e.annotation !== null) ev.q.annotations.add(e.annotation);
            if (e.dropped) continue;
            value = cmp ? f : e.f;
            hOut = cmp ? hv : e.h;
            keep = e.keep;
          } else {
            value = cmp ? f : arith(op, l, r);
            keep = compare(op, l, r);
          }
          if (n.returnBool) {
            value = keep ? 1 : 0;
            hOut = undefined;
            keep = true;
          }
          if (!keep) continue;
          let slot = slots[id];
          if (slot < 0) {
            const s = m[id];
            const drop = s.dropName || markDrop;
            slot = out.slot(outputLabels(ev, s.labels, markDrop), drop);
            slots[id] = slot;
          }
          if (hOut !== undefined) out.addH(slot, ts, hOut);
          else out.add(slot, ts, value);
        }
      };
    },
    original,
  );
}

// The value of a scalar input at each step (NaN where it has none, marked absent in `present`; `present` null when
// it has one at every step, its own values then serving as they are).
function scalarByStep(ev: Evaluator, m: Matrix): { values: Float64Array; present: Uint8Array | null } {
  const steps = ev.numSteps();
  if (m.length > 0 && m[0].n === steps) return { values: m[0].v, present: null };
  const values = new Float64Array(steps);
  const present = new Uint8Array(steps);
  const s = m[0];
  if (s !== undefined) {
    for (let i = 0; i < s.n; i++) {
      const k = ev.stepIndex(s.t[i]);
      values[k] = s.v[i];
      present[k] = 1;
    }
  }
  return { values, present };
}

// Vector/scalar operations series by series: with delayed name removal the output labels are the input labels,
// so series stay distinct and each one maps to one output series. A float series is rewritten in place (the input
// is this evaluation's own, as for a unary minus): its kept points move down over the dropped ones.
function vectorScalarBySeries(
  ev: Evaluator,
  n: BinaryNode,
  vm: Matrix,
  sm: Matrix,
  swap: boolean,
  original: number,
): Matrix {
  const op = n.op;
  const cmp = isComparison(op);
  const markDrop = changesMetricSchema(op) || n.returnBool;
  const { values, present } = scalarByStep(ev, sm);
  const out: Matrix = [];
  let total = 0;
  for (const s of vm) {
    ev.q.check();
    if (s.h !== null || isTrim(op)) {
      const res = vectorScalarSeries(ev, n, s, values, present, swap);
      if (res !== null) {
        out.push(res);
        total += seriesSamples(res);
      }
      continue;
    }
    const t = s.t;
    const v = s.v;
    let kept = 0;
    for (let i = 0; i < s.n; i++) {
      const k = ev.stepIndex(t[i]);
      if (present !== null && present[k] === 0) continue;
      const f = v[i];
      const l = swap ? values[k] : f;
      const r = swap ? f : values[k];
      let value = cmp ? f : arith(op, l, r);
      let keep = compare(op, l, r);
      if (n.returnBool) {
        value = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      t[kept] = t[i];
      v[kept++] = value;
    }
    if (kept > 0) {
      s.n = kept;
      if (markDrop) s.dropName = true;
      out.push(s);
      total += kept;
    }
  }
  ev.q.add(total);
  ev.q.set(original + total);
  return out;
}

// One series of a vector/scalar operation whose points include histograms (or a trim operator), point by point.
function vectorScalarSeries(
  ev: Evaluator,
  n: BinaryNode,
  s: Series,
  values: Float64Array,
  present: Uint8Array | null,
  swap: boolean,
): Series | null {
  const cmp = isComparison(n.op);
  const markDrop = changesMetricSchema(n.op) || n.returnBool;
  let res: Series | null = null;
  for (let i = 0; i < s.n; i++) {
    const k = ev.stepIndex(s.t[i]);
    if (present !== null && present[k] === 0) continue;
    const f = s.v[i];
    const hv = s.histAt(i);
    const l = swap ? values[k] : f;
    const r = swap ? f : values[k];
    const e = elemBinop(n.op, l, r, swap ? undefined : hv, swap ? hv : undefined, n.pos);
    if (e.annotation !== null) ev.q.annotations.add(e.annotation);
    if (e.dropped) continue;
    let value = cmp ? f : e.f;
    let h = cmp ? hv : e.h;
    let keep = e.keep;
    if (n.returnBool) {
      value = keep ? 1 : 0;
      h = undefined;
      keep = true;
    }
    if (!keep) continue;
    if (res === null) res = new Series(s.labels, s.dropName || markDrop, s.n);
    if (h !== undefined) res.pushH(s.t[i], h);
    else res.push(s.t[i], value);
  }
  return res;
}

// Join signature ordinals of both sides' series, shared so equal signatures get equal ordinals.
function signatures(
  matching: VectorMatching,
  lhs: Matrix,
  rhs: Matrix,
): { l: Int32Array; r: Int32Array; count: number } {
  const ordinals = new Map<string, number>();
  const names = matching.matchingLabels;
  const sig = (labels: Labels) => (matching.on ? labels.hashForLabels(names) : labels.hashWithoutLabels(names));
  const assign = (m: Matrix) => {
    const out = new Int32Array(m.length);
    for (let i = 0; i < m.length; i++) {
      const h = sig(m[i].labels);
      let o = ordinals.get(h);
      if (o === undefined) {
        o = ordinals.size;
        ordinals.set(h, o);
      }
      out[i] = o;
    }
    return out;
  };
  const l = assign(lhs);
  const r = assign(rhs);
  return { l, r, count: ordinals.size };
}

function evalSetOp(ev: Evaluator, n: BinaryNode): Matrix {
  const matching = n.matching!;
  return ev.rangeEval([n.lhs, n.rhs], (mats) => {
    const lm = mats[0]!;
    const rm = mats[1]!;
    const sigs = signatures(matching, lm, rm);
    const present = new Int32Array(sigs.count).fill(-1);
    const slotsL = new Int32Array(lm.length).fill(-1);
    const slotsR = new Int32Array(rm.length).fill(-1);
    let step = 0;
    const emit = (out: Collector, m: Matrix, slots: Int32Array, vec: StepVector, i: number, ts: number) => {
      const id = vec.ids[i];
      let slot = slots[id];
      if (slot < 0) {
        slot = out.slot(m[id].labels, m[id].dropName);
        slots[id] = slot;
      }
      const h = vec.histAt(i);
      if (h !== undefined) out.addH(slot, ts, h);
      else out.add(slot, ts, vec.f[i]);
    };
    return (ts, [l, r], out) => {
      step++;
      const lv = l!;
      const rv = r!;
      switch (n.op) {
        case "and":
          if (lv.n === 0 || rv.n === 0) return;
          for (let j = 0; j < rv.n; j++) present[sigs.r[rv.ids[j]]] = step;
          for (let i = 0; i < lv.n; i++) {
            if (present[sigs.l[lv.ids[i]]] === step) emit(out, lm, slotsL, lv, i, ts);
          }
          return;
        case "or":
          for (let i = 0; i < lv.n; i++) {
            present[sigs.l[lv.ids[i]]] = step;
            emit(out, lm, slotsL, lv, i, ts);
          }
          for (let j = 0; j < rv.n; j++) {
            if (lv.n === 0 || present[sigs.r[rv.ids[j]]] !== step) emit(out, rm, slotsR, rv, j, ts);
          }
          return;
        case "unless":
          if (lv.n > 0 && rv.n > 0) for (let j = 0; j < rv.n; j++) present[sigs.r[rv.ids[j]]] = step;
          for (let i = 0; i < lv.n; i++) {
            if (present[sigs.l[lv.ids[i]]] !== step) emit(out, lm, slotsL, lv, i, ts);
          }
          return;
        default:
          return;
      }
    };
  });
}

// Labels of `labels` that take part in matching: those named (on) or all others but __name__ (ignoring).
function matchLabels(labels: Labels, on: boolean, names: readonly string[]): Labels {
  const b = new LabelsBuilder(labels);
  if (on) b.keep(...names);
  else b.del("__name__", ...names);
  return b.labels();
}

// Output labels of a matched pair (Prometheus's resultMetric): `lhs` is the "many" side, `rhs` the "one" side.
function resultLabels(lhs: Labels, rhs: Labels, op: BinaryOp, matching: VectorMatching, dropName: boolean): Labels {
  const b = new LabelsBuilder(lhs);
  if (dropName || changesMetricSchema(op)) b.del("__name__", "__type__", "__unit__");
  if (matching.card === "one-to-one") {
    if (matching.on) b.keep(...matching.matchingLabels);
    else b.del(...matching.matchingLabels);
  }
  for (const name of matching.include) {
    const v = rhs.get(name);
    if (v !== "") b.set(name, v);
    else b.del(name);
  }
  return b.labels();
}

interface PairOutput {
  slot: number;
  hash: string;
}

function evalVectorBinop(ev: Evaluator, n: BinaryNode): Matrix {
  const matching = n.matching!;
  const op = n.op;
  const cmp = isComparison(op);
  const oneToMany = matching.card === "one-to-many";
  const oneToOne = matching.card === "one-to-one";
  const fillL = matching.fillValues.lhs;
  const fillR = matching.fillValues.rhs;
  const dropMetricName = !ev.q.settings.enableDelayedNameRemoval && n.returnBool;
  const original = ev.q.current;
  const inputs = [ev.eval(n.lhs), ev.eval(n.rhs)];
  const withHistograms = hasHistograms(inputs[0]) || hasHistograms(inputs[1]) || isTrim(op);
  if (oneToOne && fillL === null && fillR === null && !ev.instant && !withHistograms) {
    const res = oneToOneBySeries(ev, n, inputs[0], inputs[1], dropMetricName, original);
    if (res !== null) return res;
  }
  return ev.stepLoop(
    inputs,
    (mats) => {
      // The control flow treats the right side as the "one" side; one-to-many swaps the sides.
      const lm = oneToMany ? mats[1]! : mats[0]!;
      const rm = oneToMany ? mats[0]! : mats[1]!;
      const sigsRaw = signatures(matching, mats[0]!, mats[1]!);
      const sigL = oneToMany ? sigsRaw.r : sigsRaw.l;
      const sigR = oneToMany ? sigsRaw.l : sigsRaw.r;
      const numSigs = sigsRaw.count;
      const rightAt = new Int32Array(numSigs);
      const rightStamp = new Int32Array(numSigs).fill(-1);
      const matchedStamp = new Int32Array(numSigs).fill(-1);
      // Many-to-one: output label hashes inserted per signature at this step.
      const inserted = new Map<number, Set<string>>();
      const fill = lm.length + rm.length + 1;
      const pairs = new Map<number, PairOutput>();
      const width = rm.length + 1;
      const fillLabelsL = new Map<number, Labels>();
      const fillLabelsR = new Map<number, Labels>();
      let step = 0;

      // The pair each left series matched last, so steady matches skip the map.
      const lastR = new Int32Array(lm.length).fill(-2);
      const lastOut: PairOutput[] = new Array(lm.length);

      // lKey/rKey: series index on each (swapped) side, or -1 for a fill sample built from the other side.
      const output = (lKey: number, rKey: number, out: Collector): PairOutput => {
        if (lKey >= 0 && lastR[lKey] === rKey) return lastOut[lKey];
        const key = lKey < 0 ? fill * width + rKey : lKey * width + (rKey < 0 ? rm.length : rKey);
        let p = pairs.get(key);
        if (p === undefined) {
          const lLabels = lKey >= 0 ? lm[lKey].labels : fillLabelsR.get(rKey)!;
          const rLabels = rKey >= 0 ? rm[rKey].labels : fillLabelsL.get(lKey)!;
          const labels = resultLabels(lLabels, rLabels, op, matching, dropMetricName);
          p = { slot: out.slot(labels, n.returnBool), hash: labels.hash() };
          pairs.set(key, p);
        }
        if (lKey >= 0) {
          lastR[lKey] = rKey;
          lastOut[lKey] = p;
        }
        return p;
      };

      const doBinop = (
        lKey: number,
        rKey: number,
        fl: number,
        fr: number,
        hl: Histogram | undefined,
        hr: Histogram | undefined,
        sig: number,
        ts: number,
        out: Collector,
      ) => {
        const l = oneToMany ? fr : fl;
        const r = oneToMany ? fl : fr;
        let value: number;
        let keep: boolean;
        let hOut: Histogram | undefined;
        if (hl !== undefined || hr !== undefined || withHistograms) {
          const e = elemBinop(op, l, r, oneToMany ? hr : hl, oneToMany ? hl : hr, n.pos);
          if (e.annotation !== null) ev.q.annotations.add(e.annotation);
          if (e.dropped) return;
          value = e.f;
          hOut = e.h;
          keep = e.keep;
        } else {
          value = cmp ? l : arith(op, l, r);
          keep = compare(op, l, r);
        }
        if (n.returnBool) {
          value = keep ? 1 : 0;
          hOut = undefined;
        }
        const p = output(lKey, rKey, out);
        if (oneToOne) {
          if (matchedStamp[sig] === step) {
            evalError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
          }
          matchedStamp[sig] = step;
        } else {
          let set = inserted.get(sig);
          if (set === undefined) {
            set = new Set();
            inserted.set(sig, set);
          }
          if (set.has(p.hash)) evalError("multiple matches for labels: grouping labels must ensure unique matches");
          set.add(p.hash);
        }
        if (!keep && !n.returnBool) return;
        if (hOut !== undefined) out.addH(p.slot, ts, hOut);
        else out.add(p.slot, ts, value);
      };

      return (ts, vecs, out) => {
        step++;
        const lv = (oneToMany ? vecs[1] : vecs[0])!;
        const rv = (oneToMany ? vecs[0] : vecs[1])!;
        if (lv.n === 0 && rv.n === 0) return;
        if ((lv.n === 0 || rv.n === 0) && fillL === null && fillR === null) return;
        for (const set of inserted.values()) set.clear();
        for (let j = 0; j < rv.n; j++) {
          const id = rv.ids[j];
          const sig = sigR[id];
          if (rightStamp[sig] === step) duplicateError(rm[id].labels, rm[rv.ids[rightAt[sig]]].labels, matching);
          rightStamp[sig] = step;
          rightAt[sig] = j;
        }
        for (let i = 0; i < lv.n; i++) {
          const id = lv.ids[i];
          const sig = sigL[id];
          if (rightStamp[sig] === step) {
            const j = rightAt[sig];
            doBinop(id, rv.ids[j], lv.f[i], rv.f[j], lv.histAt(i), rv.histAt(j), sig, ts, out);
          } else if (fillR !== null) {
            if (!fillLabelsL.has(id))
              fillLabelsL.set(id, matchLabels(lm[id].labels, matching.on, matching.matchingLabels));
            doBinop(id, -1, lv.f[i], fillR, lv.histAt(i), undefined, sig, ts, out);
          }
        }
        if (fillL !== null) {
          for (let j = 0; j < rv.n; j++) {
            const id = rv.ids[j];
            const sig = sigR[id];
            const matched = oneToOne ? matchedStamp[sig] === step : (inserted.get(sig)?.size ?? 0) > 0;
            if (matched) continue;
            if (!fillLabelsR.has(id))
              fillLabelsR.set(id, matchLabels(rm[id].labels, matching.on, matching.matchingLabels));
            doBinop(-1, id, fillL, rv.f[j], undefined, rv.histAt(j), sig, ts, out);
          }
        }
      };
    },
    original,
  );
}

// One-to-one matching without fill, series by series: when no signature has two series on one side, no step can
// have a duplicate match, so each matched pair of series is merged by timestamp on its own. Returns null when the
// step-by-step evaluation is needed (repeated signatures, or output label sets that would collide).
function oneToOneBySeries(
  ev: Evaluator,
  n: BinaryNode,
  lm: Matrix,
  rm: Matrix,
  dropMetricName: boolean,
  original: number,
): Matrix | null {
  const matching = n.matching!;
  const sigs = signatures(matching, lm, rm);
  const rightOf = new Int32Array(sigs.count).fill(-1);
  for (let j = 0; j < rm.length; j++) {
    if (rightOf[sigs.r[j]] >= 0) return null;
    rightOf[sigs.r[j]] = j;
  }
  const leftSeen = new Uint8Array(sigs.count);
  const pairs: [number, number, Labels][] = [];
  const hashes = new Set<string>();
  for (let i = 0; i < lm.length; i++) {
    const sig = sigs.l[i];
    if (leftSeen[sig]) return null;
    leftSeen[sig] = 1;
    const j = rightOf[sig];
    if (j < 0) continue;
    const labels = resultLabels(lm[i].labels, rm[j].labels, n.op, matching, dropMetricName);
    const h = labels.hash();
    if (hashes.has(h)) return null;
    hashes.add(h);
    pairs.push([i, j, labels]);
  }
  const op = n.op;
  const cmp = isComparison(op);
  const out: Matrix = [];
  let total = 0;
  for (const [i, j, labels] of pairs) {
    ev.q.check();
    const l = lm[i];
    const r = rm[j];
    let res: Series | null = null;
    let a = 0;
    let b = 0;
    while (a < l.n && b < r.n) {
      const ta = l.t[a];
      const tb = r.t[b];
      if (ta < tb) a++;
      else if (tb < ta) b++;
      else {
        const fl = l.v[a];
        const fr = r.v[b];
        let value = cmp ? fl : arith(op, fl, fr);
        const keep = compare(op, fl, fr);
        if (n.returnBool) value = keep ? 1 : 0;
        if (keep || n.returnBool) {
          if (res === null) res = new Series(labels, n.returnBool, Math.min(l.n, r.n));
          if (res.n === res.t.length) res.grow(res.n * 2);
          res.t[res.n] = ta;
          res.v[res.n++] = value;
        }
        a++;
        b++;
      }
    }
    if (res !== null) {
      out.push(res);
      total += res.n;
    }
  }
  ev.q.add(total);
  ev.q.set(original + total);
  return out;
}

function duplicateError(a: Labels, b: Labels, matching: VectorMatching): never {
  const side = matching.card === "one-to-many" ? "left" : "right";
  const group = matchLabels(a, matching.on, matching.matchingLabels).toString();
  let d1 = a.toString();
  let d2 = b.toString();
  if (compareStrings(d1, d2) > 0) [d1, d2] = [d2, d1];
  evalError(
    `found duplicate series for the match group ${group} on the ${side} hand-side of the operation: [${d1}, ${d2}];many-to-many matching not allowed: matching labels must be unique on one side`,
  );
}
