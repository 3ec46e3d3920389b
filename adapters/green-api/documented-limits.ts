/**
 * Green-API's documented per-instance rate limits, requests per second (docs/green-api.md#errors-and-rate-limits). One
 * table for both sides: the client paces itself by it, the simulator answers 429 beyond it.
 */
export const GREEN_API_RATE_LIMITS: Readonly<Record<string, number>> = {
  qr: 3,
  getStateInstance: 1,
  getWaSettings: 1,
  getSettings: 1,
  setSettings: 1,
  logout: 1,
  reboot: 1,
  sendMessage: 50,
  checkWhatsapp: 10,
  getMessage: 10,
  lastOutgoingMessages: 1,
  getContactInfo: 1,
  receiveNotification: 100,
  deleteNotification: 100,
}
