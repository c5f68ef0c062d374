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

/**
 * Only ordinary global unicast: loopback, private, link-local, CGNAT, multicast, reserved and
 * unique-local addresses are not public. IPv6 forms that carry an IPv4 address are judged by it:
 * IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`, how an IPv6-only host with DNS64 reaches
 * every IPv4-only site) and 6to4 (`2002:AABB:CCDD::/48`). Teredo (its IPv4 is obfuscated) and the
 * deprecated IPv4-compatible `::a.b.c.d` are refused outright.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed instanceof ipaddr.IPv4) return parsed.range() === 'unicast';
  const bytes = parsed.toByteArray();
  const embedded = (from: number): boolean =>
    isPublicAddress(bytes.slice(from, from + 4).join('.'));
  if (parsed.isIPv4MappedAddress()) return embedded(12);
  switch (parsed.range()) {
    case 'rfc6052':
      return embedded(12);
    case '6to4':
      return embedded(2);
    case 'unicast':
      // ::a.b.c.d (IPv4-compatible, deprecated): tunnelled to a.b.c.d where it is still routed.
      return bytes.slice(0, 12).some((b) => b !== 0);
    default:
      return false;
  }
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

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** `dns.lookup` that fails when ANY address of the host is not public (no "first good one"). */
function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad) return callback(new NonPublicAddressError(hostname, bad.address), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first)
      return callback(
        Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }),
        [],
      );
    callback(null, first.address, first.family);
  });
}

/**
 * An undici dispatcher that connects only to public addresses, and to the operator's configured
 * origins (`trusted`, as `host:port`: the simulator, a proxy). Names go through
 * `publicOnlyLookup` at connect time (so a name re-resolved between check and use cannot slip
 * through); literal addresses, which skip DNS, are checked directly. Every connection of a
 * request goes through it, redirects included: a trusted origin that redirects elsewhere is held
 * to the rule like anyone.
 */
export function createPublicOnlyDispatcher(trusted: ReadonlySet<string> = new Set()): Agent {
  const guarded = buildConnector({ lookup: publicOnlyLookup });
  const plain = buildConnector({});
  return new Agent({
    connect: (options, callback) => {
      const host = options.hostname.replace(/^\[|\]$/g, '');
      const port = options.port || (options.protocol === 'https:' ? '443' : '80');
      if (trusted.has(`${host}:${port}`)) {
        plain(options, callback);
        return;
      }
      if (isIP(host) !== 0 && !isPublicAddress(host)) {
        callback(new NonPublicAddressError(host, host), null);
        return;
      }
      guarded(options, callback);
    },
  });
}

/** `host:port` of an origin, as the dispatcher sees a connection (brackets off, default ports filled in). */
export function hostPortOf(origin: string): string {
  const url = new URL(origin);
  return `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}
