/**
 * A plain-text table: a header, a rule, and the rows, each column padded to its widest cell. Columns
 * whose index `alignRight` accepts (the numbers) are right-aligned, the others left-aligned.
 */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[], alignRight: (column: number) => boolean): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: readonly string[]) => cells.map((cell, i) => (alignRight(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}
