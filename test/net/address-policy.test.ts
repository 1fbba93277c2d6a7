import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPublicAddress } from '../../src/net/address-policy.js';

const refused: Array<[string, string]> = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', '"this network" 0/8'],
  ['10.0.0.1', 'private 10/8'],
  ['10.255.255.255', 'private 10/8, last address'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.254', 'carrier-grade NAT, top'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback, all of 127/8'],
  ['169.254.169.254', 'link-local: cloud metadata'],
  ['169.254.0.1', 'link-local'],
  ['172.16.0.1', 'private 172.16/12'],
  ['172.31.255.255', 'private 172.16/12, top'],
  ['192.0.0.8', 'IETF protocol assignments'],
  ['192.0.2.10', 'documentation TEST-NET-1'],
  ['192.88.99.1', '6to4 relay anycast'],
  ['192.168.1.1', 'private 192.168/16'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking, top'],
  ['198.51.100.7', 'documentation TEST-NET-2'],
  ['203.0.113.9', 'documentation TEST-NET-3'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast SSDP'],
  ['240.0.0.1', 'reserved 240/4'],
  ['255.255.255.255', 'broadcast'],
  ['::', 'unspecified v6'],
  ['::1', 'loopback v6'],
  ['0:0:0:0:0:0:0:1', 'loopback v6, long form'],
  ['::ffff:127.0.0.1', 'v4-mapped loopback'],
  ['::ffff:7f00:1', 'v4-mapped loopback, hex form'],
  ['::ffff:169.254.169.254', 'v4-mapped metadata address'],
  ['::ffff:10.1.2.3', 'v4-mapped private'],
  ['::127.0.0.1', 'deprecated v4-compatible'],
  ['::ffff:0:8.8.8.8', 'SIIT v4-translated'],
  ['fe80::1', 'link-local v6'],
  ['febf:ffff::1', 'link-local v6, top of fe80::/10'],
  ['fe80::1%eth0', 'link-local with a zone'],
  ['fec0::1', 'deprecated site-local'],
  ['fc00::1', 'unique-local fc00::/7'],
  ['fdff:ffff::1', 'unique-local fd00::/8'],
  ['ff02::1', 'multicast v6'],
  ['ff0e::1', 'global-scope multicast'],
  ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
  ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1'],
  ['64:ff9b::169.254.169.254', 'NAT64 of the metadata address'],
  ['64:ff9b:1::808:808', 'local-use NAT64 64:ff9b:1::/48'],
  ['2002:a00:1::1', '6to4 embedding 10.0.0.1'],
  ['2002:7f00:1::', '6to4 embedding 127.0.0.1'],
  ['2001:0:a00:1::1', 'Teredo with a private server'],
  ['2001:0:808:808::f5ff:fffe', 'Teredo with an obfuscated private client (10.0.0.1)'],
  ['2001:db8::1', 'documentation v6'],
  ['3fff::1', 'documentation v6 (RFC 9637)'],
  ['2001:2::1', 'benchmarking v6 (inside 2001::/23)'],
  ['2001:10::1', 'ORCHID (inside 2001::/23)'],
  ['100::1', 'discard-only 100::/64'],
  ['5f00::1', 'SRv6 SIDs, outside global unicast'],
  ['not-an-ip', 'not an address'],
  ['', 'empty'],
  ['127.1', 'shorthand that only a URL parser would expand'],
];

const allowed: Array<[string, string]> = [
  ['8.8.8.8', 'public v4'],
  ['1.1.1.1', 'public v4'],
  ['100.63.255.255', 'just below carrier-grade NAT'],
  ['100.128.0.0', 'just above carrier-grade NAT'],
  ['172.15.255.255', 'just below 172.16/12'],
  ['172.32.0.0', 'just above 172.16/12'],
  ['192.167.255.255', 'just below 192.168/16'],
  ['198.20.0.0', 'just above benchmarking'],
  ['223.255.255.255', 'just below multicast'],
  ['2606:4700:4700::1111', 'public v6'],
  ['2001:4860:4860::8888', 'public v6 (2001:4860::/32 is outside 2001::/23)'],
  ['::ffff:8.8.8.8', 'v4-mapped public'],
  ['64:ff9b::808:808', 'NAT64 of a public address'],
  ['2002:808:808::1', '6to4 embedding a public address'],
  ['2001:0:808:808::f7f7:f7f7', 'Teredo with public server and client'],
];

describe('address policy', () => {
  for (const [address, why] of refused) {
    it(`refuses ${address || '(empty)'}: ${why}`, () => {
      assert.equal(isPublicAddress(address), false);
    });
  }
  for (const [address, why] of allowed) {
    it(`allows ${address}: ${why}`, () => {
      assert.equal(isPublicAddress(address), true);
    });
  }
});
