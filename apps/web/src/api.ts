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

/**
 * The request field an API error names: `details.field` (the domain's refusals) or the first
 * `details.problems[].field` (schema validation), e.g. "credentials.access_token".
 */
export function fieldOfError(error: unknown): string | null {
  return error instanceof ApiError ? refusalOf(error).field : null;
}

/** A request field as people read it (the last part of a dotted path, else its words). */
const FIELD_WORDS: Record<string, string> = {
  email: 'Email',
  password: 'Password',
  new_password: 'New password',
  current_password: 'Current password',
  display_name: 'Name',
  name: 'Name',
  q: 'Search',
  platform: 'Platform',
  token: 'Link',
  code: 'Code',
  recovery_code: 'Recovery code',
  access_token: 'Access token',
  poll_minutes: 'Interval',
  monthly_budget_usd: 'Monthly budget',
};

function fieldWords(field: string): string {
  const last =
    field
      .split('.')
      .filter((part) => !/^\d+$/.test(part))
      .at(-1) ?? field;
  const words = FIELD_WORDS[last] ?? last.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The password checker's findings (zxcvbn's warning and suggestion keys, which the server's
 * message ends with), in words. An unknown key gets the general advice.
 */
const PASSWORD_FINDINGS: Record<string, string> = {
  straightRow: 'it follows a row of the keyboard',
  keyPattern: 'it follows a pattern on the keyboard',
  simpleRepeat: 'it repeats a character',
  extendedRepeat: 'it repeats a group of characters',
  sequences: 'it is a sequence such as abc or 6543',
  recentYears: 'it contains a recent year',
  dates: 'it contains a date',
  topTen: 'it is one of the ten most used passwords',
  topHundred: 'it is one of the hundred most used passwords',
  common: 'it is a commonly used password',
  similarToCommon: 'it is too much like a commonly used password',
  wordByItself: 'a single word is easy to guess',
  namesByThemselves: 'names on their own are easy to guess',
  commonNames: 'it is made of common names',
  userInputs: 'it contains your email address or name',
  pwned: 'it appeared in a data breach',
  l33t: 'swapping letters for look-alike symbols (@ for a) does not make it harder to guess',
  reverseWords: 'words spelled backwards are easy to guess',
  allUppercase: 'capitals throughout do not make it harder to guess',
  capitalization: 'a capital letter here and there does not make it harder to guess',
  associatedYears: 'years linked to you are easy to guess',
  repeated: 'repeated words and characters are easy to guess',
  longerKeyboardPattern: 'keyboard patterns are easy to guess',
  anotherWord: 'it needs more words',
  useWords: 'it needs more unrelated words',
  noNeed: 'it needs more unrelated words',
};

/**
 * A schema validation problem's standard message (zod's) as the end of a sentence about the
 * field; null for a message the schema wrote itself, which is already in words.
 */
function problemWords(message: string): string | null {
  const tooShort = /^Too small: expected string to have >=(\d+) characters?$/.exec(message);
  if (tooShort) return `must be at least ${tooShort[1]} characters`;
  const tooLong = /^Too big: expected string to have <=(\d+) characters?$/.exec(message);
  if (tooLong) return `must be at most ${tooLong[1]} characters`;
  const below = /^Too small: expected number to be >=?(-?[\d.]+)$/.exec(message);
  if (below) return `must be at least ${below[1]}`;
  const above = /^Too big: expected number to be <=?(-?[\d.]+)$/.exec(message);
  if (above) return `must be at most ${above[1]}`;
  if (/received undefined$/.test(message)) return 'is required';
  if (/^Invalid input: expected (number|int)\b/.test(message)) return 'must be a whole number';
  if (message.startsWith('Invalid option')) return 'is not one of the values it may take';
  if (message === 'Invalid email address') return 'is not a valid email address';
  if (message.startsWith('Unrecognized key')) return 'is not something this request takes';
  if (/^Invalid (input|string|format)\b/.test(message)) return 'is not valid';
  return null;
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * A message that starts with the field's request name ("password must be at least 12
 * characters") with the field's words instead; another gets them in front ("Keywords: …").
 */
function aboutField(field: string, message: string): string {
  const last = field.split('.').at(-1) ?? field;
  for (const name of [field, last])
    if (message.startsWith(`${name} `)) return `${fieldWords(field)}${message.slice(name.length)}`;
  return `${fieldWords(field)}: ${message}`;
}

/**
 * A validation refusal in words, and the field it names. The server's messages for schema
 * problems and password strength are written for developers ("body.email: Invalid email
 * address", "password is too easy to guess: similarToCommon"); its details say the same in
 * parts, which are worded here. Other refusals are already written for people and pass as
 * they are.
 */
function refusalOf(error: ApiError): { field: string | null; message: string } {
  const details = (error.details ?? {}) as { field?: unknown; problems?: unknown; score?: unknown };
  if (typeof details.field === 'string') {
    const field = details.field;
    const guess = /too easy to guess: (\w+)$/.exec(error.message);
    if (error.code === 'validation_failed' && (guess || typeof details.score === 'number')) {
      const finding = guess?.[1] ? PASSWORD_FINDINGS[guess[1]] : undefined;
      return {
        field,
        message: `This password is too easy to guess${finding ? `: ${finding}` : ''}. A few unrelated words make a strong one.`,
      };
    }
    // "password must be at least 12 characters"; other refusals that name a field are written
    // for people already ("Cannot connect @acme: …").
    return {
      field,
      message: error.message.startsWith(`${field} `)
        ? aboutField(field, error.message)
        : capitalized(error.message),
    };
  }
  const first: unknown = Array.isArray(details.problems) ? details.problems[0] : undefined;
  if (first && typeof first === 'object') {
    const problem = first as { field?: unknown; message?: unknown; in?: unknown };
    const field = typeof problem.field === 'string' ? problem.field : null;
    const message = typeof problem.message === 'string' ? problem.message : '';
    const words = problemWords(message);
    const subject =
      field === null
        ? 'The request'
        : problem.in === 'querystring'
          ? `The filter “${fieldWords(field)}”`
          : fieldWords(field);
    return {
      field,
      message:
        words !== null
          ? `${subject} ${words}`
          : field === null
            ? capitalized(message)
            : aboutField(field, message),
    };
  }
  return { field: null, message: error.message };
}

/**
 * An error for people: an API refusal in words (validation problems worded from their
 * details), or the message of anything else. Every page shows errors through this.
 */
export const messageOf = (error: unknown): string =>
  error instanceof ApiError
    ? refusalOf(error).message
    : error instanceof Error
      ? error.message
      : String(error);
