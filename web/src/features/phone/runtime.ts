/**
 * The one phone of this page: JsSIP wired to the controller, the `/events` feed, sound, and the
 * rule that only one tab per user runs the phone (Web Locks, with BroadcastChannel to ask the
 * owning tab to let go).
 */
import * as JsSIP from 'jssip';
import { api } from '../../shared/api/client';
import { PhoneAudio, loadPrefs } from './audio';
import { PhoneController, type UAConfig, type UALike } from './controller';

function createUA(cfg: UAConfig): UALike {
  const socket = new JsSIP.WebSocketInterface(cfg.wsUrl);
  // JsSIP speaks the `sip` subprotocol, which the server's /sip relay requires.
  const ua = new JsSIP.UA({
    sockets: [socket],
    uri: cfg.uri,
    authorization_user: cfg.authorization_user,
    password: cfg.password,
    display_name: cfg.display_name,
    register: true,
    register_expires: 120,
    session_timers: false,
    // A socket closed by a stopping server replica (1012) comes back through another one within
    // 1–2 s: a call in progress needs its signalling back soon.
    connection_recovery_min_interval: 1,
    connection_recovery_max_interval: 30,
  });
  return ua as unknown as UALike;
}

export interface PhoneRuntime {
  controller: PhoneController;
  audio: PhoneAudio;
  /** Takes the phone over from another tab. */
  moveHere(): void;
  dispose(): void;
}

let current: PhoneRuntime | null = null;

/** The running phone of this page, if any (for click-to-call from other parts of the app). */
export function currentPhone(): PhoneRuntime | null {
  return current;
}

export function startPhone(userId: number): PhoneRuntime {
  const audio = new PhoneAudio(loadPrefs);
  const controller = new PhoneController({
    api: {
      phoneSession: () => api.phoneSession(),
      phoneStatus: () => api.phoneStatus(),
      previewNumber: (n) => api.previewNumber(n),
      transfer: (id, target) => api.transferCall(id, target),
      consult: (id, target) => api.consultCall(id, target),
      endConsult: (id, complete) => api.endConsult(id, complete),
      park: (id) => api.parkCall(id),
      pauseRecording: (id, paused) => api.pauseRecording(id, paused),
    },
    createUA,
    onRemoteStream: (s) => audio.setRemote(s),
    ring: (on) => audio.ring(on),
    storage: localStorage,
    userId,
    micConstraint: () => {
      const mic = loadPrefs().mic;
      return mic ? { deviceId: { exact: mic } } : true;
    },
  });
  const lockName = `callbase-phone-${userId}`;
  const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(lockName) : null;
  let release: (() => void) | null = null;
  let disposed = false;

  function acquire(wait: boolean) {
    if (!navigator.locks) {
      void controller.start();
      return;
    }
    void navigator.locks.request(lockName, { ifAvailable: !wait }, async (lock) => {
      if (!lock) {
        controller.markElsewhere();
        return;
      }
      if (disposed) return;
      await controller.start();
      await new Promise<void>((r) => (release = r));
      controller.stop();
    });
  }

  if (channel) {
    channel.onmessage = (ev) => {
      if (ev.data === 'take' && release) {
        const r = release;
        release = null;
        r();
        setTimeout(() => controller.markElsewhere(), 50);
      }
    };
  }
  acquire(false);
  const rt: PhoneRuntime = {
    controller,
    audio,
    moveHere() {
      channel?.postMessage('take');
      acquire(true);
    },
    dispose() {
      disposed = true;
      release?.();
      controller.stop();
      channel?.close();
      if (current === rt) current = null;
    },
  };
  current = rt;
  // Read-only diagnostics for the e2e lab.
  (window as unknown as { __cbPhone: unknown }).__cbPhone = {
    get state() {
      return controller.snapshot;
    },
    get remoteStream() {
      return audio.remoteStream;
    },
    sdp: () => ({
      local: controller.peerConnection?.localDescription?.sdp ?? null,
      remote: controller.peerConnection?.remoteDescription?.sdp ?? null,
    }),
    stats: async () => {
      const pc = controller.peerConnection;
      if (!pc) return null;
      const out: unknown[] = [];
      (await pc.getStats()).forEach((r) => out.push(r));
      return out;
    },
  };
  return rt;
}
