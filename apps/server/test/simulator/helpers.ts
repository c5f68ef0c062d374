/** Small helpers shared by the simulator's tests. */
import type { Simulator } from './simulator.js';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, text, body };
}

export const withBearer = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: {
    ...(init.headers as Record<string, string> | undefined),
    authorization: `Bearer ${token}`,
  },
});

export const postJson = (token: string, body: unknown): RequestInit => ({
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export const postForm = (
  form: Record<string, string>,
  headers: Record<string, string> = {},
): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(form).toString(),
});

export const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

/** A property of a parsed JSON body, for assertions (throws on a non-object). */
export function field(body: unknown, ...path: (string | number)[]): unknown {
  let node: unknown = body;
  for (const key of path) {
    if (node === null || typeof node !== 'object')
      throw new Error(`no ${path.join('.')} in ${JSON.stringify(body).slice(0, 300)}`);
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

export function first<T>(items: readonly T[] | undefined): T {
  const item = items?.[0];
  if (item === undefined) throw new Error('expected at least one item');
  return item;
}

export function accountOf(
  sim: Simulator,
  platform: Parameters<Simulator['url']>[0],
  index = 0,
): Simulator['accounts'][typeof platform][number] {
  const account = sim.accounts[platform][index];
  if (account === undefined) throw new Error(`no ${platform} account ${index}`);
  return account;
}
