export * from './simulator'
export * from './http'
export * from './shared-api-url'
