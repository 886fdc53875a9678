import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Which hosts the server may connect to on a client's word: inputs given by reference (`href`),
 * callback URIs (`subscriber`).
 */
export interface UrlPolicy {
  /** When not empty, only these host names (or IP literals) are reached. */
  allowedHosts: string[];
  /** Loopback and private ranges (RFC 1918, unique-local, CGNAT): off unless the operator allows them. */
  allowPrivateNetworks: boolean;
  /** The configuration section the policy comes from, for messages (e.g. `manager.files.href`). */
  settings: string;
}

/** Never reached, whatever the policy: link-local (cloud metadata lives there), unspecified, multicast. */
const forbidden = new BlockList();
forbidden.addSubnet('0.0.0.0', 8, 'ipv4');
forbidden.addSubnet('169.254.0.0', 16, 'ipv4');
forbidden.addSubnet('224.0.0.0', 3, 'ipv4');
forbidden.addAddress('100.100.100.200', 'ipv4'); // a cloud metadata address outside link-local
forbidden.addAddress('::', 'ipv6');
forbidden.addSubnet('fe80::', 10, 'ipv6');
forbidden.addSubnet('ff00::', 8, 'ipv6');
forbidden.addAddress('fd00:ec2::254', 'ipv6'); // the IPv6 form of a cloud metadata address

const privateRanges = new BlockList();
for (const [network, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10]] as const) privateRanges.addSubnet(network, prefix, 'ipv4');
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

privateRanges.addSubnet('64:ff9b:1::', 48, 'ipv6'); // local-use NAT64 (RFC 8215): where the IPv4 address sits is the operator's choice

/** IPv6 prefixes that carry an IPv4 address, and where: IPv4-mapped, IPv4-compatible (deprecated), NAT64, 6to4, Teredo. */
const carriers: Array<{ prefix: BlockList; groups: [number, number]; xor?: number }> = [
  { prefix: subnet('::ffff:0:0', 96), groups: [6, 7] },
  { prefix: subnet('::', 96), groups: [6, 7] },
  { prefix: subnet('64:ff9b::', 96), groups: [6, 7] },
  { prefix: subnet('2002::', 16), groups: [1, 2] },
  { prefix: subnet('2001::', 32), groups: [6, 7], xor: 0xffff }, // Teredo keeps the client's address inverted
];

function subnet(network: string, prefix: number): BlockList {
  const list = new BlockList();
  list.addSubnet(network, prefix, 'ipv6');
  return list;
}

/** The eight 16-bit groups of an IPv6 address. */
function groupsOf(address: string): number[] {
  const normal = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [head, tail] = normal.includes('::') ? normal.split('::') : [normal, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const [before, after] = [parse(head), parse(tail)];
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/** The IPv4 address an IPv6 address stands for (IPv4-mapped, -compatible, NAT64, 6to4, Teredo), if it does. */
function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const carrier = carriers.find(({ prefix }) => prefix.check(address, 'ipv6'));
  if (!carrier) return undefined;
  const groups = groupsOf(address);
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7]! <= 1) return undefined; // :: and ::1 are themselves, not IPv4
  const [high, low] = carrier.groups.map((i) => groups[i]! ^ (carrier.xor ?? 0));
  return [high! >> 8, high! & 255, low! >> 8, low! & 255].join('.');
}

/** Why the address may not be reached, or undefined when it may. */
export function addressRefusal(address: string, policy: UrlPolicy): string | undefined {
  const ip = embeddedIpv4(address) ?? address;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (forbidden.check(ip, family)) return `${address} is a link-local, metadata, multicast or unspecified address`;
  if (!policy.allowPrivateNetworks && privateRanges.check(ip, family)) return `${address} is a loopback or private address (${policy.settings}.allow_private_networks is off)`;
  return undefined;
}

/** Why the URL may not be reached, before any connection; undefined when it may (its addresses are checked on connect). */
export function urlRefusal(url: URL, policy: UrlPolicy): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `only http and https URLs are reached, not ${url.protocol}`;
  if (url.username || url.password) return 'URLs with credentials in them are not reached';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (policy.allowedHosts.length > 0 && !policy.allowedHosts.some((allowed) => allowed.toLowerCase() === host)) return `host ${host} is not one of ${policy.settings}.allowed_hosts`;
  return isIP(host) ? addressRefusal(host, policy) : undefined;
}

/**
 * A DNS lookup for the connection itself that refuses forbidden addresses: the address checked is the
 * address connected to, so a name that resolves differently a second time (DNS rebinding) gains nothing.
 */
export function guardedLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.map((a) => addressRefusal(a.address, policy)).find(Boolean);
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to ${refused}`), { code: 'EREFUSED_ADDRESS' }), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
