import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Which IP addresses an outbound fetch of an outsider's URL may reach: only globally routable unicast.
 * IPv4 is a blocklist of the IANA special-purpose ranges (RFC 6890 and successors); IPv6 is an allowlist
 * (global unicast 2000::/3) minus its special ranges, so loopback, unspecified, link-local, unique-local,
 * multicast and the v4-compatible/translated forms are refused without being listed. Forms that embed an
 * IPv4 address (v4-mapped, NAT64, 6to4, Teredo) are judged by the address they embed.
 */

const specialIPv4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", includes the unspecified 0.0.0.0
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, includes cloud metadata 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation TEST-NET-1
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation TEST-NET-2
  ['203.0.113.0', 24], // documentation TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes broadcast 255.255.255.255
] as const) {
  specialIPv4.addSubnet(network, prefix, 'ipv4');
}

const globalUnicastIPv6 = new BlockList();
globalUnicastIPv6.addSubnet('2000::', 3, 'ipv6');

const specialIPv6 = new BlockList();
for (const [network, prefix] of [
  ['2001::', 23], // IETF protocol assignments (Teredo, inside it, is judged by what it embeds)
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
] as const) {
  specialIPv6.addSubnet(network, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address (zone ids refused), or undefined when it is not one. */
function ipv6Bytes(address: string): Uint8Array | undefined {
  if (!isIPv6(address) || address.includes('%')) return undefined;
  let text = address;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    text = `${dotted[1]}0:0`;
    tail.push(...dotted[2]!.split('.').map(Number));
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(rest);
  const words = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((value, i) => bytes[i] === value);
}

function ipv4At(bytes: Uint8Array, offset: number, mask = 0): string {
  return Array.from(bytes.subarray(offset, offset + 4), (b) => b ^ mask).join('.');
}

function isPublicIPv4(address: string): boolean {
  return !specialIPv4.check(address, 'ipv4');
}

/** The IPv4 addresses an IPv6 address stands for, when it is one of the forms that embed them. */
function embeddedIPv4(bytes: Uint8Array): string[] | undefined {
  if (startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])) return [ipv4At(bytes, 12)]; // v4-mapped ::ffff:0:0/96
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return [ipv4At(bytes, 12)]; // NAT64 64:ff9b::/96
  if (startsWith(bytes, [0x20, 0x02])) return [ipv4At(bytes, 2)]; // 6to4 2002::/16
  if (startsWith(bytes, [0x20, 0x01, 0, 0])) return [ipv4At(bytes, 4), ipv4At(bytes, 12, 0xff)]; // Teredo: server, obfuscated client
  return undefined;
}

/** True only for a globally routable unicast address; anything unparsable is not public. */
export function isPublicAddress(address: string): boolean {
  if (isIPv4(address)) return isPublicIPv4(address);
  const bytes = ipv6Bytes(address);
  if (!bytes) return false;
  const embedded = embeddedIPv4(bytes);
  if (embedded) return embedded.every(isPublicIPv4);
  const canonical = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!).toString(16)).join(':');
  return globalUnicastIPv6.check(canonical, 'ipv6') && !specialIPv6.check(canonical, 'ipv6');
}
