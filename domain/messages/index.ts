// The messages context's public surface (outside domain/, import from here or a port).
export * from './message'
export { advanceStatus } from './advance-status'
export { decodeCursor, encodeCursor, type MessageCursor } from './cursor'
