import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';

/**
 * Requests to hosts a user named (a Mastodon instance, a redirect target) must not reach the
 * machine's own network: the cloud metadata address, the database, an internal admin page. A
 * host name check is not enough (any name can resolve to 10.0.0.1, and resolve differently on
 * the next request), so the check is on the address actually connected to, after DNS.
 */

/** Only ordinary global unicast: loopback, private, link-local, CGNAT, multicast, reserved,
 * unique-local, and the IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo) are
 * not public. An IPv4-mapped IPv6 address is judged as the IPv4 address it maps. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress()) parsed = parsed.toIPv4Address();
  return parsed.range() === 'unicast';
}

/** Raised (as the cause of the fetch failure) when a host resolves to a non-public address. */
export class NonPublicAddressError extends Error {
  readonly code = 'non_public_address';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to ${address}, which is not a public internet address`);
    this.name = 'NonPublicAddressError';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** `dns.lookup` that fails when ANY address of the host is not public (no "first good one"). */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad) return callback(new NonPublicAddressError(hostname, bad.address), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}

/**
 * An undici dispatcher that connects only to public addresses: names go through
 * `publicOnlyLookup` at connect time (so a name re-resolved between check and use cannot slip
 * through), and literal addresses, which skip DNS, are checked directly. Redirects are followed
 * through the same dispatcher, so they are held to the same rule.
 */
export function createPublicOnlyDispatcher(): Agent {
  const connect = buildConnector({ lookup: publicOnlyLookup });
  return new Agent({
    connect: (options, callback) => {
      const host = options.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0 && !isPublicAddress(host)) {
        callback(new NonPublicAddressError(host, host), null);
        return;
      }
      connect(options, callback);
    },
  });
}
