/**
 * Turns any failure into one sentence in the user's language: what happened and what to do.
 *
 * Pages keep a {@link Msg} (key + parameters) in their state, not the finished text, so a message
 * already on screen follows a language switch.
 */
import { isApiError } from './client';
import { t, type MessageKey, type Params } from '../i18n';

/** A message to show later, in whatever language is current then. */
export interface Msg {
  key: MessageKey;
  params?: Params;
}

export function msg(key: MessageKey, params?: Params): Msg {
  return { key, params };
}

export function say(m: Msg): string {
  return t(m.key, m.params);
}

const KNOWN: ReadonlySet<string> = new Set([
  'bad_credentials', 'throttled', 'account_taken', 'login_taken', 'last_admin', 'group_name_taken',
  'builtin_group', 'weak_password', 'invalid_account', 'invalid_login', 'invalid_email',
  'invalid_name', 'unauthenticated', 'forbidden', 'not_found', 'csrf', 'bad_origin', 'internal',
  'network', 'bad_response', 'invalid_group_name', 'unknown_group', 'too_many_trunks',
  'asterisk_unavailable', 'telephony_off', 'extension_taken', 'already_telephony_user', 'sip_login_taken', 'invalid_extension', 'confirmation_mismatch', 'not_telephony_user', 'browser_calls_off', 'invalid_greeting', 'storage_unavailable',
  'invalid_time_zone', 'invalid_hours', 'overlapping_hours', 'too_many_ranges', 'invalid_holiday', 'duplicate_holiday', 'too_many_holidays', 'invalid_closed_forward', 'invalid_voicemail', 'invalid_prompt_language', 'invalid_block_action',
  'invalid_strategy', 'invalid_ring_secs', 'invalid_max_wait', 'invalid_max_callers', 'invalid_service_level', 'invalid_overflow',
  'invalid_overflow_number', 'no_members', 'too_many_members', 'unknown_member', 'too_many_queues', 'duplicate_name', 'invalid_first_step',
  'invalid_timeout', 'invalid_retries', 'too_many_options', 'invalid_digit', 'duplicate_digit', 'invalid_destination', 'menu_loop',
  'too_many_menus', 'empty_greeting', 'invalid_period', 'invalid_group', 'not_supervisor',
  'unknown_scope', 'invalid_network', 'invalid_expiry', 'invalid_rate', 'admins_only', 'invalid_url', 'insecure_url',
  'private_address', 'unknown_event', 'unknown_placeholder', 'too_many_webhooks',
]);

/** What to tell the user about `e`. Unknown 4xx codes show the server's own (English) message. */
export function explain(e: unknown): Msg {
  if (!isApiError(e)) return msg('error.internal');
  if (e.code === 'throttled' && e.retryAfter !== undefined) return msg('login.retryIn', { count: e.retryAfter });
  if (KNOWN.has(e.code)) return msg(`error.${e.code}` as MessageKey, { detail: e.message, status: e.status });
  if (e.status >= 500) return msg('error.internal');
  return msg('error.other', { detail: e.message });
}

export function describeError(e: unknown): string {
  return say(explain(e));
}
