/**
 * One phone across the tabs of a browser: the protocol. One tab (the owner, elected with a Web
 * Lock in `tabPhone.ts`) runs the phone; it publishes the phone's snapshot on a BroadcastChannel,
 * and the other tabs of the same tenant and user (followers) render it and send commands back.
 *
 * Pure: message types (versioned, scoped to tenant + user), their validation, the follower's
 * reducer and the owner's command handler. No DOM, no timers.
 */
import type { PhoneSnapshot } from './types';

/** Bumped on any incompatible change: tabs of an older build ignore a newer one's messages. */
export const PROTOCOL_VERSION = 1;

export interface Scope {
  tenant: number | string;
  user: number;
}

/** The lock's and the channel's name: two users in one browser profile never share a phone. */
export function scopeName(s: Scope): string {
  return `callbase-phone-${s.tenant}-${s.user}`;
}

/** What a follower asks the owner to do. Mute and hold say the wanted state (idempotent). */
export type Command =
  | { op: 'answer' }
  | { op: 'decline' }
  | { op: 'hangup' }
  | { op: 'dismiss' }
  | { op: 'mute'; on: boolean }
  | { op: 'hold'; on: boolean }
  | { op: 'dtmf'; digit: string }
  | { op: 'dial'; target: string; label?: string }
  | { op: 'transfer'; target: string }
  | { op: 'consult'; target: string }
  | { op: 'endConsult'; complete: boolean }
  | { op: 'park' }
  | { op: 'recPause' }
  | { op: 'retry' };

export type Body =
  /** A follower (new, or opened mid-call) asks for the current state. */
  | { kind: 'hello' }
  /** The owner's phone; `since` is when it took the phone (a newer owner wins). */
  | { kind: 'state'; snap: PhoneSnapshot; since: number }
  | { kind: 'cmd'; id: string; cmd: Command }
  /** The owner's answer to a command of tab `to`: an error in words, or null. */
  | { kind: 'result'; id: string; to: string; error: string | null }
  /** The owner tab goes away (closing): its phone with it. */
  | { kind: 'bye' };

export type Message = Body & { v: number; scope: string; from: string };

export function envelope(scope: string, from: string, body: Body): Message {
  return { v: PROTOCOL_VERSION, scope, from, ...body };
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isStr = (x: unknown): x is string => typeof x === 'string';
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';

function validCommand(c: unknown): c is Command {
  if (!isObj(c) || !isStr(c.op)) return false;
  switch (c.op) {
    case 'answer':
    case 'decline':
    case 'hangup':
    case 'dismiss':
    case 'park':
    case 'recPause':
    case 'retry':
      return true;
    case 'mute':
    case 'hold':
      return isBool(c.on);
    case 'dtmf':
      return isStr(c.digit) && /^[0-9*#A-D]$/.test(c.digit);
    case 'dial':
      return isStr(c.target) && (c.label === undefined || isStr(c.label));
    case 'transfer':
    case 'consult':
      return isStr(c.target);
    case 'endConsult':
      return isBool(c.complete);
    default:
      return false;
  }
}

function validSnapshot(s: unknown): s is PhoneSnapshot {
  return isObj(s) && isStr(s.reg) && (s.call === null || isObj(s.call)) && Array.isArray(s.recent);
}

/** The message if it is ours (this version, this scope, well formed), else null. */
export function parse(data: unknown, scope: string): Message | null {
  if (!isObj(data) || data.v !== PROTOCOL_VERSION || data.scope !== scope || !isStr(data.from)) return null;
  switch (data.kind) {
    case 'hello':
    case 'bye':
      return data as Message;
    case 'state':
      return validSnapshot(data.snap) && typeof data.since === 'number' ? (data as Message) : null;
    case 'cmd':
      return isStr(data.id) && validCommand(data.cmd) ? (data as Message) : null;
    case 'result':
      return isStr(data.id) && isStr(data.to) && (data.error === null || isStr(data.error)) ? (data as Message) : null;
    default:
      return null;
  }
}

/** What a follower shows: the owner's phone as last published. */
export interface Mirror {
  /** The owner tab's id; null before it answered (or after it left). */
  owner: string | null;
  since: number;
  snap: PhoneSnapshot;
}

/** Before the owner answers: "runs in another tab" (an owner of an older build never will). */
export function initialMirror(): Mirror {
  return { owner: null, since: 0, snap: { reg: 'elsewhere', call: null, recent: [] } };
}

/** The follower's reducer. */
export function mirror(m: Mirror, msg: Message): Mirror {
  if (msg.kind === 'state') {
    // A late message of an owner that has since lost the phone to a newer one is dropped.
    if (msg.from !== m.owner && msg.since < m.since) return m;
    return { owner: msg.from, since: msg.since, snap: msg.snap };
  }
  if (msg.kind === 'bye' && msg.from === m.owner) {
    // The call (if any) lived in that tab: gone. Another tab takes the phone within moments.
    return { owner: null, since: m.since, snap: { ...m.snap, reg: 'connecting', regError: undefined, call: null } };
  }
  return m;
}

/** The phone as the owner drives it (PhoneController). */
export interface OwnerPhone {
  readonly snapshot: PhoneSnapshot;
  start(): Promise<void>;
  answer(): void;
  decline(): void;
  hangup(): void;
  dismiss(): void;
  toggleMute(): void;
  toggleHold(): void;
  dtmf(digit: string): void;
  dial(target: string, label?: string): Promise<void>;
  transfer(target: string): Promise<string | null>;
  consult(target: string): Promise<string | null>;
  endConsult(complete: boolean): Promise<string | null>;
  park(): Promise<string | null>;
  toggleRecordingPause(): Promise<string | null>;
}

/** The owner's command handler: runs a follower's command on the phone; an error in words, or null. */
export async function execute(phone: OwnerPhone, cmd: Command): Promise<string | null> {
  switch (cmd.op) {
    case 'answer':
      phone.answer();
      return null;
    case 'decline':
      phone.decline();
      return null;
    case 'hangup':
      phone.hangup();
      return null;
    case 'dismiss':
      phone.dismiss();
      return null;
    case 'mute':
      if (!!phone.snapshot.call?.muted !== cmd.on) phone.toggleMute();
      return null;
    case 'hold':
      if (!!phone.snapshot.call?.held !== cmd.on) phone.toggleHold();
      return null;
    case 'dtmf':
      phone.dtmf(cmd.digit);
      return null;
    case 'dial':
      await phone.dial(cmd.target, cmd.label);
      return null;
    case 'transfer':
      return phone.transfer(cmd.target);
    case 'consult':
      return phone.consult(cmd.target);
    case 'endConsult':
      return phone.endConsult(cmd.complete);
    case 'park':
      return phone.park();
    case 'recPause':
      return phone.toggleRecordingPause();
    case 'retry':
      if (phone.snapshot.reg === 'failed') await phone.start();
      return null;
  }
}
