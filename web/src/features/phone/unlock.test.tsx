import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PhoneAudio } from './audio';
import { SoundButton } from './SoundButton';
import { armOnAnyGesture, armSound, probeSound, setSoundEnv, soundKit, soundState, type SoundEnv } from './unlock';

/**
 * A browser with an autoplay policy: nothing sounds until the page has been activated (Chromium's
 * sticky activation; Firefox adds `getAutoplayPolicy` when `policyApi`). `gesture()` runs code the
 * way a click handler runs.
 */
function fakeBrowser({ policyApi = false } = {}) {
  const b = {
    activated: false,
    contexts: [] as FakeContext[],
    plays: [] as { el: HTMLAudioElement; src: unknown; ok: boolean }[],
    gesture(fn: () => void) {
      b.activated = true;
      fn();
    },
  };
  class FakeContext extends EventTarget {
    state: AudioContextState = b.activated ? 'running' : 'suspended';
    streams = 0;
    resume() {
      if (!b.activated) return new Promise<void>(() => undefined);
      this.state = 'running';
      this.dispatchEvent(new Event('statechange'));
      return Promise.resolve();
    }
    createMediaStreamDestination() {
      this.streams++;
      return { stream: { id: `stream${this.streams}` } };
    }
    createGain() {
      return { gain: { value: 0 }, connect: vi.fn(), disconnect: vi.fn() };
    }
    createOscillator() {
      return { frequency: { value: 0 }, connect: vi.fn(), start: vi.fn(), stop: vi.fn() };
    }
  }
  const env: SoundEnv = {
    createContext() {
      const c = new FakeContext();
      b.contexts.push(c);
      return c as unknown as AudioContext;
    },
    createAudio() {
      const el = document.createElement('audio');
      let paused = true;
      Object.defineProperty(el, 'paused', { get: () => paused });
      el.play = () => {
        const ok = b.activated;
        b.plays.push({ el, src: el.srcObject, ok });
        if (!ok) return Promise.reject(Object.assign(new Error('blocked'), { name: 'NotAllowedError' }));
        paused = false;
        return Promise.resolve();
      };
      el.pause = () => {
        paused = true;
      };
      return el;
    },
    autoplayPolicy: policyApi ? () => (b.activated ? 'allowed' : 'disallowed') : undefined,
  };
  setSoundEnv(env);
  return b;
}

const settle = () => act(async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
});

describe('sound armed at sign-in (unlock.ts)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] }));
  afterEach(() => {
    vi.useRealTimers();
    setSoundEnv(null);
    document.body.innerHTML = '';
  });

  it('the sign-in click resumes the context and primes both elements, which then rest', async () => {
    const b = fakeBrowser();
    b.gesture(() => armSound());
    await settle();
    expect(b.contexts).toHaveLength(1);
    expect(b.contexts[0].state).toBe('running');
    const kit = soundKit();
    expect(b.plays.map((p) => [p.el, p.ok])).toEqual([[kit.ring, true], [kit.remote, true]]);
    // Primed on a silent stream, then paused and emptied: nothing plays until a call.
    expect(kit.ring.paused && kit.remote.paused).toBe(true);
    expect(kit.ring.srcObject ?? null).toBeNull();
    expect(soundState()).toBe('allowed');
  });

  it('the phone started after sign-in rings through the very context and element unlocked there', async () => {
    const b = fakeBrowser();
    b.gesture(() => armSound());
    await settle();
    const kit = soundKit();
    const audio = new PhoneAudio(() => ({}));
    await settle();
    expect(soundState()).toBe('allowed');
    expect(b.contexts).toHaveLength(1);
    expect(kit.ring.isConnected && kit.remote.isConnected).toBe(true);
    audio.ring(true);
    await settle();
    expect(b.plays.at(-1)).toMatchObject({ el: kit.ring, ok: true });
    expect(audio.diagnostics).toEqual({ state: 'allowed', context: 'running', ringing: true, ringPlaying: true, ringBlocked: false });
    audio.ring(false);
    expect(audio.diagnostics.ringing).toBe(false);
    expect(kit.ring.paused).toBe(true);
    audio.dispose();
  });

  it('after a reload with no click the phone finds sound blocked; a ring is refused; "enable sound" brings it in', async () => {
    const b = fakeBrowser();
    const audio = new PhoneAudio(() => ({}));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1600);
    });
    expect(soundState()).toBe('blocked');
    expect(b.contexts[0].state).toBe('suspended');
    audio.ring(true);
    await settle();
    expect(audio.diagnostics).toMatchObject({ ringing: true, ringPlaying: false, ringBlocked: true, context: 'suspended' });
    let enabled: Promise<boolean> = Promise.resolve(false);
    b.gesture(() => (enabled = audio.enable()));
    await settle();
    expect(await enabled).toBe(true);
    // The same context, resumed; the waiting ring element played inside the click.
    expect(b.contexts).toHaveLength(1);
    expect(audio.diagnostics).toMatchObject({ state: 'allowed', context: 'running', ringPlaying: true });
    audio.dispose();
  });

  it('where the browser states its policy (Firefox), blocked is known at once and any real click arms', async () => {
    const b = fakeBrowser({ policyApi: true });
    expect(await probeSound()).toBe('blocked');
    const listeners = new Map<string, (e: Event) => void>();
    const target = {
      addEventListener: (type: string, fn: EventListenerOrEventListenerObject) => listeners.set(type, fn as (e: Event) => void),
      removeEventListener: (type: string) => listeners.delete(type),
    };
    const stop = armOnAnyGesture(target);
    // A script's synthetic event is no user gesture.
    listeners.get('pointerdown')!({ isTrusted: false, target: null } as unknown as Event);
    expect(b.contexts).toHaveLength(0);
    b.gesture(() => listeners.get('keydown')!({ isTrusted: true, target: document.body } as unknown as Event));
    await settle();
    expect(soundState()).toBe('allowed');
    expect(b.contexts[0].state).toBe('running');
    stop();
    expect(listeners.size).toBe(0);
  });

  it('"enable sound" shows only while sound is blocked', async () => {
    const b = fakeBrowser();
    const root = document.createElement('div');
    document.body.append(root);
    const enable = vi.fn(async () => {
      armSound();
      return probeSound();
    });
    render(<SoundButton enable={enable} />, root);
    expect(root.querySelector('[data-testid=phone-enable-sound]')).toBeNull();
    await act(async () => {
      const p = probeSound(200);
      await vi.advanceTimersByTimeAsync(250);
      await p;
    });
    const btn = root.querySelector<HTMLButtonElement>('[data-testid=phone-enable-sound]');
    expect(btn?.textContent).toBe('Enable sound for incoming calls');
    b.gesture(() => btn!.click());
    await settle();
    expect(enable).toHaveBeenCalledTimes(1);
    expect(root.querySelector('[data-testid=phone-enable-sound]')).toBeNull();
    render(null, root);
  });

  it('a context the browser will not make leaves sound blocked, not broken', async () => {
    setSoundEnv({
      createContext: () => {
        throw new Error('no audio');
      },
      createAudio: () => document.createElement('audio'),
    });
    expect(() => armSound()).not.toThrow();
    expect(await probeSound()).toBe('blocked');
  });
});
