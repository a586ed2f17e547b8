/** The sync bench's documents: 5 fields each, like the local bench. */
export const benchDocs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    _id: `item-${i.toString().padStart(7, "0")}`,
    f1: `value ${i}`,
    f2: i,
    f3: i % 3 === 0,
    f4: ["a", "b", "c"][i % 3]!,
    f5: i * 1.5
  }))
