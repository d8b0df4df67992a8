/**
 * One-way-audio diagnosis (issue #22): which hop of a call is silent, from the browser's view
 * (`getStats` counters, the levels of the microphone and of what plays) and Asterisk's (the RTP
 * counters of the agent's leg and of the other party's leg, `GET /api/calls/{id}/media`). Pure:
 * the monitor feeds it samples; tests feed it numbers.
 *
 *   microphone → browser ──agent's leg──▶ Asterisk ──other leg──▶ carrier / colleague
 *   speaker    ◀ browser ◀──agent's leg── Asterisk ◀──other leg── carrier / colleague
 *
 * Browser-only guessing cannot tell "the carrier sends nothing" from "the server's packets do not
 * reach the browser": both look like silence here. Asterisk's counters on both legs can.
 */
import { estimateMos, levelOf, type QualityLevel } from './mos';

/** The problems the phone names (the server keeps their codes with the call, `call_quality`). */
export type Problem =
  | 'mic_silent'
  | 'browser_to_server'
  | 'server_to_other'
  | 'other_to_server'
  | 'other_silent'
  | 'server_to_browser'
  | 'poor_quality';

export interface BrowserSample {
  /** ms since some origin (performance.now or Date.now). */
  at: number;
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  jitterMs: number;
  rttMs: number | null;
  /** Peak level (0–1) of the microphone's track and of the remote audio since the last sample; null when not measurable. */
  micPeak: number | null;
  remotePeak: number | null;
}

export interface LegCounters {
  rx_packets: number;
  tx_packets: number;
}

export interface ServerSample {
  at: number;
  agent: LegCounters | null;
  other: LegCounters | null;
}

export interface CallFlags {
  /** The agent muted the phone (silence is theirs to send). */
  muted: boolean;
  /** On hold: nothing is meant to flow. */
  held: boolean;
}

export interface Verdict {
  problems: Problem[];
  mos: number | null;
  level: QualityLevel | null;
  /** The local view looks wrong: ask the server now rather than at the next routine reading. */
  askServer: boolean;
}

/** Packets per second at which a direction counts as flowing (50/s at 20 ms packets). */
const FLOWING = 10;
/** Below this, nothing flows. Between the two, the reading decides nothing. */
const STOPPED = 1;
/** Peak level under which audio is digital silence (−60 dBFS). */
const SILENT = 0.001;
/** How long silence must last before it is named (people pause; lines do not go dead for 5 s). */
const SILENCE_MS = 5000;
/** Two poor readings in a row before the phone warns. */
const POOR_READINGS = 2;

const rate = (a: number, b: number, ms: number) => (ms > 0 ? ((b - a) * 1000) / ms : 0);

export class Diagnoser {
  private prev: BrowserSample | null = null;
  private prevServer: ServerSample | null = null;
  private server: { agentRx: number; agentTx: number; otherRx: number; otherTx: number } | null = null;
  private micSilentSince: number | null = null;
  private remoteSilentSince: number | null = null;
  private poor = 0;
  /** Every problem named during the call, for its summary. */
  readonly seen = new Set<Problem>();
  private mosSum = 0;
  private mosCount = 0;
  mosMin: number | null = null;

  /** A new reading of Asterisk's counters: rates against the previous one. */
  serverSample(s: ServerSample): void {
    const p = this.prevServer;
    if (p && s.at > p.at) {
      const ms = s.at - p.at;
      const r = (a: LegCounters | null, b: LegCounters | null, k: keyof LegCounters) =>
        a && b ? rate(a[k], b[k], ms) : NaN;
      this.server = {
        agentRx: r(p.agent, s.agent, 'rx_packets'),
        agentTx: r(p.agent, s.agent, 'tx_packets'),
        otherRx: r(p.other, s.other, 'rx_packets'),
        otherTx: r(p.other, s.other, 'tx_packets'),
      };
    }
    this.prevServer = s;
  }

  /** The server's rates are stale after a hold or a reconnect: start over. */
  forgetServer(): void {
    this.prevServer = null;
    this.server = null;
  }

  browserSample(b: BrowserSample, flags: CallFlags): Verdict {
    const p = this.prev;
    this.prev = b;
    if (!p || b.at <= p.at) return { problems: [], mos: null, level: null, askServer: false };
    if (flags.held) {
      this.micSilentSince = this.remoteSilentSince = null;
      this.forgetServer();
      return { problems: [], mos: null, level: null, askServer: false };
    }
    const ms = b.at - p.at;
    const sent = rate(p.packetsSent, b.packetsSent, ms);
    const received = rate(p.packetsReceived, b.packetsReceived, ms);
    const lost = Math.max(0, b.packetsLost - p.packetsLost);
    const got = Math.max(0, b.packetsReceived - p.packetsReceived);
    this.micSilentSince = silentSince(this.micSilentSince, b.micPeak, b.at, ms);
    this.remoteSilentSince = silentSince(this.remoteSilentSince, b.remotePeak, b.at, ms);
    const micSilent = !flags.muted && this.micSilentSince !== null && b.at - this.micSilentSince >= SILENCE_MS;
    const remoteSilent = this.remoteSilentSince !== null && b.at - this.remoteSilentSince >= SILENCE_MS;

    const problems: Problem[] = [];
    const s = this.server;
    const flows = (x: number) => x >= FLOWING;
    const stopped = (x: number) => !Number.isNaN(x) && x < STOPPED;
    // What the agent says, towards the other party.
    if (micSilent) problems.push('mic_silent');
    else if (s && flows(sent) && stopped(s.agentRx)) problems.push('browser_to_server');
    else if (s && flows(s.agentRx) && stopped(s.otherTx)) problems.push('server_to_other');
    // What the other party says, towards the agent.
    const nothingHere = received < STOPPED;
    if (nothingHere || remoteSilent) {
      if (s && stopped(s.otherRx)) problems.push('other_to_server');
      else if (s && nothingHere && flows(s.otherRx)) problems.push('server_to_browser');
      else if (s && remoteSilent && flows(s.otherRx)) problems.push('other_silent');
    }

    let mos: number | null = null;
    if (got + lost > 0) {
      mos = estimateMos({ lossPct: (100 * lost) / (got + lost), jitterMs: b.jitterMs, rttMs: b.rttMs });
      this.mosSum += mos;
      this.mosCount += 1;
      this.mosMin = this.mosMin === null ? mos : Math.min(this.mosMin, mos);
      this.poor = levelOf(mos) === 'poor' ? this.poor + 1 : 0;
      if (this.poor >= POOR_READINGS) problems.push('poor_quality');
    }
    for (const x of problems) this.seen.add(x);
    // Ask Asterisk early (a quiet line for 2 s) so that its rates are ready when silence is named.
    const remoteQuiet = this.remoteSilentSince !== null && b.at - this.remoteSilentSince >= 2000;
    const askServer = nothingHere || remoteQuiet || sent < STOPPED || problems.length > 0;
    return { problems, mos, level: mos === null ? null : levelOf(mos), askServer };
  }

  get mosAvg(): number | null {
    return this.mosCount ? Math.round((this.mosSum / this.mosCount) * 100) / 100 : null;
  }
}

/** When the current silence began (null: not silent, or the level is not measurable). */
function silentSince(since: number | null, peak: number | null, at: number, ms: number): number | null {
  if (peak === null || peak >= SILENT) return null;
  return since ?? at - ms;
}
