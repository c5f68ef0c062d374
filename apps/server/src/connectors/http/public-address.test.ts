import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from './http-client.js';
import { isPublicAddress } from './public-address.js';
import { mastodonProfile } from '../mastodon/profile.js';

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['151.101.1.140', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['127.8.9.10', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false], // cloud metadata
    ['100.64.0.1', false], // carrier-grade NAT
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false], // IPv4-mapped loopback
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::a00:1', false], // NAT64 of 10.0.0.1
    ['64:ff9b::808:808', true], // NAT64 of 8.8.8.8: how an IPv6-only host with DNS64 reaches it
    ['2002:a00:1::', false], // 6to4 of 10.0.0.1
    ['2002:808:808::1', true], // 6to4 of 8.8.8.8
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false], // Teredo: its IPv4 is obfuscated
    ['::7f00:1', false], // IPv4-compatible 127.0.0.1 (deprecated form)
    ['::a9fe:a9fe', false], // IPv4-compatible 169.254.169.254
    ['not-an-ip', false],
    ['', false],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('refuses every address of the private IPv4 blocks', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const privateAddress = fc.oneof(
      fc.tuple(octet, octet, octet).map(([a, b, c]) => `10.${a}.${b}.${c}`),
      fc
        .tuple(fc.integer({ min: 16, max: 31 }), octet, octet)
        .map(([a, b, c]) => `172.${a}.${b}.${c}`),
      fc.tuple(octet, octet).map(([a, b]) => `192.168.${a}.${b}`),
      fc.tuple(octet, octet, octet).map(([a, b, c]) => `127.${a}.${b}.${c}`),
      fc.tuple(octet, octet).map(([a, b]) => `169.254.${a}.${b}`),
    );
    fc.assert(
      fc.property(
        privateAddress,
        (address) => !isPublicAddress(address) && !isPublicAddress(`::ffff:${address}`),
      ),
    );
  });
});

describe('the HTTP layer reaches only public addresses, except configured origins', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits += 1;
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://localhost:${port}/internal` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const credential = { id: 'c1', accessToken: 'secret-token' };

  it('refuses an address literal and a name that resolves to loopback, without retrying', async () => {
    const registry = new Registry();
    const http = createHttpClient({ maxAttempts: 3, backoffBaseMs: 1, registry });
    hits = 0;
    for (const host of ['127.0.0.1', 'localhost']) {
      const failure = await http
        .request(mastodonProfile, {
          endpoint: 'GET /api/v1/instance',
          url: `http://${host}:${port}/api/v1/instance`,
          credential,
        })
        .catch((e: unknown) => e);
      expect(failure).toMatchObject({ kind: 'forbidden', platformCode: 'non_public_address' });
      expect(String((failure as Error).message)).toMatch(/not a public internet address/);
      expect(String((failure as Error).message)).not.toContain('secret-token');
    }
    expect(hits).toBe(0);
    // One attempt each (maxAttempts 3 would have made six): a refusal is not a transient error.
    expect(await registry.metrics()).toContain(
      'socialpulse_connector_requests_total{platform="mastodon",endpoint="GET /api/v1/instance",status="network"} 2',
    );
  });

  it("holds a configured origin's redirects to the rule", async () => {
    const http = createHttpClient({ maxAttempts: 1, trustedOrigins: [`http://127.0.0.1:${port}`] });
    hits = 0;
    const failure = await http
      .request(mastodonProfile, {
        endpoint: 'GET /redirect',
        url: `http://127.0.0.1:${port}/redirect`,
        credential,
      })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ kind: 'forbidden', platformCode: 'non_public_address' });
    expect(hits).toBe(1); // the configured origin answered; its redirect target was never reached
  });

  it('lets a configured origin (the simulator, a proxy) through', async () => {
    const http = createHttpClient({ maxAttempts: 1, trustedOrigins: [`http://127.0.0.1:${port}`] });
    hits = 0;
    const ok = await http.request(mastodonProfile, {
      endpoint: 'GET /api/v1/instance',
      url: `http://127.0.0.1:${port}/api/v1/instance`,
      credential,
    });
    expect(ok.status).toBe(200);
    expect(hits).toBe(1);
    // Same port, another host name: not the configured origin.
    const other = await http
      .request(mastodonProfile, {
        endpoint: 'GET /api/v1/instance',
        url: `http://localhost:${port}/api/v1/instance`,
        credential,
      })
      .catch((e: unknown) => e);
    expect(other).toMatchObject({ kind: 'forbidden', platformCode: 'non_public_address' });
    expect(hits).toBe(1);
  });
});
