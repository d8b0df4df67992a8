/**
 * The media monitor of a running call: every two seconds it reads the browser's `getStats` and
 * the levels of the microphone and of what plays, asks Asterisk for its counters of both legs when
 * the local view looks wrong (and every ten seconds otherwise), and lets {@link Diagnoser} name the
 * silent hop. When the call ends it sends the call's summary to the server (`call_quality`).
 */
import { Diagnoser, type BrowserSample, type CallFlags, type Problem, type ServerSample, type Verdict } from './diagnose';

export interface MonitorDeps {
  media(callId: string): Promise<Omit<ServerSample, 'at'>>;
  report(callId: string, summary: Summary): Promise<void>;
  now?(): number;
}

export interface Summary {
  mos_min: number | null;
  mos_avg: number | null;
  loss_pct: number | null;
  jitter_ms: number | null;
  rtt_ms: number | null;
  problems: Problem[];
  browser: string | null;
}

const EVERY_MS = 2000;
const LEVEL_EVERY_MS = 250;
const SERVER_ROUTINE_MS = 10000;

/** The peak level of a track, read a few times a second (a single frame could fall in a pause). */
export class LevelMeter {
  private an: AnalyserNode;
  private src: MediaStreamAudioSourceNode;
  private buf: Float32Array<ArrayBuffer>;
  private peak = 0;
  private timer: ReturnType<typeof setInterval>;

  constructor(private ctx: AudioContext, track: MediaStreamTrack) {
    this.src = ctx.createMediaStreamSource(new MediaStream([track]));
    this.an = ctx.createAnalyser();
    this.an.fftSize = 512;
    this.buf = new Float32Array(this.an.fftSize);
    this.src.connect(this.an);
    this.timer = setInterval(() => this.read(), LEVEL_EVERY_MS);
  }

  private read() {
    this.an.getFloatTimeDomainData(this.buf);
    for (const v of this.buf) this.peak = Math.max(this.peak, Math.abs(v));
  }

  /** The peak since the last take; null while the audio context does not run (levels are zeros then). */
  take(): number | null {
    this.read();
    const p = this.peak;
    this.peak = 0;
    return this.ctx.state === 'running' ? p : null;
  }

  close() {
    clearInterval(this.timer);
    this.src.disconnect();
  }
}

/** The browser's counters of the call's audio. */
export async function browserCounters(pc: RTCPeerConnection) {
  const out = {
    packetsSent: 0,
    packetsReceived: 0,
    packetsLost: 0,
    jitterMs: 0,
    rttMs: null as number | null,
    // The level of what arrives as the browser measures it (Firefox fills these; headless
    // Chromium leaves them at 0, where the analyser of the remote track works instead).
    audioEnergy: 0,
    samplesDuration: 0,
  };
  let pairRtt: number | null = null;
  let remoteRtt: number | null = null;
  (await pc.getStats()).forEach((r: any) => {
    if (r.type === 'outbound-rtp' && r.kind === 'audio') out.packetsSent += r.packetsSent ?? 0;
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out.packetsReceived += r.packetsReceived ?? 0;
      out.packetsLost += Math.max(0, r.packetsLost ?? 0);
      out.jitterMs = Math.max(out.jitterMs, (r.jitter ?? 0) * 1000);
      out.audioEnergy += r.totalAudioEnergy ?? 0;
      out.samplesDuration += r.totalSamplesDuration ?? 0;
    }
    if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded' && typeof r.currentRoundTripTime === 'number') {
      pairRtt = r.currentRoundTripTime * 1000;
    }
    if (r.type === 'remote-inbound-rtp' && typeof r.roundTripTime === 'number') remoteRtt = r.roundTripTime * 1000;
  });
  out.rttMs = pairRtt ?? remoteRtt;
  return out;
}

/** "Chrome 131", "Firefox 128" from the user agent string. */
export function browserName(ua: string): string | null {
  const m = /(Firefox|Edg|OPR|Chrome|Safari)\/(\d+)/.exec(ua);
  if (!m) return null;
  const name = { Edg: 'Edge', OPR: 'Opera' }[m[1]] ?? m[1];
  return `${name} ${m[2]}`;
}

