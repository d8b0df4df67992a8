/**
 * The browser phone without any UI: registration, calls, hold, mute, DTMF, transfer, incoming
 * calls. It wraps a JsSIP user agent (injected, so tests drive a fake) and keeps one snapshot that
 * the panel renders.
 *
 * "Registered" is shown only when the server confirms that Asterisk holds our contact
 * (`GET /api/phone/status`): JsSIP's own `registered` event only means a 200 OK came back over a
 * socket that may already be stale.
 */
import type { PhoneSession } from '../../shared/api/types';
import { CLOSE_TOO_MANY, type Event } from '../../shared/events';
import { SIP_DOMAIN, cleanNumber, errorText, sameOriginWs, uuid4 } from './sip';
import { keepThroughReconnects, sessionExpires } from './sessionTimers';
import { gatheringPolicy, type CandidateEvent } from './ice';
import type { CallInfo, CallState, Deps, Direction, NumberCheck, PhoneSnapshot, RecentCall, SessionLike, TestCall, UALike } from './types';

export { cleanNumber, sameOriginWs } from './sip';
export type * from './types';

const RECENT_MAX = 10;

/** The platform echo an agent's phone calls for preflight (server/telephony/src/call/echo.rs). */
export const ECHO_TEST = '*43';

/** A CRM client's phone field (`crm<record>x<field>`): the server resolves it to the number. */
const isClientRef = (s: string) => /^crm\d+x\d+$/.test(s);

