import { describe, expect, it } from 'vitest'
import { ipLiteralOf, isPublicAddress } from './address-policy'

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '192.0.2.1',
    '::',
    '::1',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::a00:1',
    '2002:7f00:1::',
    '2001:db8::1',
    '::127.0.0.1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false)
  })

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '::ffff:93.184.216.34',
    '2002:5db8:d822::',
  ])('allows %s', (address) => {
    expect(isPublicAddress(address)).toBe(true)
  })
})

describe('ipLiteralOf', () => {
  it('strips IPv6 brackets and leaves names alone', () => {
    expect(ipLiteralOf('[::ffff:7f00:1]')).toBe('::ffff:7f00:1')
    expect(ipLiteralOf('10.0.0.1')).toBe('10.0.0.1')
    expect(ipLiteralOf('crm.example.com')).toBeUndefined()
  })
})
