/**
 * Runs a {@link MediaMonitor} for each answered call of the phone (once the server's call id and
 * the peer connection are known) and hands its verdicts to the panel.
 */
import type { PhoneController } from '../controller';
import type { Verdict } from './diagnose';
import { MediaMonitor, type MonitorDeps } from './monitor';

export interface QualityWatch {
  subscribe(fn: (v: Verdict | null) => void): () => void;
  /** The running call's monitor (e2e diagnostics). */
  readonly monitor: MediaMonitor | null;
  dispose(): void;
}

export function watchQuality(controller: PhoneController, deps: MonitorDeps): QualityWatch {
  let monitor: MediaMonitor | null = null;
  let unsubMonitor: (() => void) | null = null;
  const listeners = new Set<(v: Verdict | null) => void>();
  const tell = (v: Verdict | null) => listeners.forEach((l) => l(v));

  const stop = () => {
    unsubMonitor?.();
    unsubMonitor = null;
    monitor?.stop();
    monitor = null;
    tell(null);
  };

  const unsub = controller.subscribe((snap) => {
    const call = snap.call;
    const pc = controller.peerConnection;
    const live = call && call.state === 'answered' && call.callId && pc;
    if (!live) {
      if (monitor) stop();
      return;
    }
    if (monitor && monitor.callId === call.callId) return;
    if (monitor) stop();
    monitor = new MediaMonitor(deps, call.callId!, pc, () => {
      const c = controller.snapshot.call;
      return { muted: !!c?.muted, held: !!c?.held };
    });
    unsubMonitor = monitor.subscribe(tell);
    monitor.start();
  });

  return {
    subscribe(fn) {
      listeners.add(fn);
      fn(monitor?.verdict ?? null);
      return () => listeners.delete(fn);
    },
    get monitor() {
      return monitor;
    },
    dispose() {
      unsub();
      stop();
    },
  };
}
