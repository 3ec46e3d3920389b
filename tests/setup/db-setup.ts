import pg from 'pg'
import { inject } from 'vitest'

// Each test file gets its own database cloned from the migrated template, named after the
// worker and file so parallel workers never share rows. DATABASE_URL is set before any app
// module is imported (the tests import the app lazily).
const serverUrl = inject('pgServerUrl')
const name = `app_test_${process.env.VITEST_POOL_ID ?? '0'}_${process.pid}`
if (!name.includes('test')) throw new Error('Refusing to use a database whose name lacks "test"')

const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` })
await admin.connect()
await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
await admin.query(`CREATE DATABASE ${name} TEMPLATE app_test_template`)
await admin.end()

process.env.DATABASE_URL = `${serverUrl}/${name}`
process.env.TEST_PG_SERVER_URL = serverUrl
