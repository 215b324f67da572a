// Pure layout arithmetic for the file map: how files (a rows x cols grid) fold
// into canvas blocks when there are more files than pixels, and which state
// colour a block shows. Kept free of the DOM so it can be unit-tested.

// State bits, one byte per file (must match dkist_widgets/panels/file_map.py).
export const IN_SLICE = 1;
export const SELECTED = 2;
export const LOCAL = 4;
export const TRANSFERRING = 8;
export const FAILED = 16;

// Highest priority first: a block shows the most urgent state of any file in it.
export const PRIORITY: [number, string, string][] = [
  [FAILED, "failed", "#d32f2f"],
  [TRANSFERRING, "transferring", "#f9a825"],
  [SELECTED, "selected", "#7b1fa2"],
  [LOCAL, "on disk", "#2e7d32"],
  [IN_SLICE, "in slice", "#64b5f6"],
];
export const OUTSIDE_COLOUR = "#d9d9d9";

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

export function colourOf(bits: number): string {
  for (const [bit, , colour] of PRIORITY) if (bits & bit) return colour;
  return OUTSIDE_COLOUR;
}

export function hexToRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// Count files per state bit (a file can count under several bits).
export function countStates(states: Uint8Array): Record<string, number> {
  const counts: Record<string, number> = { total: states.length, outside: 0 };
  for (const [, name] of PRIORITY) counts[name] = 0;
  for (let i = 0; i < states.length; i++) {
    const s = states[i];
    if (!(s & IN_SLICE)) counts.outside++;
    for (const [bit, name] of PRIORITY) if (s & bit) counts[name]++;
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
