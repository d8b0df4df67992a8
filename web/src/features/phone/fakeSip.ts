/** A fake JsSIP user agent and session for the phone's unit tests (not part of the app). */
import type { SessionLike, UALike } from './types';

type Handler = (e: any) => void;

export class FakeEmitter {
  handlers = new Map<string, Handler[]>();
  on(ev: string, fn: Handler) {
    this.handlers.set(ev, [...(this.handlers.get(ev) ?? []), fn]);
  }
  emit(ev: string, e?: any) {
    for (const h of this.handlers.get(ev) ?? []) h(e);
  }
}

export class FakeSession extends FakeEmitter implements SessionLike {
  calls: string[] = [];
  connection = null;
  answerOpts: any = undefined;
  answer(o?: any) {
    this.answerOpts = o;
    this.calls.push('answer');
    this.emit('accepted');
  }
  terminate(o?: any) {
    this.calls.push(`terminate:${o?.status_code ?? ''}`);
    this.emit('ended', { cause: 'Terminated' });
  }
  hold() {
    this.calls.push('hold');
    this.emit('hold', { originator: 'local' });
    return true;
  }
  unhold() {
    this.calls.push('unhold');
    this.emit('unhold', { originator: 'local' });
    return true;
  }
  mute() {
    this.calls.push('mute');
    this.emit('muted');
  }
  unmute() {
    this.calls.push('unmute');
    this.emit('unmuted');
  }
  sendDTMF(t: string, o: any) {
    this.calls.push(`dtmf:${t}:${o.transportType}`);
  }
  /** How many renegotiate() calls answer false (another re-INVITE pending) before one is sent. */
  busyRenegotiations = 0;
  renegotiate() {
    if (this.busyRenegotiations > 0) {
      this.busyRenegotiations--;
      return false;
    }
    this.calls.push('renegotiate');
    return true;
  }
}

export class FakeUA extends FakeEmitter implements UALike {
  started = false;
  stopped = false;
  dialled: { target: string; opts: any; session: FakeSession }[] = [];
  start() {
    this.started = true;
  }
  stop() {
    this.stopped = true;
  }
  call(target: string, opts: any) {
    const session = new FakeSession();
    this.dialled.push({ target, opts, session });
    return session;
  }
}
