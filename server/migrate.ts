import { migrateCli } from '../db/migrate'

// `npm run db:migrate` / `npm run db:reset`: exits with the runner's own code (0 up to date, 1 failed).
process.exit(await migrateCli(process.argv.slice(2)))
