export * from './green-api-whatsapp-provider'
