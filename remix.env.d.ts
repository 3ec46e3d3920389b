/// <reference types="@remix-run/dev" />
/// <reference types="@remix-run/node" />

// What the express shell (server/http-app.ts) puts in the load context of every request.
declare module '@remix-run/server-runtime' {
  interface AppLoadContext {
    /** The client address (per `TRUST_PROXY`), for audit entries and throttles. */
    ip: string | null
    /** This response's Content-Security-Policy nonce (server/security-headers.ts). */
    cspNonce: string
  }
}

export {}
