import { isIP } from 'node:net'

/**
 * Which IP addresses a CRM webhook may reach when private targets are refused (production;
 * docs/security.md#crm-webhook-targets). An allow-list of public unicast space rather than a
 * list of bad ranges only: IPv4 minus the special-purpose registry (RFC 6890 and successors),
 * IPv6 only inside global unicast 2000::/3 minus its special blocks; the IPv4 address embedded
 * in IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) forms is judged as
 * IPv4. Zone ids (fe80::1%eth0) are link-local, hence refused.
 */

type Cidr = readonly [base: bigint, bits: number]

function v4ToBigInt(address: string): bigint | undefined {
  const parts = address.split('.')
  if (parts.length !== 4) return undefined
  let n = 0n
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined
    n = (n << 8n) | BigInt(Number(p))
  }
  return n
}

/** 128-bit value of an IPv6 address (with an optional trailing dotted IPv4). */
function v6ToBigInt(address: string): bigint | undefined {
  let text = address.toLowerCase()
  let tail: bigint[] = []
  const lastColon = text.lastIndexOf(':')
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = v4ToBigInt(text.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    tail = [v4 >> 16n, v4 & 0xffffn]
    text = `${text.slice(0, lastColon + 1)}0:0`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (s: string) => (s === '' ? [] : s.split(':'))
  const head = parse(halves[0]!)
  const rest = halves.length === 2 ? parse(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest]
  let n = 0n
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined
    n = (n << 16n) | BigInt(parseInt(g, 16))
  }
  if (tail.length) n = (n & ~0xffffffffn) | (tail[0]! << 16n) | tail[1]!
  return n
}

const v4 = (cidr: string): Cidr => {
  const [base, bits] = cidr.split('/') as [string, string]
  return [v4ToBigInt(base)!, Number(bits)]
}
const v6 = (cidr: string): Cidr => {
  const [base, bits] = cidr.split('/') as [string, string]
  return [v6ToBigInt(base)!, Number(bits)]
}

const inCidr = (value: bigint, [base, bits]: Cidr, width: number): boolean => {
  const shift = BigInt(width - bits)
  return value >> shift === base >> shift
}

const V4_REFUSED: readonly Cidr[] = [
  '0.0.0.0/8', // "this network", unspecified
  '10.0.0.0/8', // private
  '100.64.0.0/10', // CGNAT (shared address space)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local (cloud metadata: 169.254.169.254)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation
  '203.0.113.0/24', // documentation
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
].map(v4)

const V6_GLOBAL_UNICAST = v6('2000::/3')
const V6_REFUSED_IN_GLOBAL: readonly Cidr[] = [
  '2001::/23', // IETF protocol assignments (Teredo, ORCHID, benchmarking…)
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation (RFC 9637)
].map(v6)
const V6_MAPPED = v6('::ffff:0:0/96')
const V6_NAT64 = v6('64:ff9b::/96')
const V6_6TO4 = v6('2002::/16')

function publicV4(n: bigint): boolean {
  return !V4_REFUSED.some((c) => inCidr(n, c, 32))
}

/** True when `address` (an IP literal, IPv6 without brackets) is public unicast. */
export function isPublicAddress(address: string): boolean {
  const zoneless = address.split('%')[0]!
  if (address.includes('%')) return false
  const family = isIP(zoneless)
  if (family === 4) return publicV4(v4ToBigInt(zoneless)!)
  if (family !== 6) return false
  const n = v6ToBigInt(zoneless)
  if (n === undefined) return false
  if (inCidr(n, V6_MAPPED, 128) || inCidr(n, V6_NAT64, 128)) return publicV4(n & 0xffffffffn)
  if (inCidr(n, V6_6TO4, 128)) return publicV4((n >> 80n) & 0xffffffffn)
  if (!inCidr(n, V6_GLOBAL_UNICAST, 128)) return false
  return !V6_REFUSED_IN_GLOBAL.some((c) => inCidr(n, c, 128))
}

/** The host of a URL as an IP literal (brackets removed), or undefined for a name. */
export function ipLiteralOf(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
  return isIP(bare) ? bare : undefined
}
