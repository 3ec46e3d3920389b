/**
 * `npx tsx tests/bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [per]`: what the
 * heap gained between two V8 heap snapshots (e.g. `npm run bench -- --only sse --heap-snapshots`
 * writes .bench/snapshots/primary/2000-before, -open, -closed), by node type and constructor
 * name: count and self size, largest first. With `per` (e.g. 2000, the streams open), the
 * counts and bytes are also divided by it: what each stream holds.
 */
import fs from 'node:fs'

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

function tally(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f))
  const out = new Map<string, { count: number; bytes: number }>()
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt!]!]!
    // Strings and numbers by type only (their "names" are their contents).
    const name = ['string', 'concatenated string', 'sliced string', 'number', 'hidden'].includes(type)
      ? ''
      : snap.strings[snap.nodes[i + nameAt!]!]!.slice(0, 60)
    const key = `${type}\t${name}`
    const t = out.get(key) ?? { count: 0, bytes: 0 }
    t.count++
    t.bytes += snap.nodes[i + sizeAt!]!
    out.set(key, t)
  }
  return out
}

const [beforeFile, afterFile, perArg] = process.argv.slice(2)
if (!beforeFile || !afterFile) throw new Error('usage: heap-diff.ts <before> <after> [per]')
const per = Number(perArg ?? 1)
const before = tally(beforeFile)
const after = tally(afterFile)
const rows = [...new Set([...before.keys(), ...after.keys()])]
  .map((key) => {
    const a = before.get(key) ?? { count: 0, bytes: 0 }
    const b = after.get(key) ?? { count: 0, bytes: 0 }
    return { key, count: b.count - a.count, bytes: b.bytes - a.bytes }
  })
  .filter((r) => r.count !== 0 || r.bytes !== 0)
  .sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes))
const total = rows.reduce((n, r) => n + r.bytes, 0)
process.stdout.write(`total ${(total / 1024).toFixed(1)} KB${per > 1 ? `, ${(total / per).toFixed(0)} B per ${per}` : ''}\n`)
for (const r of rows.slice(0, 60)) {
  const [type, name] = r.key.split('\t')
  process.stdout.write(
    `${String(r.bytes).padStart(10)} B ${String(r.count).padStart(8)}  ${per > 1 ? `${(r.bytes / per).toFixed(0).padStart(6)} B ${(r.count / per).toFixed(2).padStart(6)}  ` : ''}${type} ${name}\n`,
  )
}
