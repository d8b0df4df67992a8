/**
 * Client-side checks that mirror the server's input rules (server/core/src/inputs.rs), so people
 * learn what to fix before submitting and in their own language. The server stays the authority:
 * anything it still refuses is shown from its answer.
 */
import type { MessageKey } from '../i18n';

/** `null` when the value is acceptable, otherwise the message key saying what to fix. */
export type Check = MessageKey | null;

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;
const PASSWORD_MIN_DISTINCT = 5;

/** The server's list of common passwords that would otherwise pass the length rule. */
const COMMON_PASSWORDS = new Set([
  '1234567890', '12345678910', '0123456789', '1q2w3e4r5t', 'qwertyuiop', '1qaz2wsx3edc',
  'password123', 'password12', 'password1!', 'qwerty1234', 'qwerty12345', 'iloveyou12',
  'administrator', 'admin12345', 'welcome123', 'letmein123', 'passw0rd123', 'p@ssw0rd123',
  'abcdefghij', 'aaaaaaaaaa', '1111111111', 'zaq12wsxcde', 'changeme123', 'monkey12345',
  'dragon12345', 'football123', 'baseball123', 'superman123', 'trustno1234', 'qwerty123456',
  'йцукенгшщз', 'пароль12345',
]);

export function checkAccount(raw: string): Check {
  const s = raw.trim().toLowerCase();
  if (!s) return 'valid.required';
  if (s.length < 3 || s.length > 32) return 'valid.account';
  if (!/^[a-z][a-z0-9-]*$/.test(s) || s.endsWith('-') || s.includes('--')) return 'valid.account';
  return null;
}

export function checkLogin(raw: string): Check {
  const s = raw.trim();
  if (!s) return 'valid.required';
  if (s.length > 64 || !/^[A-Za-z0-9._@-]+$/.test(s)) return 'valid.login';
  return null;
}

export function checkEmail(raw: string): Check {
  const s = raw.trim();
  if (!s) return 'valid.required';
  if (s.length > 254 || /[\s\p{Cc}]/u.test(s)) return 'valid.email';
  const at = s.indexOf('@');
  if (at <= 0) return 'valid.email';
  const domain = s.slice(at + 1);
  if (domain.includes('@') || !domain.includes('.') || domain.startsWith('.') || domain.endsWith('.')) {
    return 'valid.email';
  }
  return null;
}

export function checkName(raw: string): Check {
  const s = raw.trim();
  if (!s) return 'valid.required';
  if ([...s].length > 200 || /\p{Cc}/u.test(s)) return 'valid.name';
  return null;
}

/** The password policy; `identities` are the login and the account name (each ≥3 characters counts). */
export function checkPassword(raw: string, identities: readonly string[] = []): Check {
  if (!raw) return 'valid.required';
  const chars = [...raw];
  if (chars.length < PASSWORD_MIN) return 'valid.passwordShort';
  if (chars.length > PASSWORD_MAX) return 'valid.passwordLong';
  if (new Set(chars).size < PASSWORD_MIN_DISTINCT) return 'valid.passwordSimple';
  const lower = raw.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'valid.passwordCommon';
  for (const id of identities) {
    const i = id.trim().toLowerCase();
    if ([...i].length >= 3 && lower.includes(i)) return 'valid.passwordIdentity';
  }
  return null;
}

export function checkGroupName(raw: string): Check {
  const s = raw.trim();
  if (!s) return 'valid.required';
  if ([...s].length > 100) return 'valid.groupName';
  return null;
}

/** Runs every check; returns only the fields that failed. */
export function validate<F extends string>(checks: Record<F, Check>): Partial<Record<F, MessageKey>> {
  const out: Partial<Record<F, MessageKey>> = {};
  for (const field of Object.keys(checks) as F[]) {
    const c = checks[field];
    if (c) out[field] = c;
  }
  return out;
}

export function hasErrors(errors: Partial<Record<string, MessageKey>>): boolean {
  return Object.keys(errors).length > 0;
}
