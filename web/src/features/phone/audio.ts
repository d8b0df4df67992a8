/**
 * Sound for the phone: remote audio on the chosen speaker, a generated ring tone on the chosen
 * ring device, device lists, and the "enable sound" step that unlocks audio before the first
 * inbound call (autoplay rules would otherwise keep it silent).
 */

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
  private ctx: AudioContext | null = null;
  private remote: HTMLAudioElement;
  private ringEl: HTMLAudioElement;
  private ringStop: (() => void) | null = null;
  /** The remote stream, exposed for diagnostics (the e2e tests measure its level). */
  remoteStream: MediaStream | null = null;

  constructor(private prefs: () => DevicePrefs) {
    this.remote = document.createElement('audio');
    this.remote.autoplay = true;
    this.remote.setAttribute('data-testid', 'phone-remote-audio');
    this.ringEl = document.createElement('audio');
    this.ringEl.autoplay = true;
    document.body.append(this.remote, this.ringEl);
  }

  /** The user gesture that unlocks sound for the rest of the session. */
  async enable(): Promise<boolean> {
    try {
      this.ctx ??= new AudioContext();
      await this.ctx.resume();
      if ('Notification' in window && Notification.permission === 'default') {
        void Notification.requestPermission();
      }
      return this.ctx.state === 'running';
    } catch {
      return false;
    }
  }

  get enabled(): boolean {
    return this.ctx?.state === 'running';
  }

  setRemote(stream: MediaStream | null) {
    this.remoteStream = stream;
    this.remote.srcObject = stream;
    void sink(this.remote, this.prefs().speaker);
    if (stream) void this.remote.play().catch(() => undefined);
  }

  /** A 425/480 Hz ring cadence (1 s on, 2 s off), generated: no file to fetch. */
  ring(on: boolean) {
    if (!on) {
      this.ringStop?.();
      this.ringStop = null;
      return;
    }
    if (this.ringStop || !this.ctx) return;
    const ctx = this.ctx;
    const dest = ctx.createMediaStreamDestination();
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(dest);
    const chosen = this.prefs().ringer;
    // Without setSinkId the ring plays through the default device via the context itself.
    if (chosen && canChooseOutput()) {
      this.ringEl.srcObject = dest.stream;
      void sink(this.ringEl, chosen);
      void this.ringEl.play().catch(() => undefined);
    } else {
      gain.connect(ctx.destination);
    }
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
      this.ringEl.srcObject = null;
    };
  }

  /** Records 3 s from the chosen microphone and plays it back; reports the mic level (0–1). */
  async testHeadset(onLevel: (level: number) => void): Promise<void> {
    const mic = this.prefs().mic;
    const stream = await navigator.mediaDevices.getUserMedia({ audio: mic ? { deviceId: { exact: mic } } : true });
    const ctx = this.ctx ?? new AudioContext();
    this.ctx = ctx;
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
