// Cycles in a directed graph of files: Tarjan's strongly connected components, and for each one the shortest loop
// through its first file, to print as the chain a reader can follow.

/** Adjacency lists: file → the files it imports (each once). Every target must also be a key. */
export type Graph = ReadonlyMap<string, readonly string[]>;

/** One cycle: a loop from a file back to itself, and every file that takes part in cycles with it. */
export interface Cycle {
  /** The shortest loop through the component's first file by name; first and last entries are that file. */
  readonly chain: readonly string[];
  /** All files of the strongly connected component, sorted. */
  readonly members: readonly string[];
}

/** The cycles of `graph`: one per strongly connected component with more than one file or a self-import. */
export function findCycles(graph: Graph): Cycle[] {
  const cycles: Cycle[] = [];
  for (const component of stronglyConnected(graph)) {
    const first = component[0];
    if (component.length === 1 && !graph.get(first)!.includes(first)) continue;
    const members = [...component].sort();
    cycles.push({ chain: shortestLoop(members[0], new Set(members), graph), members });
  }
  return cycles.sort((a, b) => (a.members[0] < b.members[0] ? -1 : 1));
}

/** Tarjan's algorithm, iterative so that a deep import chain cannot overflow the call stack. */
function stronglyConnected(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const visit = (node: string, work: { node: string; next: number }[]): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    work.push({ node, next: 0 });
  };
  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [];
    visit(root, work);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const targets = graph.get(frame.node)!;
      if (frame.next < targets.length) {
        const w = targets[frame.next++];
        if (!index.has(w)) visit(w, work);
        else if (onStack.has(w)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== frame.node);
      components.push(component);
    }
  }
  return components;
}

/** The shortest loop from `start` back to itself through `members` (breadth first), `start` at both ends. */
function shortestLoop(start: string, members: ReadonlySet<string>, graph: Graph): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    for (const w of graph.get(node)!) {
      if (w === start) {
        const back: string[] = [];
        for (let at = node; at !== start; at = previous.get(at)!) back.push(at);
        return [start, ...back.reverse(), start];
      }
      if (!members.has(w) || previous.has(w)) continue;
      previous.set(w, node);
      queue.push(w);
    }
  }
  throw new Error(`no loop through ${start}: it is not part of a cycle`);
}
