import { describe, expect, it } from "vitest";
import {
  bitOf,
  blockRectToFiles,
  blockStates,
  colourOf,
  countStates,
  layout,
  legendOf,
} from "../src/lib/filemap_layout";
// Written from dkist_widgets/core/file_states.py:legend_spec(); a Python test
// (tests/test_file_states.py) fails when the two differ.
import spec from "./fixtures/file_states_legend.json";

const LEGEND = legendOf(spec)!;
const IN_SLICE = bitOf(LEGEND, "in_slice");
const SELECTED = bitOf(LEGEND, "selected");
const LOCAL = bitOf(LEGEND, "local");
const FAILED = bitOf(LEGEND, "failed");
const TRANSFERRING = bitOf(LEGEND, "transferring");

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
  it("reads every bit from the kernel's legend", () => {
    const bits = [IN_SLICE, SELECTED, LOCAL, TRANSFERRING, FAILED];
    expect(bits.every((b) => b > 0)).toBe(true);
    expect(new Set(bits).size).toBe(5); // five distinct single bits
    expect(bits.every((b) => (b & (b - 1)) === 0)).toBe(true);
  });

  it("ORs the bits of the files in a block", () => {
    const lay = layout(1, 4, 2, 10); // two files per block
    const blocks = blockStates(new Uint8Array([IN_SLICE, LOCAL, 0, SELECTED]), lay);
    expect(Array.from(blocks)).toEqual([IN_SLICE | LOCAL, SELECTED]);
  });

  it("colours by the most urgent state, in the legend's order", () => {
    expect(colourOf(0, LEGEND)).toBe(LEGEND.outside.colour);
    expect(colourOf(IN_SLICE | FAILED, LEGEND)).toBe(colourOf(FAILED, LEGEND));
    expect(colourOf(IN_SLICE | SELECTED, LEGEND)).toBe(colourOf(SELECTED, LEGEND));
    expect(colourOf(SELECTED | TRANSFERRING, LEGEND)).toBe(colourOf(TRANSFERRING, LEGEND));
    expect(colourOf(FAILED | TRANSFERRING, LEGEND)).toBe(LEGEND.states[0].colour);
  });

  it("follows whatever legend it is given", () => {
    const other = {
      states: [{ name: "x", bit: 4, colour: "#010203", label: "ex" }],
      outside: { colour: "#0a0b0c", label: "none" },
    };
    expect(colourOf(4 | 1, other)).toBe("#010203");
    expect(colourOf(1, other)).toBe("#0a0b0c");
    expect(legendOf(undefined)).toBeNull();
    expect(legendOf({ states: 3 })).toBeNull();
  });

  it("counts files per state", () => {
    const counts = countStates(new Uint8Array([0, IN_SLICE, IN_SLICE | LOCAL, IN_SLICE | SELECTED]), LEGEND);
    expect(counts.total).toBe(4);
    expect(counts.outside).toBe(1);
    expect(counts.in_slice).toBe(3);
    expect(counts.local).toBe(1);
    expect(counts.selected).toBe(1);
  });

  it("maps a dragged block rectangle back to file rows and columns", () => {
    const lay = layout(4, 1000, 100, 320); // 10 files per column block
    expect(blockRectToFiles(lay, [2, 5], [0, 3])).toEqual({ rows: [0, 2], cols: [30, 59] });
    expect(blockRectToFiles(lay, [3, 99], [3, 99])).toEqual({ rows: [3, 3], cols: [990, 999] });
  });
});