export class MediaMonitor {
  private d = new Diagnoser();
  private timer: ReturnType<typeof setInterval> | null = null;
  private meters: LevelMeter[] = [];
  private ctx: AudioContext | null = null;
  private lastServer = -Infinity;
  private asking = false;
  private last: Awaited<ReturnType<typeof browserCounters>> | null = null;
  private jitterSum = 0;
  private rttSum = 0;
  private rttCount = 0;
  private samples = 0;
  private listeners = new Set<(v: Verdict | null) => void>();
  verdict: Verdict | null = null;
  private readonly now: () => number;

  constructor(
    private deps: MonitorDeps,
    readonly callId: string,
    private pc: RTCPeerConnection,
    private flags: () => CallFlags,
  ) {
    this.now = deps.now ?? (() => performance.now());
  }

  subscribe(fn: (v: Verdict | null) => void): () => void {
    this.listeners.add(fn);
    fn(this.verdict);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    try {
      this.ctx = new AudioContext();
      void this.ctx.resume().catch(() => undefined);
      const local = this.pc.getSenders().find((s) => s.track?.kind === 'audio')?.track;
      const remote = this.pc.getReceivers().find((r) => r.track?.kind === 'audio')?.track;
      this.meters = [local, remote].map((t) => (t ? new LevelMeter(this.ctx!, t) : null)).filter((m): m is LevelMeter => !!m);
      if (this.meters.length !== 2) this.meters = [];
    } catch {
      // No Web Audio: no levels; the packet counters still tell the hops.
      this.meters = [];
    }
    this.timer = setInterval(() => void this.tick(), EVERY_MS);
  }

  private async tick(): Promise<void> {
    let c: Awaited<ReturnType<typeof browserCounters>>;
    try {
      c = await browserCounters(this.pc);
    } catch {
      return;
    }
    const [mic, remote] = this.meters;
    const at = this.now();
    // The remote level: the analyser's peak (Chromium), or the RMS of getStats' audio energy over
    // the window where the browser reports it (Firefox, whose analyser of a remote track stays silent).
    const p = this.last;
    const dur = p ? c.samplesDuration - p.samplesDuration : 0;
    const rms = dur > 0 ? Math.sqrt(Math.max(0, c.audioEnergy - p!.audioEnergy) / dur) : 0;
    const heard = remote?.take() ?? null;
    const sample: BrowserSample = {
      at,
      ...c,
      micPeak: mic?.take() ?? null,
      remotePeak: heard === null ? null : Math.max(heard, rms),
    };
    const v = this.d.browserSample(sample, this.flags());
    this.last = c;
    this.samples += 1;
    this.jitterSum += c.jitterMs;
    if (c.rttMs !== null) {
      this.rttSum += c.rttMs;
      this.rttCount += 1;
    }
    this.publish(v);
    if ((v.askServer || at - this.lastServer >= SERVER_ROUTINE_MS) && !this.asking && !this.flags().held) {
      this.asking = true;
      try {
        const m = await this.deps.media(this.callId);
        this.lastServer = this.now();
        this.d.serverSample({ at: this.lastServer, ...m });
      } catch {
        // The node did not answer: the next reading tries again.
      } finally {
        this.asking = false;
      }
    }
  }

  private publish(v: Verdict | null) {
    this.verdict = v;
    for (const l of this.listeners) l(v);
  }

  /** What the call's summary says (before `stop` sends it). */
  summary(): Summary {
    const c = this.last;
    const expected = c ? c.packetsReceived + c.packetsLost : 0;
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      mos_min: this.d.mosMin,
      mos_avg: this.d.mosAvg,
      loss_pct: c && expected > 0 ? round((100 * c.packetsLost) / expected) : null,
      jitter_ms: this.samples ? round(this.jitterSum / this.samples) : null,
      rtt_ms: this.rttCount ? round(this.rttSum / this.rttCount) : null,
      problems: [...this.d.seen],
      browser: typeof navigator !== 'undefined' ? browserName(navigator.userAgent) : null,
    };
  }

  /** Stops measuring and sends the summary (once; a call without a reading sends nothing). */
  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    for (const m of this.meters) m.close();
    void this.ctx?.close().catch(() => undefined);
    this.publish(null);
    if (this.samples > 0) void this.deps.report(this.callId, this.summary()).catch(() => undefined);
  }
}
