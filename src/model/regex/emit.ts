// Translates a parsed RE2 pattern into JavaScript RegExp source that runs WITHOUT the `u` and `i` flags, so V8 can
// switch it to its linear-time engine when backtracking gets excessive (V8 only does that for such regexes).
// Hence everything Unicode-aware is spelled out in UTF-16: a class matches one whole code point, astral ones as
// a surrogate pair (never half of one); case folding is already expanded into classes by the parser.
// Lone surrogates in the input match no class (they cannot come from UTF-8 text, which is what RE2 matches).

import type { Node } from "./ast.ts";
import { UNBOUNDED } from "./ast.ts";
import type { Ranges } from "./charclass.ts";

// How an emitted piece binds: atoms take a quantifier directly; the rest need a group first.
type Prec = "atom" | "assert" | "concat" | "alternate";

interface Piece {
  readonly src: string;
  readonly prec: Prec;
}

/**
 * The JS source (no flags needed) of a regex matching exactly the strings the RE2 node matches in full. With
 * `captures`, RE2 capture groups become numbered JS groups in the same order (names are kept by the caller).
 */
export function emitAnchored(node: Node, opts: { captures?: boolean } = {}): string {
  return `^(?:${emit(node, opts.captures === true).src})$`;
}

function emit(n: Node, captures: boolean): Piece {
  switch (n.kind) {
    case "empty":
      return { src: "(?:)", prec: "atom" };
    case "literal": {
      let src = "";
      for (let i = 0; i < n.text.length; i++) src += escapeUnit(n.text.charCodeAt(i), false);
      return { src, prec: n.text.length === 1 ? "atom" : "concat" };
    }
    case "class":
      return { src: classSource(n.ranges), prec: "atom" };
    case "assert":
      switch (n.at) {
        case "text_start":
          return { src: "^", prec: "assert" };
        case "text_end":
          return { src: "$", prec: "assert" };
        case "line_start":
          return { src: "(?<![^\\n])", prec: "assert" };
        case "line_end":
          return { src: "(?![^\\n])", prec: "assert" };
        case "word_boundary":
          return { src: "\\b", prec: "assert" };
        case "not_word_boundary":
          return { src: "\\B", prec: "assert" };
      }
      break;
    case "capture":
      return captures ? { src: `(${emit(n.sub, true).src})`, prec: "atom" } : emit(n.sub, false);
    case "repeat": {
      const sub = emit(n.sub, captures);
      const body = sub.prec === "atom" ? sub.src : `(?:${sub.src})`;
      let q: string;
      if (n.op === "star") q = "*";
      else if (n.op === "plus") q = "+";
      else if (n.op === "quest") q = "?";
      else if (n.max === UNBOUNDED) q = `{${n.min},}`;
      else if (n.max === n.min) q = `{${n.min}}`;
      else q = `{${n.min},${n.max}}`;
      return { src: body + q, prec: "concat" };
    }
    case "concat":
      return {
        src: n.subs
          .map((k) => {
            const p = emit(k, captures);
            return p.prec === "alternate" ? `(?:${p.src})` : p.src;
          })
          .join(""),
        prec: "concat",
      };
    case "alternate":
      return { src: n.subs.map((k) => emit(k, captures).src).join("|"), prec: "alternate" };
  }
}

// One UTF-16 unit, escaped unless it is a plain letter, digit or underscore.
function escapeUnit(u: number, inClass: boolean): string {
  if ((u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5a) || (u >= 0x61 && u <= 0x7a) || u === 0x5f) {
    return String.fromCharCode(u);
  }
  if (!inClass && u > 0x20 && u < 0x7f) return `\\${String.fromCharCode(u)}`;
  return `\\u${u.toString(16).padStart(4, "0")}`;
}

// A class of UTF-16 units from ranges within one 16-bit plane.
function unitClass(r: Ranges): string {
  if (r.length === 2 && r[0] === r[1]) return escapeUnit(r[0], false);
  let out = "[";
  for (let i = 0; i < r.length; i += 2) {
    out += escapeUnit(r[i], true);
    if (r[i + 1] > r[i]) out += `${r[i + 1] > r[i] + 1 ? "-" : ""}${escapeUnit(r[i + 1], true)}`;
  }
  return `${out}]`;
}

/** Source matching one code point of the clean ranges `r`: a BMP class plus surrogate-pair alternatives. */
export function classSource(r: Ranges): string {
  const bmp: Ranges = [];
  // Astral part as (high surrogate, low surrogate range) rows, in order.
  const rows: { hi: number; lows: Ranges }[] = [];
  const addRow = (hi: number, lo1: number, lo2: number) => {
    const last = rows[rows.length - 1];
    if (last !== undefined && last.hi === hi) last.lows.push(lo1, lo2);
    else rows.push({ hi, lows: [lo1, lo2] });
  };
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    if (lo <= 0xd7ff) bmp.push(lo, Math.min(hi, 0xd7ff));
    if (hi >= 0xe000 && lo <= 0xffff) bmp.push(Math.max(lo, 0xe000), Math.min(hi, 0xffff));
    if (hi >= 0x10000) {
      const a = Math.max(lo, 0x10000) - 0x10000;
      const b = hi - 0x10000;
      const ha = 0xd800 + (a >> 10);
      const hb = 0xd800 + (b >> 10);
      if (ha === hb) {
        addRow(ha, 0xdc00 + (a & 0x3ff), 0xdc00 + (b & 0x3ff));
      } else {
        addRow(ha, 0xdc00 + (a & 0x3ff), 0xdfff);
        for (let h = ha + 1; h < hb; h++) addRow(h, 0xdc00, 0xdfff);
        addRow(hb, 0xdc00, 0xdc00 + (b & 0x3ff));
      }
    }
  }
  const parts: string[] = [];
  if (bmp.length > 0) parts.push(unitClass(bmp));
  // Consecutive high surrogates with the same low ranges share one alternative.
  for (let k = 0; k < rows.length; ) {
    let j = k + 1;
    const key = rows[k].lows.join(",");
    while (j < rows.length && rows[j].hi === rows[j - 1].hi + 1 && rows[j].lows.join(",") === key) j++;
    parts.push(unitClass([rows[k].hi, rows[j - 1].hi]) + unitClass(rows[k].lows));
    k = j;
  }
  if (parts.length === 0) return "[]";
  if (parts.length === 1 && bmp.length > 0) return parts[0];
  return `(?:${parts.join("|")})`;
}
