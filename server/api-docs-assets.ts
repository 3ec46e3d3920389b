import { createRequire } from 'node:module'
import path from 'node:path'
import express, { type Router } from 'express'
import { projectRoot } from './runtime'

/** Where /api/docs loads Swagger UI from (app/routes/api.docs.ts). */
export const API_DOCS_ASSETS_PATH = '/api/docs/assets'

/**
 * Swagger UI's browser files, served from the installed `swagger-ui-dist` (a dependency, so it
 * is still there after `npm prune --omit=dev`): self-hosted, no CDN. Only the two files the page
 * loads, not the package's own index.html and its Petstore initializer.
 */
export function apiDocsAssets(): Router {
  const dir = path.dirname(createRequire(path.join(projectRoot, 'package.json')).resolve('swagger-ui-dist/package.json'))
  const router = express.Router()
  for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
    router.get(`/${file}`, (_req, res) => res.sendFile(path.join(dir, file), { maxAge: '1d' }))
  }
  return router
}
