export * from './simulator'
export * from './http'
