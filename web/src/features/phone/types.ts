/** The browser phone's state as the panel renders it, and what the controller needs from the server and JsSIP. */
import type { NumberPreview, PhoneSession } from '../../shared/api/types';

/** `reconnecting`: the phone socket closed during a call; the call goes on while the phone reconnects. */
export type RegState = 'off' | 'connecting' | 'reconnecting' | 'confirming' | 'registered' | 'failed' | 'elsewhere';
export type CallState = 'checking' | 'dialing' | 'ringing' | 'incoming' | 'answered' | 'ended';
export type Direction = 'inbound' | 'outbound';

export interface CallInfo {
  direction: Direction;
  number: string;
  name?: string;
  state: CallState;
  /** The server's call id (from `call` events or the `X-CB-Call` header). */
  callId?: string;
  clientRef?: string;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  muted: boolean;
  held: boolean;
  /** Why the call ended or was refused, in words. */
  reason?: string;
  /** The tenant's number an inbound call came in on (from the server's `call` events). */
  did?: string;
  /** The agent paused the call's recording. */
  recordingPaused?: boolean;
  /** Attended transfer: whom the agent consults while the other party waits, and whether they answered. */
  consult?: { target: string; connected: boolean };
  /** How the last consultation ended, in words (the server's reason). */
  consultNote?: string;
  /** The agent parked the call in this slot (their leg then ends). */
  parkedSlot?: number;
}

export interface RecentCall {
  number: string;
  direction: Direction;
  at: number;
  answered: boolean;
}

export interface PhoneSnapshot {
  reg: RegState;
  regError?: string;
  /** Why registration failed, when the panel has its own words for it. */
  regCode?: 'too_many_sockets';
  extension?: string;
  /** The tenant lets agents pause their call's recording. */
  pauseAllowed?: boolean;
  call: CallInfo | null;
  recent: RecentCall[];
  /** A test call to the platform echo (preflight) is running: no calls meanwhile. */
  testing?: boolean;
}

/** What the phone needs of a dial-rules preview. */
export type NumberCheck = Pick<NumberPreview, 'refused' | 'refused_code'>;

/** What the controller needs from the server. */
export interface PhoneApi {
  phoneSession(): Promise<PhoneSession>;
  phoneStatus(): Promise<{ registered: boolean }>;
  previewNumber(number: string): Promise<NumberCheck>;
  transfer(callId: string, target: string): Promise<void>;
  consult(callId: string, target: string): Promise<void>;
  endConsult(callId: string, complete: boolean): Promise<void>;
  park(callId: string): Promise<void>;
  pauseRecording(callId: string, paused: boolean): Promise<void>;
}

/** The parts of a JsSIP RTCSession the controller uses. */
export interface SessionLike {
  on(ev: string, fn: (e: any) => void): void;
  answer(opts?: any): void;
  terminate(opts?: any): void;
  hold(): boolean;
  unhold(): boolean;
  mute(o?: any): void;
  unmute(o?: any): void;
  sendDTMF(tones: string, opts?: any): void;
  /** A re-INVITE with the current media (false when one cannot be sent now). */
  renegotiate(opts?: any, done?: () => void): boolean;
  readonly connection?: RTCPeerConnection | null;
}

/** The parts of a JsSIP UA the controller uses. */
export interface UALike {
  on(ev: string, fn: (e: any) => void): void;
  start(): void;
  stop(): void;
  call(target: string, opts: any): SessionLike;
  /** The signalling socket is open (JsSIP's `isConnected`). */
  isConnected?(): boolean;
}

export interface UAConfig {
  wsUrl: string;
  uri: string;
  authorization_user: string;
  password: string;
  display_name: string;
}

export interface Deps {
  api: PhoneApi;
  createUA(cfg: UAConfig): UALike;
  /** Where remote audio plays; set when a call has media. */
  onRemoteStream?(stream: MediaStream | null): void;
  /** Ring tone on/off for incoming calls. */
  ring?(on: boolean): void;
  storage?: Pick<Storage, 'getItem' | 'setItem'>;
  now?(): number;
  sleep?(ms: number): Promise<void>;
  /** Same-origin WebSocket URL for a path. */
  wsUrl?(path: string): string;
  uuid?(): string;
  /** Microphone constraint (device id), read at call time. */
  micConstraint?(): MediaTrackConstraints | boolean;
  userId?: number;
}

/** A running test call to the platform echo (preflight): not a call of the panel. */
export interface TestCall {
  pc: RTCPeerConnection;
  /** Settles when the test call has ended (either side). */
  ended: Promise<void>;
  hangup(): void;
}
