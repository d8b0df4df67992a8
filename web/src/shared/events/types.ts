/**
 * The messages of the `/events` WebSocket (docs/api.md, "`/events` WebSocket"): one union,
 * discriminated by `type`, generated from the server's `Event` enum (server/core/src/events.rs,
 * listed in the OpenAPI document; `crm_settings` stays between servers). {@link parseEvent} checks
 * what a handler relies on before it sees one.
 */
import type { components } from '../api/schema';

type ServerEvent = Exclude<components['schemas']['Event'], { type: 'crm_settings' }>;

export type CallEventState = components['schemas']['CallState'];

/** A call of this user changed state (agents; `user_ids` names the users it is meant for). `number` and `target` are masked for members of the masked groups. */
export type CallEvent = Extract<ServerEvent, { type: 'call' }>;

/** A trunk's registration state changed (administrators). */
export type TrunkStatusEvent = Extract<ServerEvent, { type: 'trunk_status' }>;

/** The fraud guard raised an alert (administrators). */
export type SecurityAlertEvent = Extract<ServerEvent, { type: 'security_alert' }>;

/** A telephony user's agent state changed (that user and the supervisors). */
export type AgentStateEvent = Extract<ServerEvent, { type: 'agent_state' }>;

/** An agent's phones registered or went away (supervisors: the presence board). */
export type AgentPresenceEvent = Extract<ServerEvent, { type: 'agent_presence' }>;

/** Any call of the tenant changed (supervisors: the presence board); `number` masked by the viewer's rules. */
export type BoardCallEvent = Extract<ServerEvent, { type: 'board_call' }>;

/** A call entered or left a parking slot (everyone of the tenant: the phones list parked calls); `number` masked by the viewer's rules. */
export type ParkingEvent = Extract<ServerEvent, { type: 'parking' }>;

/** Asterisk gained or lost the contact of this user's browser phone. */
export interface PhoneStatusEvent {
  type: 'phone_status';
  registered: boolean;
}

export type Event = CallEvent | TrunkStatusEvent | SecurityAlertEvent | AgentStateEvent | AgentPresenceEvent | BoardCallEvent | ParkingEvent | PhoneStatusEvent;
export type EventType = Event['type'];
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const CHECKS: { [T in EventType]: (m: Record<string, unknown>) => boolean } = {
  call: (m) => typeof m.call_id === 'string' && typeof m.state === 'string',
  trunk_status: (m) => typeof m.registration === 'string' && typeof m.state === 'string',
  security_alert: (m) => isObject(m.alert) && typeof m.alert.id === 'number',
  agent_state: (m) => typeof m.user_id === 'number' && typeof m.state === 'string',
  agent_presence: (m) => typeof m.user_id === 'number' && typeof m.browser === 'boolean' && typeof m.desk === 'boolean',
  board_call: (m) => typeof m.call_id === 'string' && typeof m.state === 'string' && Array.isArray(m.ringing),
  parking: (m) => typeof m.call_id === 'string' && typeof m.slot === 'number' && typeof m.parked === 'boolean',
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
