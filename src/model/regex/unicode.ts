// Unicode data for RE2 patterns, derived once from the JS engine's own Unicode tables instead of shipping copies:
// - `\p{Name}` classes: the names Go's regexp accepts (general categories and scripts of Go's unicode package),
//   each resolved by running a `u`-flag JS regex over a string of every code point.
// - simple case folding orbits (Go's unicode.SimpleFold): groups of code points equal under case folding, found
//   from toLowerCase/toUpperCase and confirmed with a `ui`-flag JS regex (which folds by exactly that rule).
// Results are cached for the life of the process. The JS engine's Unicode version can be newer than Go's, so a
// code point assigned in a newer version may belong to a class here and not in Prometheus; names stay Go's.

import { MAX_RUNE, type Ranges } from "./charclass.ts";

// Go 1.24's unicode.Categories keys. "C" in Go excludes unassigned code points (JS's \p{C} includes them).
const CATEGORIES = new Map<string, string>([
  ["C", "\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}"],
  ...["Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl", "No"].map(
    (n): [string, string] => [n, `\\p{${n}}`],
  ),
  ...["P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs"].map(
    (n): [string, string] => [n, `\\p{${n}}`],
  ),
]);

// Go 1.24's unicode.Scripts keys (Unicode 15.0 script names).
const SCRIPTS = new Set(
  (
    "Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali Bhaiksuki " +
    "Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham Cherokee " +
    "Chorasmian Common Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari Dives_Akuru Dogra " +
    "Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati " +
    "Gunjala_Gondi Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited " +
    "Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi Kayah_Li Kharoshthi " +
    "Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian " +
    "Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui " +
    "Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nag_Mundari " +
    "Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic " +
    "Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage " +
    "Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan " +
    "Saurashtra Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri " +
    "Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa Tangut Telugu Thaana Thai Tibetan " +
    "Tifinagh Tirhuta Toto Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square"
  ).split(" "),
);

const tableCache = new Map<string, Ranges>();

// Every code point except surrogates, in order. UTF-16 index i maps back to a code point by `indexToRune`.
function allRunesText(): string {
  const parts: string[] = [];
  const chunk: number[] = [];
  for (let cp = 0; cp <= MAX_RUNE; cp++) {
    if (cp === 0xd800) cp = 0xe000;
    chunk.push(cp);
    if (chunk.length === 8192) {
      parts.push(String.fromCodePoint(...chunk));
      chunk.length = 0;
    }
  }
  parts.push(String.fromCodePoint(...chunk));
  return parts.join("");
}

function indexToRune(i: number): number {
  if (i < 0xd800) return i;
  if (i < 0xf800) return i + 0x800;
  return 0x10000 + ((i - 0xf800) >> 1);
}

function probe(classBody: string): Ranges {
  const text = allRunesText();
  const re = new RegExp(`[${classBody}]+`, "gu");
  const out: Ranges = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(indexToRune(m.index), indexToRune(m.index + m[0].length - 1));
  }
  return out;
}

/** The code point ranges of a Go `\p{name}` class (clean, shared: do not mutate), or null for an unknown name. */
export function unicodeTable(name: string): Ranges | null {
  const cached = tableCache.get(name);
  if (cached !== undefined) return cached;
  let ranges: Ranges;
  if (name === "Any") {
    ranges = [0, MAX_RUNE];
  } else if (CATEGORIES.has(name)) {
    ranges = probe(CATEGORIES.get(name)!);
    // Surrogates are absent from the probe text; Go's tables list them under Cs (and so C).
    if (name === "Cs") ranges = [0xd800, 0xdfff];
    if (name === "C") ranges = mergeSorted(ranges, [0xd800, 0xdfff]);
  } else if (SCRIPTS.has(name)) {
    ranges = probe(`\\p{Script=${name}}`);
  } else {
    return null;
  }
  tableCache.set(name, ranges);
  return ranges;
}

function mergeSorted(a: Ranges, b: Ranges): Ranges {
  const pairs: [number, number][] = [];
  for (let i = 0; i < a.length; i += 2) pairs.push([a[i], a[i + 1]]);
  for (let i = 0; i < b.length; i += 2) pairs.push([b[i], b[i + 1]]);
  pairs.sort((x, y) => x[0] - y[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

// Case folding orbits: code point -> every code point in its orbit (sorted, including itself). Only code points
// with a non-trivial orbit are keys; `foldKeys` lists them in order for range scans.
let orbits: Map<number, readonly number[]> | null = null;
let foldKeys: Int32Array = new Int32Array(0);

// Go's minFold..maxFold: no code point outside folds to another.
const MIN_FOLD = 0x41;
const MAX_FOLD = 0x1e943;

function singleRune(s: string): number {
  const cp = s.codePointAt(0)!;
  return s.length === (cp > 0xffff ? 2 : 1) ? cp : -1;
}

function buildOrbits(): Map<number, readonly number[]> {
  // Union-find over case mapping edges, then split each group by what a `ui` regex considers equal.
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const link = (a: number, b: number) => {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  for (let cp = MIN_FOLD; cp <= MAX_FOLD; cp++) {
    if (cp >= 0xd800 && cp < 0xe000) continue;
    const s = String.fromCodePoint(cp);
    const lower = singleRune(s.toLowerCase());
    const upper = singleRune(s.toUpperCase());
    if (lower >= 0 && lower !== cp) link(cp, lower);
    if (upper >= 0 && upper !== cp) link(cp, upper);
  }
  const groups = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const root = find(cp);
    const g = groups.get(root);
    if (g === undefined) groups.set(root, [cp]);
    else g.push(cp);
  }
  const out = new Map<number, readonly number[]>();
  for (const members of groups.values()) {
    let rest = members.sort((a, b) => a - b);
    while (rest.length > 0) {
      const head = rest[0];
      const re = new RegExp(`^\\u{${head.toString(16)}}$`, "ui");
      const orbit = rest.filter((m) => m === head || re.test(String.fromCodePoint(m)));
      rest = rest.filter((m) => !orbit.includes(m));
      if (orbit.length > 1) for (const m of orbit) out.set(m, orbit);
    }
  }
  return out;
}

function ensureOrbits(): Map<number, readonly number[]> {
  if (orbits === null) {
    orbits = buildOrbits();
    foldKeys = Int32Array.from([...orbits.keys()].sort((a, b) => a - b));
  }
  return orbits;
}

/** The case folding orbit of `cp` (sorted, including `cp` itself; `[cp]` when nothing folds to it). */
export function foldOrbit(cp: number): readonly number[] {
  return ensureOrbits().get(cp) ?? [cp];
}

/** Adds every code point that case-folds to a member of `r` (Go's appendFoldedRange); returns unclean ranges. */
export function foldRanges(r: Ranges): Ranges {
  const map = ensureOrbits();
  const out = r.slice();
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    if (hi < MIN_FOLD || lo > MAX_FOLD) continue;
    // First key >= lo.
    let a = 0;
    let b = foldKeys.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (foldKeys[mid] < lo) a = mid + 1;
      else b = mid;
    }
    for (let k = a; k < foldKeys.length && foldKeys[k] <= hi; k++) {
      for (const m of map.get(foldKeys[k])!) {
        if (m < lo || m > hi) out.push(m, m);
      }
    }
  }
  return out;
}
