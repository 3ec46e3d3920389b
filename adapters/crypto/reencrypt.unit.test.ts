import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AesGcmCredentialVault, envelopeKeyId } from './aes-gcm-credential-vault'
import { EncryptionKeyring } from './encryption-keys'
import { type SecretColumnRef, type SecretRow, type SecretRowSource, reencryptAll } from './reencrypt'

const K1 = randomBytes(32)
const K2 = randomBytes(32)
const oldVault = new AesGcmCredentialVault(new EncryptionKeyring([['k1', K1]], 'k1'))
const newVault = new AesGcmCredentialVault(
  new EncryptionKeyring(
    [
      ['k1', K1],
      ['k2', K2],
    ],
    'k2',
  ),
)

const COLS: SecretColumnRef[] = [
  { table: 't', column: 'a' },
  { table: 't', column: 'b' },
]

/** In-memory SecretRowSource with numeric ids, honouring the interface contract. */
class MemorySource implements SecretRowSource {
  readonly data = new Map<string, Map<number, { tenantId: string; envelope: string }>>()
  beforeCas?: (row: SecretRow) => void

  constructor(rowsPerColumn: number, vault: AesGcmCredentialVault) {
    for (const c of COLS) {
      const m = new Map<number, { tenantId: string; envelope: string }>()
      for (let id = 1; id <= rowsPerColumn; id++) {
        const tenantId = `tenant${id % 3}`
        m.set(id, { tenantId, envelope: vault.encrypt(`${c.column}-secret-${id}`, { tenantId, ...c }) })
      }
      this.data.set(`${c.table}.${c.column}`, m)
    }
  }
  columns() {
    return COLS
  }
  async listStale(ref: SecretColumnRef, page: { currentKeyId: string; afterId: string | null; limit: number }) {
    const m = this.data.get(`${ref.table}.${ref.column}`)!
    return [...m.entries()]
      .filter(
        ([id, r]) => (page.afterId === null || id > Number(page.afterId)) && !r.envelope.startsWith(`v1.${page.currentKeyId}.`),
      )
      .sort(([a], [b]) => a - b)
      .slice(0, page.limit)
      .map(([id, r]) => ({ ...ref, id: String(id), envelope: r.envelope, location: { tenantId: r.tenantId, ...ref } }))
  }
  async compareAndSet(row: SecretRow, next: string) {
    this.beforeCas?.(row)
    const r = this.data.get(`${row.table}.${row.column}`)!.get(Number(row.id))!
    if (r.envelope !== row.envelope) return false
    r.envelope = next
    return true
  }
  keyIds(): string[] {
    return [...this.data.values()].flatMap((m) => [...m.values()].map((r) => envelopeKeyId(r.envelope) ?? '?'))
  }
}

describe('reencryptAll (in-memory source)', () => {
  it('moves every row to the current key, keeps plaintexts, and a second run does nothing', async () => {
    const src = new MemorySource(7, oldVault)
    const progress: string[] = []
    const first = await reencryptAll(src, newVault, {
      batchSize: 3,
      onProgress: (p) => void progress.push(`${p.column}:${p.lastId}`),
    })
    expect(first).toEqual({ scanned: 14, reencrypted: 14, skipped: 0, failed: 0 })
    expect(progress).toEqual(['a:3', 'a:6', 'a:7', 'b:3', 'b:6', 'b:7'])
    expect(new Set(src.keyIds())).toEqual(new Set(['k2']))
    const m = src.data.get('t.b')!.get(5)!
    expect(newVault.decrypt(m.envelope, { tenantId: m.tenantId, table: 't', column: 'b' })).toBe('b-secret-5')
    expect(await reencryptAll(src, newVault, { batchSize: 3 })).toEqual({ scanned: 0, reencrypted: 0, skipped: 0, failed: 0 })
  })

  it('resumes after an interruption', async () => {
    const src = new MemorySource(10, oldVault)
    let batches = 0
    await expect(
      reencryptAll(src, newVault, {
        batchSize: 4,
        onProgress: () => {
          batches++
          throw new Error('operator pressed ctrl-c')
        },
      }),
    ).rejects.toThrow('ctrl-c')
    expect(batches).toBe(1)
    expect(src.keyIds().filter((k) => k === 'k2')).toHaveLength(4)
    const rest = await reencryptAll(src, newVault, { batchSize: 4 })
    expect(rest).toEqual({ scanned: 16, reencrypted: 16, skipped: 0, failed: 0 })
    expect(new Set(src.keyIds())).toEqual(new Set(['k2']))
  })

  it('loses the compare-and-set to a concurrent writer instead of overwriting it', async () => {
    const src = new MemorySource(2, oldVault)
    const at = { tenantId: 'tenant1', table: 't', column: 'a' }
    src.beforeCas = (row) => {
      if (row.column === 'a' && row.id === '1') {
        src.data.get('t.a')!.get(1)!.envelope = oldVault.encrypt('changed-by-app', at) // an old process
      }
    }
    const counts = await reencryptAll(src, newVault)
    expect(counts).toEqual({ scanned: 4, reencrypted: 3, skipped: 1, failed: 0 })
    src.beforeCas = undefined
    // The app's value survived, and the next run moves it to k2 too.
    expect(await reencryptAll(src, newVault)).toEqual({ scanned: 1, reencrypted: 1, skipped: 0, failed: 0 })
    expect(newVault.decrypt(src.data.get('t.a')!.get(1)!.envelope, at)).toBe('changed-by-app')
  })

  it('counts undecryptable rows as failed, leaves them untouched and still terminates', async () => {
    const src = new MemorySource(5, oldVault)
    src.data.get('t.a')!.get(2)!.envelope = 'v1.zz.AAAA'
    src.data.get('t.a')!.get(4)!.envelope = 'not an envelope'
    const counts = await reencryptAll(src, newVault, { batchSize: 2 })
    expect(counts).toEqual({ scanned: 10, reencrypted: 8, skipped: 0, failed: 2 })
    expect(src.data.get('t.a')!.get(4)!.envelope).toBe('not an envelope')
  })

  it('rejects a nonsensical batch size', async () => {
    await expect(reencryptAll(new MemorySource(1, oldVault), newVault, { batchSize: 0 })).rejects.toThrow(RangeError)
  })
})
