import { sql, type Kysely } from 'kysely'
import type { Database } from '../../db/schema'
import type { SimulatorStore, SimulatorStoredRow } from '../green-api/simulator/simulator'

/**
 * The Green-API simulator's instances in `wa_simulator_instances` (decision 215): every app
 * process in simulator mode reads and writes the same rows, so they serve one simulator.
 */
export class KyselySimulatorStore implements SimulatorStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<SimulatorStoredRow[]> {
    const rows = await this.db.selectFrom('wa_simulator_instances').select(['id', 'record', 'version']).execute()
    return rows.map((r) => ({ id: r.id, record: r.record, version: Number(r.version) }))
  }

  async insert(id: string, record: Record<string, unknown>): Promise<number | null> {
    const row = await this.db
      .insertInto('wa_simulator_instances')
      .values({ id, record: JSON.stringify(record) })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('version')
      .executeTakeFirst()
    return row ? Number(row.version) : null
  }

  async save(id: string, record: Record<string, unknown>): Promise<number | null> {
    const res = await sql<{ version: string }>`
      UPDATE wa_simulator_instances SET record = ${JSON.stringify(record)}::jsonb, version = version + 1, updated_at = now()
      WHERE id = ${id} RETURNING version`.execute(this.db)
    const row = res.rows[0]
    return row ? Number(row.version) : null
  }
}
