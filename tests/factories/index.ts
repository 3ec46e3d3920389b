export { addMember, createTenant, createUser, type TenantFixture, type UserFixture } from './tenant'
export { createInstance, type InstanceFixture } from './instance'
export { uniqueDigits, uniqueSuffix } from './unique'
