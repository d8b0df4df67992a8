/**
 * The one phone of this page: JsSIP wired to the controller, sound, and one phone across the tabs
 * of a user (`tabPhone.ts`: the tab holding the Web Lock runs it, the others mirror it over a
 * BroadcastChannel and send it their clicks).
 */
import * as JsSIP from 'jssip';
import { api } from '../../shared/api/client';
import { PhoneAudio, loadPrefs } from './audio';
import { PhoneController, type PhoneSnapshot, type UAConfig, type UALike } from './controller';
import { watchQuality, type QualityWatch } from './quality/watch';
import { browserHid } from './headset/hid';
import { HeadsetLink } from './headset/link';
import { t } from '../../shared/i18n';
import { uuid4 } from './sip';
import { uaConfiguration } from './uaConfig';
import { scopeName } from './tabs';
import { TabPhone } from './tabPhone';
import { runPreflight, type PreflightRun } from './preflight/run';

function createUA(cfg: UAConfig): UALike {
  const ua = new JsSIP.UA(uaConfiguration(cfg, new JsSIP.WebSocketInterface(cfg.wsUrl)));
  return ua as unknown as UALike;
}

export interface PhoneRuntime {
  /** This tab's own phone: it runs while the tab owns the phone. */
  controller: PhoneController;
  audio: PhoneAudio;
  /** The running call's media diagnosis and quality. */
  quality: QualityWatch;
  /** The USB headset's call buttons and lights (WebHID; `unsupported` outside Chromium). */
  headset: HeadsetLink;
  /** Which tab runs the phone, what this tab shows, and its controls (`tabPhone.ts`). */
  tabs: TabPhone;
  /** Takes the phone over from another tab. */
  moveHere(): void;
  /** A preflight: a ten-second test call to the platform echo, judged and stored (this tab's phone only). */
  preflight(): Promise<PreflightRun>;
  dispose(): void;
}

let current: PhoneRuntime | null = null;

/** The running phone of this page, if any (for click-to-call from other parts of the app). */
export function currentPhone(): PhoneRuntime | null {
  return current;
}

export function startPhone(tenantId: number | string, userId: number): PhoneRuntime {
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
  const quality = watchQuality(controller, {
    media: async (id) => {
      const m = await api.callMedia(id);
      return { agent: m.agent ?? null, other: m.other ?? null };
    },
    report: (id, q) => api.putCallQuality(id, q),
  });
  const scope = { tenant: tenantId, user: userId };
  const tabs = new TabPhone({
    scope,
    tabId: uuid4(),
    phone: controller,
    channel: typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(scopeName(scope)) : null,
    locks: typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null,
    noAnswer: () => t('phone.tabs.noAnswer'),
  });
  // Closing the tab (not a page kept in the back/forward cache): the other tabs hear it first.
  const onHide = (e: PageTransitionEvent) => !e.persisted && tabs.leave();
  window.addEventListener('pagehide', onHide);
  tabs.start();
  // Only the tab that runs the phone drives the headset: to the link, a follower's phone is elsewhere.
  const headsetView = (): PhoneSnapshot => {
    const v = tabs.view;
    return v.role === 'follower' ? { ...v.snap, reg: 'elsewhere' } : controller.snapshot;
  };
  const headset = new HeadsetLink(browserHid(), {
    get snapshot() {
      return headsetView();
    },
    subscribe: (fn) => tabs.subscribe(() => fn(headsetView())),
    answer: () => controller.answer(),
    decline: () => controller.decline(),
    hangup: () => controller.hangup(),
    toggleMute: () => controller.toggleMute(),
    toggleHold: () => controller.toggleHold(),
    dial: (n) => controller.dial(n),
  });
  void headset.restore();
  let lastPreflight: PreflightRun | null = null;
  const rt: PhoneRuntime = {
    controller,
    audio,
    quality,
    headset,
    tabs,
    moveHere: () => tabs.moveHere(),
    preflight: () =>
      runPreflight({
        startTest: () => controller.startTest(),
        report: (r) => api.postPreflight(r),
      }).then((r) => (lastPreflight = r)),
    dispose() {
      window.removeEventListener('pagehide', onHide);
      quality.dispose();
      headset.dispose();
      tabs.dispose();
      audio.dispose();
      if (current === rt) current = null;
    },
  };
  current = rt;
  // Read-only diagnostics for the e2e lab.
  (window as unknown as { __cbPhone: unknown }).__cbPhone = {
    get state() {
      return tabs.view.snap;
    },
    get role() {
      return tabs.view.role;
    },
    /** The last preflight's outcome (verdict, figures, whether the server stored it). */
    get preflight() {
      return lastPreflight;
    },
    /** The running call's diagnosis (problems named, estimated MOS). */
    get quality() {
      return quality.monitor?.verdict ?? null;
    },
    get remoteStream() {
      return audio.remoteStream;
    },
    /** Whether the browser lets the phone sound, the AudioContext's state, and the ring playing. */
    get sound() {
      return audio.diagnostics;
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
