import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildOpenApiDocument } from '../../app/api/schemas'

/**
 * Writes the OpenAPI document the way GET /api/openapi.json builds it (the same function, no
 * server, no database) so that .ci/api-contract can lint it and generate a client from it.
 *
 *   npx tsx tests/contract/write-openapi.ts [out.json]   → prints the path it wrote
 */
const out = process.argv[2] ?? path.join(mkdtempSync(path.join(tmpdir(), 'openapi-')), 'openapi.json')
writeFileSync(out, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`)
console.log(out)
