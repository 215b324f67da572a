// Windowing arithmetic of the frame table (pure, unit-tested): which rows are on
// screen for a scroll position, and when to ask the kernel for another window.

export const ROW_HEIGHT = 22;

/** First and last (exclusive) view rows visible at scrollTop in a body of `height` px. */
export function visibleRows(scrollTop: number, height: number, nRows: number): [number, number] {
  const first = Math.max(0, Math.min(nRows, Math.floor(scrollTop / ROW_HEIGHT)));
  const last = Math.max(first, Math.min(nRows, Math.ceil((scrollTop + height) / ROW_HEIGHT)));
  return [first, last];
}

/**
 * The window_start to request, or null when the rows held ([rowsStart, rowsStart +
 * nHeld)) already cover the visible rows. A new window starts a third of a window
 * above the first visible row, so scrolling either way stays covered for a while.
 */
export function windowToRequest(
  visible: [number, number],
  rowsStart: number,
  nHeld: number,
  windowRows: number,
  nRows: number,
): number | null {
  const [first, last] = visible;
  if (last <= first) return null;
  const heldEnd = rowsStart + nHeld;
  if (first >= rowsStart && last <= heldEnd) return null;
  const start = Math.max(0, Math.min(first - Math.floor(windowRows / 3), nRows - windowRows));
  return Math.max(0, start);
}
