import { describe, expect, it } from "vitest";
import {
  blockRectToFiles,
  blockStates,
  colourOf,
  countStates,
  FAILED,
  IN_SLICE,
  layout,
  LOCAL,
  OUTSIDE_COLOUR,
  SELECTED,
} from "../src/lib/filemap_layout";

describe("layout", () => {
  it("keeps one file per block when files fit", () => {
    const lay = layout(4, 100, 860, 320);
    expect([lay.rowStep, lay.colStep, lay.blockRows, lay.blockCols]).toEqual([1, 1, 4, 100]);
  });

  it("folds a million files into at most the pixel budget", () => {
    const lay = layout(4, 250_000, 860, 320);
    expect(lay.blockCols).toBeLessThanOrEqual(860);
    expect(lay.colStep * lay.blockCols).toBeGreaterThanOrEqual(250_000);
    const states = new Uint8Array(4 * 250_000);
    states[3 * 250_000 + 249_999] = FAILED;
    const blocks = blockStates(states, lay);
    expect(blocks.length).toBe(lay.blockRows * lay.blockCols);
    // the one failed file, in the last row and column, marks the last block
    expect(blocks[blocks.length - 1]).toBe(FAILED);
    expect(blocks.slice(0, -1).every((b) => b === 0)).toBe(true);
  });
});

describe("states", () => {
  it("ORs the bits of the files in a block", () => {
    const lay = layout(1, 4, 2, 10); // two files per block
    const blocks = blockStates(new Uint8Array([IN_SLICE, LOCAL, 0, SELECTED]), lay);
    expect(Array.from(blocks)).toEqual([IN_SLICE | LOCAL, SELECTED]);
  });

  it("colours by the most urgent state", () => {
    expect(colourOf(0)).toBe(OUTSIDE_COLOUR);
    expect(colourOf(IN_SLICE | FAILED)).toBe(colourOf(FAILED));
    expect(colourOf(IN_SLICE | SELECTED)).toBe(colourOf(SELECTED));
  });

  it("counts files per state", () => {
    const counts = countStates(new Uint8Array([0, IN_SLICE, IN_SLICE | LOCAL, IN_SLICE | SELECTED]));
    expect(counts.total).toBe(4);
    expect(counts.outside).toBe(1);
    expect(counts["in slice"]).toBe(3);
    expect(counts["on disk"]).toBe(1);
    expect(counts.selected).toBe(1);
  });

  it("maps a dragged block rectangle back to file rows and columns", () => {
    const lay = layout(4, 1000, 100, 320); // 10 files per column block
    expect(blockRectToFiles(lay, [2, 5], [0, 3])).toEqual({ rows: [0, 2], cols: [30, 59] });
    expect(blockRectToFiles(lay, [3, 99], [3, 99])).toEqual({ rows: [3, 3], cols: [990, 999] });
  });
});