export class PhoneController {
  private ua: UALike | null = null;
  private session: SessionLike | null = null;
  /** The running test call to the echo (preflight), kept apart from the panel's call. */
  private testSession: SessionLike | null = null;
  private snap: PhoneSnapshot;
  private listeners = new Set<(s: PhoneSnapshot) => void>();
  private retriedAuth = false;
  private stopped = false;
  private confirmGen = 0;
  /** The socket closed during a call: the call is moved to the new socket once registered. */
  private resumeCall = false;
  /** The SIP session interval the calls ask for (the server's `session_expires`), in seconds. */
  private sessionExpires = sessionExpires(undefined);
  /** TURN servers with this session's credentials (`ice_servers` of the phone session): relay candidates beside the direct ones. */
  private iceServers: RTCIceServer[] = [];
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: Deps) {
    this.now = deps.now ?? (() => Date.now());
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.snap = { reg: 'off', call: null, recent: this.loadRecent() };
  }

  get snapshot(): PhoneSnapshot {
    return this.snap;
  }

  subscribe(fn: (s: PhoneSnapshot) => void): () => void {
    this.listeners.add(fn);
    fn(this.snap);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<PhoneSnapshot>) {
    this.snap = { ...this.snap, ...patch };
    for (const l of this.listeners) l(this.snap);
  }

  private setCall(patch: Partial<CallInfo> | null) {
    if (patch === null) {
      this.set({ call: null });
      return;
    }
    if (!this.snap.call) return;
    this.set({ call: { ...this.snap.call, ...patch } });
  }

  /** Gets a fresh session (rotated password) and registers. */
  async start(): Promise<void> {
    this.stopped = false;
    this.set({ reg: 'connecting', regError: undefined, regCode: undefined });
    let s: PhoneSession;
    try {
      s = await this.deps.api.phoneSession();
    } catch (e) {
      this.set({ reg: 'failed', regError: errorText(e) });
      return;
    }
    if (this.stopped) return;
    this.set({ extension: s.extension, pauseAllowed: s.recording_pause_allowed });
    this.sessionExpires = sessionExpires(s.session_expires);
    this.iceServers = (s.ice_servers ?? []) as RTCIceServer[];
    const ua = this.deps.createUA({
      wsUrl: (this.deps.wsUrl ?? sameOriginWs)(s.ws_path),
      uri: s.uri,
      authorization_user: s.authorization_user,
      password: s.password,
      display_name: s.display_name,
    });
    this.ua = ua;
    ua.on('connecting', () => !['registered', 'reconnecting'].includes(this.snap.reg) && this.set({ reg: 'connecting' }));
    ua.on('disconnected', (e: any) => {
      if (this.stopped || this.ua !== ua) return;
      if (e?.code === CLOSE_TOO_MANY) {
        // Over the cap of phone sockets: reconnecting would only be refused again. The user frees
        // one (another tab or device) and starts again.
        this.stopUA();
        this.set({ reg: 'failed', regCode: 'too_many_sockets', regError: e.reason || 'too many phone connections' });
        return;
      }
      if (this.session) {
        // The media goes straight to Asterisk and does not care: JsSIP keeps the call and
        // reconnects (behind a load balancer, through another server replica). Once registered
        // again, a re-INVITE over the new socket makes Asterisk send this call's requests (the
        // other side's BYE, hold) there (docs/phone.md, "Reconnecting during a call").
        this.resumeCall = true;
        this.set({ reg: 'reconnecting', regError: undefined });
        return;
      }
      this.set({ reg: 'connecting', regError: 'connection to the phone service lost; reconnecting' });
    });
    ua.on('registered', () => {
      if (this.resumeCall) void this.resume();
      void this.confirm();
    });
    ua.on('unregistered', () => !this.stopped && this.snap.reg !== 'reconnecting' && this.set({ reg: 'connecting' }));
    ua.on('registrationFailed', (e: any) => void this.onRegFailed(e));
    ua.on('newRTCSession', (e: any) => this.onNewSession(e));
    ua.start();
  }

  /** Polls the server until Asterisk holds the contact (bounded), then shows "registered". */
  private async confirm(): Promise<void> {
    const gen = ++this.confirmGen;
    // A refresh of a registration the server already confirmed keeps the phone usable meanwhile.
    if (this.snap.reg !== 'registered') this.set({ reg: 'confirming', regError: undefined });
    for (let i = 0; i < 20 && !this.stopped && gen === this.confirmGen; i++) {
      try {
        const st = await this.deps.api.phoneStatus();
        if (gen !== this.confirmGen || this.stopped) return;
        if (st.registered) {
          this.set({ reg: 'registered' });
          return;
        }
      } catch {
        /* keep trying within the bound */
      }
      await this.sleep(500);
    }
    if (gen === this.confirmGen && !this.stopped) {
      this.set({ reg: 'failed', regError: 'the phone service does not confirm the registration' });
    }
  }

  /** Moves the live call to the new socket: a re-INVITE (tried a few times while another is pending). */
  private async resume(): Promise<void> {
    this.resumeCall = false;
    for (let i = 0; i < 10 && this.session && !this.stopped; i++) {
      if (this.session.renegotiate()) return;
      await this.sleep(300);
    }
  }

  private async onRegFailed(e: any): Promise<void> {
    const code: number | undefined = e?.response?.status_code;
    if ((code === 401 || code === 403) && !this.retriedAuth) {
      // The password was rotated elsewhere (another start): get a fresh one, once.
      this.retriedAuth = true;
      this.stopUA();
      await this.start();
      return;
    }
    this.set({ reg: 'failed', regError: e?.cause ? String(e.cause) : 'registration failed' });
  }

  /** An event from `/events` concerning calls or the phone. */
  onServerEvent(msg: Event): void {
    if (msg.type === 'phone_status') {
      if (msg.registered && this.snap.reg === 'confirming') this.set({ reg: 'registered' });
      if (!msg.registered && this.snap.reg === 'registered') this.set({ reg: 'connecting' });
      return;
    }
    if (msg.type !== 'call') return;
    const c = this.snap.call;
    if (!c) return;
    const matches = (c.clientRef && msg.client_ref === c.clientRef) || (c.callId && msg.call_id === c.callId);
    if (!matches) return;
    const patch: Partial<CallInfo> = {};
    patch.callId = msg.call_id;
    if (msg.state === 'refused' && typeof msg.reason === 'string') patch.reason = msg.reason;
    if (msg.state === 'ringing' && c.state === 'dialing') patch.state = 'ringing';
    if (typeof msg.number === 'string' && c.direction === 'outbound') patch.number = msg.number;
    if (typeof msg.did === 'string' && msg.did && c.direction === 'inbound') patch.did = msg.did;
    // Attended transfer: the server says where the consultation is.
    const target = typeof msg.target === 'string' ? msg.target : c.consult?.target ?? '';
    if (msg.state === 'consulting') patch.consult = { target, connected: false };
    if (msg.state === 'consulted') patch.consult = { target, connected: true };
    if (msg.state === 'consulting' || msg.state === 'consulted') patch.consultNote = undefined;
    if (msg.state === 'parked' && typeof msg.target === 'string') patch.parkedSlot = Number(msg.target);
    if (msg.state === 'consult_ended') {
      patch.consult = undefined;
      patch.consultNote = typeof msg.reason === 'string' ? msg.reason : undefined;
    }
    this.setCall(patch);
  }

  /**
   * Places a call after the server's dial rules accept the number. A CRM reference
   * (`crm<record>x<field>`, for users who see numbers masked) is dialled as it is, shown as
   * `label`: the server resolves it and applies the dial rules.
   */
  async dial(raw: string, label?: string): Promise<void> {
    // A reference the server resolves: a CRM phone field or a speed dial entry (numbers the user may see masked).
    // `*8<slot>` picks a parked call up: no number to preview.
    const isRef = /^crm\d+x\d+$/.test(raw) || /^sd\d+$/.test(raw) || /^\*8\d{1,2}$/.test(raw);
    const number = isRef ? raw : cleanNumber(raw);
    const shown = isRef ? label ?? '' : number;
    // The summary of a finished call gives way to the next call (a click-to-call from the CRM
    // while it still shows did nothing before).
    if (!number || (this.snap.call && this.snap.call.state !== 'ended') || this.testSession) return;
    if (!this.ua || this.snap.reg !== 'registered') {
      this.set({ call: this.newCall('outbound', shown, 'ended', 'the phone is not registered') });
      return;
    }
    this.set({ call: this.newCall('outbound', shown, 'checking') });
    if (!isRef) {
      let check: NumberCheck;
      try {
        check = await this.deps.api.previewNumber(number);
      } catch (e) {
        this.setCall({ state: 'ended', reason: errorText(e), endedAt: this.now() });
        return;
      }
      if (check.refused) {
        this.setCall({ state: 'ended', reason: check.refused, endedAt: this.now() });
        return;
      }
    }
    const clientRef = (this.deps.uuid ?? uuid4)();
    this.setCall({ state: 'dialing', clientRef });
    const session = this.ua.call(`sip:${number}@${SIP_DOMAIN}`, {
      mediaConstraints: { audio: this.deps.micConstraint?.() ?? true, video: false },
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
      pcConfig: { iceServers: this.iceServers },
      extraHeaders: [`X-CB-Ref: ${clientRef}`],
      sessionTimersExpires: this.sessionExpires,
      eventHandlers: {
        peerconnection: (e: any) => this.watchMedia(e.peerconnection),
      },
    });
    this.attach(session);
  }

  private newCall(direction: Direction, number: string, state: CallState, reason?: string): CallInfo {
    return { direction, number, state, startedAt: this.now(), muted: false, held: false, reason };
  }

  private onNewSession(e: any) {
    if (e.originator !== 'remote') return;
    const session: SessionLike = e.session;
    if (this.session || this.testSession || this.snap.reg !== 'registered') {
      // One call at a time (a running test call counts): busy.
      session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    const req = e.request;
    const number: string = req?.from?.uri?.user ?? 'unknown';
    const name: string | undefined = req?.from?.display_name || undefined;
    const callId: string | undefined = req?.getHeader?.('X-CB-Call') || undefined;
    const did: string | undefined = req?.getHeader?.('X-CB-Did') || undefined;
    this.set({ call: { ...this.newCall('inbound', number, 'incoming'), name, callId, did } });
    this.attach(session);
    session.on('peerconnection', (ev: any) => this.watchMedia(ev.peerconnection));
    this.deps.ring?.(true);
  }

  private watchMedia(pc: RTCPeerConnection) {
    pc.addEventListener('track', (ev: RTCTrackEvent) => {
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      this.deps.onRemoteStream?.(stream);
    });
  }

  private attach(session: SessionLike) {
    this.session = session;
    // Session-timer refreshes never end a call the reconnect keeps (sessionTimers.ts).
    const ua = this.ua;
    keepThroughReconnects(session, () => ua?.isConnected?.() ?? true);
    // The SDP leaves without waiting for a blocked TURN path to time out (ice.ts); every offer
    // and answer (re-INVITEs too) gathers anew.
    let onCandidate = gatheringPolicy();
    session.on('sdp', (e: { originator?: string }) => {
      if (e.originator === 'local') onCandidate = gatheringPolicy();
    });
    session.on('icecandidate', (e: CandidateEvent) => onCandidate(e));
    session.on('progress', () => {
      if (this.snap.call?.state === 'dialing') this.setCall({ state: 'ringing' });
    });
    session.on('accepted', () => {
      this.deps.ring?.(false);
      this.setCall({ state: 'answered', answeredAt: this.now() });
    });
    session.on('hold', (e: any) => e?.originator === 'local' && this.setCall({ held: true }));
    session.on('unhold', (e: any) => e?.originator === 'local' && this.setCall({ held: false }));
    session.on('muted', () => this.setCall({ muted: true }));
    session.on('unmuted', () => this.setCall({ muted: false }));
    const finish = (e: any) => {
      this.deps.ring?.(false);
      this.deps.onRemoteStream?.(null);
      const c = this.snap.call;
      if (c) {
        const reason = c.reason ?? (e?.cause && e.cause !== 'Terminated' && e.cause !== 'Bye' ? String(e.cause) : undefined);
        this.setCall({ state: 'ended', endedAt: this.now(), reason, held: false });
        this.remember({ number: c.number, direction: c.direction, at: c.startedAt, answered: !!c.answeredAt });
      }
      this.session = null;
      this.resumeCall = false;
      if (this.snap.reg === 'reconnecting') this.set({ reg: 'connecting' });
    };
    session.on('ended', finish);
    session.on('failed', finish);
  }

  /**
   * Calls the platform echo for a preflight test: a call the panel does not show (no call card,
   * nothing in "recent"; the server keeps no record of it). Resolves once answered with the peer
   * connection to measure; rejects with the reason in words.
   */
  startTest(): Promise<TestCall> {
    if (!this.ua || this.snap.reg !== 'registered') return Promise.reject(new Error('the phone is not registered'));
    if (this.session || this.testSession || (this.snap.call && this.snap.call.state !== 'ended')) {
      return Promise.reject(new Error('finish the call first'));
    }
    const ua = this.ua;
    this.set({ testing: true });
    return new Promise<TestCall>((resolve, reject) => {
      let answered = false;
      let done: () => void = () => undefined;
      const ended = new Promise<void>((r) => (done = r));
      let session: SessionLike;
      const finish = (e: any) => {
        if (this.testSession === session) this.testSession = null;
        this.deps.onRemoteStream?.(null);
        this.set({ testing: false });
        done();
        if (!answered) reject(new Error(e?.cause ? String(e.cause) : 'the test call failed'));
      };
      try {
        session = ua.call(`sip:${ECHO_TEST}@${SIP_DOMAIN}`, {
          mediaConstraints: { audio: this.deps.micConstraint?.() ?? true, video: false },
          rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
          // The path a real call takes, TURN included (ice.ts).
          pcConfig: { iceServers: this.iceServers },
          sessionTimersExpires: this.sessionExpires,
          eventHandlers: { peerconnection: (e: any) => this.watchMedia(e.peerconnection) },
        });
      } catch (e) {
        finish({ cause: errorText(e) });
        return;
      }
      this.testSession = session;
      session.on('icecandidate', gatheringPolicy());
      session.on('accepted', () => {
        answered = true;
        const pc = session.connection;
        if (!pc) {
          session.terminate();
          reject(new Error('the test call has no media'));
          return;
        }
        resolve({ pc, ended, hangup: () => this.testSession === session && session.terminate() });
      });
      session.on('ended', finish);
      session.on('failed', finish);
    });
  }

  answer(): void {
    if (this.snap.call?.state !== 'incoming' || !this.session) return;
    this.deps.ring?.(false);
    this.session.answer({
      mediaConstraints: { audio: this.deps.micConstraint?.() ?? true, video: false },
      pcConfig: { iceServers: this.iceServers },
      sessionTimersExpires: this.sessionExpires,
    });
  }

  decline(): void {
    if (this.snap.call?.state !== 'incoming' || !this.session) return;
    this.session.terminate({ status_code: 603, reason_phrase: 'Decline' });
  }

  hangup(): void {
    if (this.session) this.session.terminate();
    else if (this.snap.call?.state === 'ended' || this.snap.call?.state === 'checking') this.setCall(null);
  }

  /** Clears a finished call from the panel. */
  dismiss(): void {
    if (this.snap.call?.state === 'ended') this.setCall(null);
  }

  toggleMute(): void {
    const c = this.snap.call;
    if (!this.session || c?.state !== 'answered') return;
    if (c.muted) this.session.unmute({ audio: true });
    else this.session.mute({ audio: true });
  }

  toggleHold(): void {
    const c = this.snap.call;
    if (!this.session || c?.state !== 'answered') return;
    if (c.held) this.session.unhold();
    else this.session.hold();
  }

  /** RFC 4733 telephone-events (JsSIP calls the mode 'RFC2833'). */
  dtmf(digit: string): void {
    if (!this.session || this.snap.call?.state !== 'answered' || !/^[0-9*#A-D]$/.test(digit)) return;
    this.session.sendDTMF(digit, { transportType: 'RFC2833', duration: 120, interToneGap: 70 });
  }

  async transfer(target: string): Promise<string | null> {
    const c = this.snap.call;
    const to = isClientRef(target) ? target : cleanNumber(target);
    if (!c || c.state !== 'answered' || !to) return 'nothing to transfer';
    if (!c.callId) return 'the call is not known to the server yet; try again in a moment';
    try {
      await this.deps.api.transfer(c.callId, to);
      return null;
    } catch (e) {
      return errorText(e);
    }
  }

  /** Attended transfer: the other party waits on hold while the agent consults `target`; an error in words. */
  async consult(target: string): Promise<string | null> {
    const c = this.snap.call;
    const to = isClientRef(target) ? target : cleanNumber(target);
    if (!c || c.state !== 'answered' || !to || c.consult) return 'nothing to transfer';
    if (c.held) return 'take the call off hold first';
    if (!c.callId) return 'the call is not known to the server yet; try again in a moment';
    try {
      await this.deps.api.consult(c.callId, to);
      return null;
    } catch (e) {
      return errorText(e);
    }
  }

  /** Back to the other party (`complete` false), or completes the transfer; an error in words. */
  async endConsult(complete: boolean): Promise<string | null> {
    const c = this.snap.call;
    if (!c?.consult || !c.callId) return 'no consultation';
    try {
      await this.deps.api.endConsult(c.callId, complete);
      return null;
    } catch (e) {
      return errorText(e);
    }
  }

  /** Parks the call: the other party waits in a slot any agent picks up; an error in words. */
  async park(): Promise<string | null> {
    const c = this.snap.call;
    if (!c || c.state !== 'answered' || c.consult) return 'nothing to park';
    if (!c.callId) return 'the call is not known to the server yet; try again in a moment';
    try {
      await this.deps.api.park(c.callId);
      return null;
    } catch (e) {
      return errorText(e);
    }
  }

  /** Pauses or resumes the call's recording (where the tenant allows it); an error in words. */
  async toggleRecordingPause(): Promise<string | null> {
    const c = this.snap.call;
    if (!c || c.state !== 'answered') return 'no call';
    if (!c.callId) return 'the call is not known to the server yet; try again in a moment';
    const paused = !c.recordingPaused;
    try {
      await this.deps.api.pauseRecording(c.callId, paused);
      const now = this.snap.call;
      if (now && now.callId === c.callId) this.setCall({ recordingPaused: paused });
      return null;
    } catch (e) {
      return errorText(e);
    }
  }

  /** Unregisters and closes the socket (tab closing, moving the phone to another tab). */
  stop(): void {
    this.stopped = true;
    this.confirmGen++;
    this.session?.terminate();
    this.session = null;
    this.testSession?.terminate();
    this.testSession = null;
    this.stopUA();
    this.set({ reg: 'off' });
  }

  private stopUA() {
    try {
      this.ua?.stop();
    } catch {
      /* already stopped */
    }
    this.ua = null;
  }

  /** The current call's peer connection, for diagnostics (tests read getStats from it). */
  get peerConnection(): RTCPeerConnection | null {
    return this.session?.connection ?? null;
  }

  private recentKey(): string {
    return `callbase.recent.${this.deps.userId ?? 0}`;
  }

  private loadRecent(): RecentCall[] {
    try {
      const raw = this.deps.storage?.getItem(this.recentKey());
      const v = raw ? JSON.parse(raw) : [];
      return Array.isArray(v) ? v.slice(0, RECENT_MAX) : [];
    } catch {
      return [];
    }
  }

  private remember(r: RecentCall) {
    const recent = [r, ...this.snap.recent].slice(0, RECENT_MAX);
    this.set({ recent });
    try {
      this.deps.storage?.setItem(this.recentKey(), JSON.stringify(recent));
    } catch {
      /* storage full or blocked: the list still lives in memory */
    }
  }
}
