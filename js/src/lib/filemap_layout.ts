// Pure layout arithmetic for the file map: how files (a rows x cols grid) fold
// into canvas blocks when there are more files than pixels, and which state
// colour a block shows. Kept free of the DOM so it can be unit-tested.

// The state bits, their colours and labels are defined once, in Python
// (dkist_widgets/core/file_states.py), and arrive as the widget's `legend` trait:
// { states: [{name, bit, colour, label}, ...] most urgent first,
//   outside: {colour, label} } for files with no bit set.
export interface FileState {
  name: string;
  bit: number;
  colour: string;
  label: string;
}
export interface Legend {
  states: FileState[];
  outside: { colour: string; label: string };
}

// The kernel's legend, or null when there is none (then nothing is drawn: no
// colour is ever invented here).
export function legendOf(value: unknown): Legend | null {
  const v = value as Partial<Legend> | undefined;
  if (!v || !Array.isArray(v.states) || !v.outside) return null;
  return { states: v.states, outside: v.outside };
}

// The bit of the state called `name` ("in_slice", "failed", ...), 0 if unknown.
export function bitOf(legend: Legend, name: string): number {
  return legend.states.find((s) => s.name === name)?.bit ?? 0;
}

export interface Layout {
  rows: number;
  cols: number;
  // files per block along each axis (>= 1)
  rowStep: number;
  colStep: number;
  // blocks along each axis
  blockRows: number;
  blockCols: number;
}

export function layout(rows: number, cols: number, maxWidth: number, maxHeight: number): Layout {
  const colStep = Math.max(1, Math.ceil(cols / Math.max(1, maxWidth)));
  const rowStep = Math.max(1, Math.ceil(rows / Math.max(1, maxHeight)));
  return {
    rows,
    cols,
    rowStep,
    colStep,
    blockRows: Math.ceil(rows / rowStep),
    blockCols: Math.ceil(cols / colStep),
  };
}

// The OR of the state bits of every file in each block, row-major over blocks.
export function blockStates(states: Uint8Array, lay: Layout): Uint8Array {
  const out = new Uint8Array(lay.blockRows * lay.blockCols);
  for (let r = 0; r < lay.rows; r++) {
    const br = Math.floor(r / lay.rowStep) * lay.blockCols;
    const base = r * lay.cols;
    for (let c = 0; c < lay.cols; c++) {
      out[br + Math.floor(c / lay.colStep)] |= states[base + c];
    }
  }
  return out;
}

// The colour of the most urgent state among `bits` (states are most urgent first).
export function colourOf(bits: number, legend: Legend): string {
  for (const s of legend.states) if (bits & s.bit) return s.colour;
  return legend.outside.colour;
}

export function hexToRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// Count files per state name (a file can count under several), plus files
// outside the slice (no "in_slice" bit) and the total.
export function countStates(states: Uint8Array, legend: Legend): Record<string, number> {
  const counts: Record<string, number> = { total: states.length, outside: 0 };
  const inSlice = bitOf(legend, "in_slice");
  for (const s of legend.states) counts[s.name] = 0;
  for (let i = 0; i < states.length; i++) {
    const v = states[i];
    if (!(v & inSlice)) counts.outside++;
    for (const s of legend.states) if (v & s.bit) counts[s.name]++;
  }
  return counts;
}

// The inclusive file-index rectangle covered by two block positions.
export function blockRectToFiles(
  lay: Layout,
  b0: [number, number],
  b1: [number, number],
): { rows: [number, number]; cols: [number, number] } {
  const r0 = Math.min(b0[0], b1[0]);
  const r1 = Math.max(b0[0], b1[0]);
  const c0 = Math.min(b0[1], b1[1]);
  const c1 = Math.max(b0[1], b1[1]);
  return {
    rows: [r0 * lay.rowStep, Math.min(lay.rows - 1, (r1 + 1) * lay.rowStep - 1)],
    cols: [c0 * lay.colStep, Math.min(lay.cols - 1, (c1 + 1) * lay.colStep - 1)],
  };
}
