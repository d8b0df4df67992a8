/**
 * The messages of the `/events` WebSocket (docs/api.md, "`/events` WebSocket"): one union,
 * discriminated by `type`. Written by hand: the server's OpenAPI document describes HTTP only, not
 * the socket's messages. {@link parseEvent} checks what a handler relies on before it sees one.
 */
import type { CallDirection, SecurityAlert, TrunkState } from '../api/types';

export type CallEventState =
  | 'dialing'
  | 'ringing'
  | 'answered'
  | 'held'
  | 'unheld'
  | 'transferring'
  | 'missed'
  | 'forwarded'
  | 'refused'
  | 'ended'
  | 'failed';

/** A call of this user changed state (agents; `user_ids` names the users it is meant for). */
export interface CallEvent {
  type: 'call';
  call_id: string;
  state: CallEventState;
  direction: CallDirection;
  /** Masked for members of the masked groups. */
  number?: string | null;
  did?: string | null;
  trunk?: number | null;
  user_id?: number | null;
  /** The phone's `X-CB-Ref` of a call it placed. */
  client_ref?: string | null;
  reason?: string | null;
  at?: string;
  user_ids?: number[] | null;
}

/** A trunk's registration state changed (administrators). */
export interface TrunkStatusEvent {
  type: 'trunk_status';
  tenant_id?: number;
  trunk?: number;
  registration: string;
  state: TrunkState;
  reason: string;
  since: number;
}

/** The fraud guard raised an alert (administrators). */
export interface SecurityAlertEvent {
  type: 'security_alert';
  alert: SecurityAlert;
}

/** Asterisk gained or lost the contact of this user's browser phone. */
export interface PhoneStatusEvent {
  type: 'phone_status';
  registered: boolean;
}

export type Event = CallEvent | TrunkStatusEvent | SecurityAlertEvent | PhoneStatusEvent;
export type EventType = Event['type'];
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const CHECKS: { [T in EventType]: (m: Record<string, unknown>) => boolean } = {
  call: (m) => typeof m.call_id === 'string' && typeof m.state === 'string',
  trunk_status: (m) => typeof m.registration === 'string' && typeof m.state === 'string',
  security_alert: (m) => isObject(m.alert) && typeof m.alert.id === 'number',
  phone_status: (m) => typeof m.registered === 'boolean',
};

/** A socket message as an {@link Event}, or null when it is not JSON, of an unknown type or lacks a field handlers read. */
export function parseEvent(data: string): Event | null {
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(msg) || typeof msg.type !== 'string' || !Object.hasOwn(CHECKS, msg.type)) return null;
  return CHECKS[msg.type as EventType](msg) ? (msg as unknown as Event) : null;
}
