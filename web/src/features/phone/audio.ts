/**
 * Sound for the phone: remote audio on the chosen speaker, a generated ring tone on the chosen
 * ring device, device lists, and the "enable sound" step for a page the browser keeps silent
 * (autoplay rules). The objects that sound come from `unlock.ts`, which the sign-in click unlocks.
 */
import { armOnAnyGesture, armSound, askNotifications, markBlocked, probeSound, soundContext, soundKit, soundState } from './unlock';


/** Whether this browser can route audio to a chosen output device. */
export function canChooseOutput(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

async function sink(el: HTMLMediaElement, deviceId: string | undefined) {
  if (!deviceId || !canChooseOutput()) return;
  try {
    await (el as HTMLMediaElement & { setSinkId(id: string): Promise<void> }).setSinkId(deviceId);
  } catch {
    /* the device went away: the default device plays */
  }
}

export interface Devices {
  mics: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export async function listDevices(): Promise<Devices> {
  if (!navigator.mediaDevices?.enumerateDevices) return { mics: [], speakers: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return { mics: all.filter((d) => d.kind === 'audioinput'), speakers: all.filter((d) => d.kind === 'audiooutput') };
}

const PREFS_KEY = 'callbase.phone.devices';

export interface DevicePrefs {
  mic?: string;
  speaker?: string;
  ringer?: string;
}

export function loadPrefs(): DevicePrefs {
  try {
    return JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as DevicePrefs;
  } catch {
    return {};
  }
}

export function savePrefs(p: DevicePrefs) {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(p));
  } catch {
    /* private mode: the choice lasts for this page */
  }
}

/** Plays remote audio and the ring tone. One per page. */
export class PhoneAudio {
  private ringStop: (() => void) | null = null;
  private stopGestures: () => void;
  /** The remote stream, exposed for diagnostics (the e2e tests measure its level). */
  remoteStream: MediaStream | null = null;
  /** The browser refused to play the ring (autoplay policy). */
  ringBlocked = false;

  /**
   * Takes the page's sound objects (`unlock.ts`: made and unlocked by the sign-in click when
   * there was one), finds out whether the browser lets them sound, and arms them on the next
   * click or key press while it does not.
   */
  constructor(private prefs: () => DevicePrefs) {
    const kit = soundKit();
    for (const el of [kit.remote, kit.ring]) if (!el.isConnected) document.body.append(el);
    this.stopGestures = armOnAnyGesture();
    void probeSound();
  }

  private get ctx(): AudioContext | null {
    return soundKit().ctx;
  }

  private get remote(): HTMLAudioElement {
    return soundKit().remote;
  }

  private get ringEl(): HTMLAudioElement {
    return soundKit().ring;
  }

  /** The "enable sound" click: unlocks sound for the rest of the page's life. */
  async enable(): Promise<boolean> {
    armSound();
    askNotifications();
    return (await probeSound()) === 'allowed';
  }

  /** Whether the browser lets the phone sound (known after the first probe). */
  get enabled(): boolean {
    return soundState() === 'allowed';
  }

  /** For the e2e lab: the ring's way out and whether it sounds. */
  get diagnostics() {
    return {
      state: soundState(),
      context: this.ctx?.state ?? null,
      ringing: this.ringStop !== null,
      ringPlaying: this.ringStop !== null && !this.ringEl.paused,
      ringBlocked: this.ringBlocked,
    };
  }

  setRemote(stream: MediaStream | null) {
    this.remoteStream = stream;
    this.remote.srcObject = stream;
    void sink(this.remote, this.prefs().speaker);
    if (stream) void this.remote.play().catch(() => undefined);
  }

  /**
   * A 425/480 Hz ring cadence (1 s on, 2 s off), generated: no file to fetch. It plays through the
   * ring element (on the chosen ring device where the browser can route it), which the sign-in
   * click has unlocked; blocked, it says so and "enable sound" brings it in.
   */
  ring(on: boolean) {
    if (!on) {
      this.ringStop?.();
      this.ringStop = null;
      return;
    }
    const ctx = this.ctx ?? soundContext();
    if (this.ringStop || !ctx) return;
    const dest = ctx.createMediaStreamDestination();
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(dest);
    const el = this.ringEl;
    el.srcObject = dest.stream;
    void sink(el, this.prefs().ringer);
    this.ringBlocked = false;
    Promise.resolve(el.play()).then(
      () => (this.ringBlocked = false),
      (e: unknown) => {
        if (el.srcObject !== dest.stream) return;
        this.ringBlocked = true;
        if ((e as { name?: string } | null)?.name === 'NotAllowedError') markBlocked();
      },
    );
    const oscs = [425, 480].map((f) => {
      const o = ctx.createOscillator();
      o.frequency.value = f;
      o.connect(gain);
      o.start();
      return o;
    });
    let onPhase = true;
    gain.gain.value = 0.15;
    const timer = setInterval(() => {
      onPhase = !onPhase;
      gain.gain.value = onPhase ? 0.15 : 0;
    }, 1500);
    this.ringStop = () => {
      clearInterval(timer);
      oscs.forEach((o) => o.stop());
      gain.disconnect();
      el.pause();
      el.srcObject = null;
    };
  }

  dispose() {
    this.ring(false);
    this.stopGestures();
  }

  /** Records 3 s from the chosen microphone and plays it back; reports the mic level (0–1). */
  async testHeadset(onLevel: (level: number) => void): Promise<void> {
    const mic = this.prefs().mic;
    const stream = await navigator.mediaDevices.getUserMedia({ audio: mic ? { deviceId: { exact: mic } } : true });
    const ctx = soundContext();
    if (!ctx) throw new Error('no AudioContext');
    const an = ctx.createAnalyser();
    ctx.createMediaStreamSource(stream).connect(an);
    const buf = new Float32Array(an.fftSize);
    const meter = setInterval(() => {
      an.getFloatTimeDomainData(buf);
      let peak = 0;
      for (const v of buf) peak = Math.max(peak, Math.abs(v));
      onLevel(peak);
    }, 100);
    const chunks: Blob[] = [];
    const rec = new MediaRecorder(stream);
    rec.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise<void>((r) => (rec.onstop = () => r()));
    rec.start();
    await new Promise((r) => setTimeout(r, 3000));
    rec.stop();
    await stopped;
    clearInterval(meter);
    stream.getTracks().forEach((t) => t.stop());
    const url = URL.createObjectURL(new Blob(chunks, { type: rec.mimeType }));
    const el = new Audio(url);
    await sink(el, this.prefs().speaker);
    await el.play().catch(() => undefined);
  }
}
