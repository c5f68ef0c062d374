import { hash, verify } from '@node-rs/argon2';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import { validationFailed } from '../../errors.js';

/**
 * OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane). `algorithm: 2` is the package's
 * const enum Algorithm.Argon2id, which isolated modules cannot reference.
 */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;
/** zxcvbn score 0–4; 3 means "safely unguessable: moderate protection from offline attacks". */
const MIN_SCORE = 3;

const strength = new ZxcvbnFactory({
  dictionary: { ...common.dictionary },
  graphs: common.adjacencyGraphs,
});

export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

/** Constant-time by construction (argon2 compares digests in constant time). */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A hash of a random password: verifying against it costs as much as a real check. */
let dummyHash: Promise<string> | null = null;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword('not-a-real-password-0f5b8c');
  return dummyHash;
}

/** Throws validation_failed when the password is too short, too long or too guessable. */
export function assertStrongPassword(password: string, userInputs: readonly string[] = []): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw validationFailed(`password must be at least ${MIN_PASSWORD_LENGTH} characters`, {
      field: 'password',
    });
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw validationFailed(`password must be at most ${MAX_PASSWORD_LENGTH} characters`, {
      field: 'password',
    });
  }
  const result = strength.check(password, [...userInputs]);
  if (result.score < MIN_SCORE) {
    const hint =
      result.feedback.warning ?? result.feedback.suggestions[0] ?? 'add more unrelated words';
    throw validationFailed(`password is too easy to guess: ${hint}`, {
      field: 'password',
      score: result.score,
    });
  }
}
