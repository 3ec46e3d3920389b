/// <reference types="@remix-run/dev" />
/// <reference types="@remix-run/node" />

// What the express shell (server/http-app.ts) puts in the load context of every request.
declare module '@remix-run/server-runtime' {
  interface AppLoadContext {
    /** The client address (per `TRUST_PROXY`), for audit entries and throttles. */
    ip: string | null
    /** This response's Content-Security-Policy nonce (server/security-headers.ts). */
    cspNonce: string
    /**
     * Aborts when the HTTP response is closed (finished, or the client went away). Taken from the
     * socket because the `request.signal` Remix hands loaders is linked to the real one through
     * a WeakRef (undici): once collected, its abort never arrives (issue 13).
     */
    closed: AbortSignal
    /**
     * This server's own address as its socket saw it (`http://127.0.0.1:3000`), for URLs handed
     * to Green-API when PUBLIC_URL is not set (never in production): never the client's Host header.
     */
    localOrigin: string
  }
}

export {}
