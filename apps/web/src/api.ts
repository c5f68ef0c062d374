/**
 * The one way the web app talks to the API: same-origin fetch with the session in HTTP-only
 * cookies (sp_access, sp_refresh) set by the server. Cookie-authenticated writes need the CSRF
 * token that every token response carries (`csrf_token`, sent back as `x-csrf-token`); it is
 * kept in localStorage, as no route hands it out again later.
 */
import type {
  Analysis,
  AnalysisCreate,
  AnalysisResult,
  createdInvitationSchema,
  deadLetterReplaySchema,
  ErrorBody,
  ImportResult,
  invitationListSchema,
  meSchema,
  memberListSchema,
  roleSchema,
  tokenResponseSchema,
  Workspace,
  workspaceListSchema,
} from '@socialpulse/contracts';

export type { Analysis, AnalysisResult, ImportResult, Workspace };
export type Me = ReturnType<(typeof meSchema)['parse']>;
export type Role = ReturnType<(typeof roleSchema)['parse']>;
export type MemberList = ReturnType<(typeof memberListSchema)['parse']>;
export type Member = MemberList['data'][number];
export type InvitationList = ReturnType<(typeof invitationListSchema)['parse']>;
export type Invitation = InvitationList['data'][number];
export type CreatedInvitation = ReturnType<(typeof createdInvitationSchema)['parse']>;
export type Tokens = ReturnType<(typeof tokenResponseSchema)['parse']>;
export type WorkspaceList = ReturnType<(typeof workspaceListSchema)['parse']>;
/** POST …/dead-letters/{id}/replay: the dead letter and the sync run queued to replay it. */
export type DeadLetterReplay = ReturnType<(typeof deadLetterReplaySchema)['parse']>;
/** A POST body: the server fills in every default. */
export type AnalysisRequest = {
  [K in keyof AnalysisCreate]?: Partial<AnalysisCreate[K]>;
};
/** A page of a cursor-paginated list. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
export type SignInResult = Tokens | { mfa_required: true; mfa_token: string };

/** An error answered by the API (or a network failure, status 0), with its message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * A 401 that renewing could not cure: both session cookies are gone or expired. Its own class
 * so that forms can offer a way to sign in again rather than the server's message (a 401 of the
 * account routes, such as a wrong password, is an ordinary ApiError).
 */
export class SessionEndedError extends ApiError {
  constructor(message: string, details: unknown = null) {
    super(401, 'session_ended', message, details);
    this.name = 'SessionEndedError';
  }
}

const CSRF_KEY = 'socialpulse.csrf_token';

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: writes after a reload will be refused, reads still work
  }
}

export const forgetCsrfToken = (): void => storage()?.removeItem(CSRF_KEY);

async function send(method: string, path: string, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  // A file goes as it is (the server recognises its format from its bytes and name); the rest
  // as JSON.
  const raw = body instanceof Blob;
  if (body !== undefined)
    headers['content-type'] = raw ? 'application/octet-stream' : 'application/json';
  const csrf = method === 'GET' ? null : storage()?.getItem(CSRF_KEY);
  if (csrf) headers['x-csrf-token'] = csrf;
  try {
    return await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(
      0,
      'network_error',
      'The server could not be reached; check your connection and try again.',
    );
  }
}

async function read<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const error = (data as Partial<ErrorBody> | null)?.error;
    throw new ApiError(
      res.status,
      error?.code ?? 'http_error',
      error?.message ?? `The server answered ${res.status}`,
      error?.details ?? null,
    );
  }
  const csrf = (data as { csrf_token?: unknown } | null)?.csrf_token;
  if (typeof csrf === 'string') storage()?.setItem(CSRF_KEY, csrf);
  return data as T;
}

/**
 * One renewal at a time in this tab: concurrent renewals would each present the refresh cookie
 * and get a token of their own. (Other tabs may renew at the same moment: the server lets a
 * token rotated in the last 10 seconds be presented again; later, it treats it as theft.)
 */
let renewal: Promise<boolean> | null = null;
function renewSession(): Promise<boolean> {
  renewal ??= send('POST', '/v1/auth/refresh', undefined)
    .then((res) => read<Tokens>(res).then(() => true))
    .catch(() => false)
    .finally(() => {
      renewal = null;
    });
  return renewal;
}

/**
 * Calls the API and returns its JSON body (undefined for 204); throws ApiError otherwise. A
 * request refused with 401 renews the session once from the refresh cookie (the access cookie
 * lives 15 minutes) and is sent again: refused before it ran, a write is not repeated. Writes
 * to the account routes (sign-in, the refresh itself) answer 401 for their own reasons: not those.
 */
export async function api<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  let res = await send(method, path, body);
  const renewable = method === 'GET' || !path.startsWith('/v1/auth/');
  if (res.status === 401 && renewable && (await renewSession()))
    res = await send(method, path, body);
  try {
    return await read<T>(res);
  } catch (error) {
    if (renewable && error instanceof ApiError && error.status === 401)
      throw new SessionEndedError(error.message, error.details);
    throw error;
  }
}

/** Whether a failure may pass by itself (no connection, rate limited, a server error). */
export const isPassing = (error: unknown): boolean =>
  error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);

/** The signed-in user, or null when nobody is (or the session cannot be renewed). */
export async function currentUser(): Promise<Me | null> {
  try {
    return await api<Me>('GET', '/v1/auth/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function signOut(): Promise<void> {
  await api<void>('POST', '/v1/auth/sign-out');
  forgetCsrfToken();
}

export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
