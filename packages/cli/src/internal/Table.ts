/** Plain-text tables: left-aligned columns, a header and a rule. */

export interface Column {
  readonly header: string
  readonly align?: "left" | "right"
  /** Longer cells are cut with an ellipsis. */
  readonly maxWidth?: number
}

const cut = (text: string, max: number | undefined) =>
  max === undefined || text.length <= max ? text : text.slice(0, Math.max(0, max - 1)) + "…"

export const render = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const cells = rows.map((row) => columns.map((c, i) => cut((row[i] ?? "").replace(/\s+/g, " "), c.maxWidth)))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: ReadonlyArray<string>) =>
    values
      .map((v, i) => (columns[i]!.align === "right" ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [
    line(columns.map((c) => c.header)),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map(line)
  ].join("\n") + "\n"
}

/** A cell for an arbitrary JSON value: strings as they are, the rest as JSON. */
export const jsonCell = (value: unknown): string =>
  value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)
