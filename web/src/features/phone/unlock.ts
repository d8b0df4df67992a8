/**
 * The page's sound objects — the AudioContext that makes the ring tone, the element that plays
 * it and the element that plays the other party — made and unlocked inside a user gesture, and
 * whether the browser lets them sound.
 *
 * Browsers keep a page silent until the user has interacted with it: Chromium lets an
 * AudioContext run and a media element play once the document has sticky user activation (and an
 * AudioContext created before that stays suspended until `resume()` after it); Firefox blocks
 * audible media elements and (`media.autoplay.block-webaudio`) Web Audio until the document has
 * been activated, and under its transient-activation setting only lets elements play that were
 * started by a gesture. So the sign-in click (`armSound` in the login form's submit handler,
 * synchronously, before the first `await`) creates and resumes the context and starts both
 * elements on a silent stream; the phone (`PhoneAudio`) later takes these very objects. Sign-in
 * leads into the app without reloading the page (a hash route), so the activation stays.
 *
 * After a reload with no click since, the phone finds sound blocked (`probeSound`) and shows
 * "enable sound"; that click, or any other click or key press on the page, arms sound again.
 */

export type SoundState = 'unknown' | 'allowed' | 'blocked';

export interface SoundKit {
  ctx: AudioContext | null;
  ring: HTMLAudioElement;
  remote: HTMLAudioElement;
}

/** What the browser provides; tests pass fakes. */
export interface SoundEnv {
  createContext(): AudioContext;
  createAudio(): HTMLAudioElement;
  /** `navigator.getAutoplayPolicy` where the browser has it (Firefox 112+). */
  autoplayPolicy?: (kind: 'mediaelement' | 'audiocontext') => string;
}

function browserEnv(): SoundEnv {
  const nav = typeof navigator !== 'undefined' ? (navigator as Navigator & { getAutoplayPolicy?: (k: string) => string }) : null;
  return {
    createContext: () => new AudioContext(),
    createAudio: () => document.createElement('audio'),
    autoplayPolicy: nav?.getAutoplayPolicy ? (k) => nav.getAutoplayPolicy!(k) : undefined,
  };
}

let env: SoundEnv | null = null;
let kit: SoundKit | null = null;
let state: SoundState = 'unknown';
const listeners = new Set<(s: SoundState) => void>();
/** The silent stream an element was primed with (so priming never stops real sound). */
const primedWith = new WeakMap<HTMLMediaElement, MediaStream>();

function theEnv(): SoundEnv {
  return (env ??= browserEnv());
}

/** Replaces the browser (tests); forgets the objects made so far. */
export function setSoundEnv(e: SoundEnv | null) {
  env = e;
  kit = null;
  state = 'unknown';
  listeners.clear();
}

/** The page's sound objects; the elements are made on first use, the context when armed or probed. */
export function soundKit(): SoundKit {
  if (!kit) {
    const e = theEnv();
    const ring = e.createAudio();
    ring.autoplay = true;
    ring.setAttribute('data-testid', 'phone-ring-audio');
    const remote = e.createAudio();
    remote.autoplay = true;
    remote.setAttribute('data-testid', 'phone-remote-audio');
    kit = { ctx: null, ring, remote };
  }
  return kit;
}

export function soundState(): SoundState {
  return state;
}

export function onSoundState(fn: (s: SoundState) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setState(s: SoundState) {
  if (s === state) return;
  state = s;
  for (const fn of [...listeners]) fn(s);
}

function context(k: SoundKit): AudioContext | null {
  if (!k.ctx) {
    try {
      k.ctx = theEnv().createContext();
      k.ctx.addEventListener?.('statechange', () => {
        if (k.ctx?.state === 'running') setState('allowed');
        else if (state === 'allowed') void probeSound();
      });
    } catch {
      return null;
    }
  }
  return k.ctx;
}

/** The page's AudioContext, made now if not yet (suspended where the browser blocks sound). */
export function soundContext(): AudioContext | null {
  return context(soundKit());
}

/**
 * Inside a gesture: an element the block kept paused on its sound (a ring that began before the
 * click) plays now; an idle one is started on a silent stream and paused once playing — a play()
 * the browser remembers.
 */
function prime(el: HTMLAudioElement, ctx: AudioContext | null) {
  if (!el.paused) return;
  if (el.srcObject && el.srcObject !== primedWith.get(el)) {
    void Promise.resolve(el.play()).catch(() => undefined);
    return;
  }
  if (!ctx) return;
  let silent: MediaStream;
  try {
    silent = ctx.createMediaStreamDestination().stream;
  } catch {
    return;
  }
  primedWith.set(el, silent);
  el.srcObject = silent;
  const done = () => {
    if (el.srcObject !== silent) return;
    el.pause();
    el.srcObject = null;
  };
  try {
    void Promise.resolve(el.play()).then(done, done);
  } catch {
    done();
  }
}

/**
 * Unlocks sound. Call it synchronously inside a user gesture (a click's or a submit's handler,
 * before any `await`): the browser checks the activation when `resume()` and `play()` are called.
 */
export function armSound(): void {
  const k = soundKit();
  const ctx = context(k);
  if (!ctx) return;
  let resumed: Promise<void>;
  try {
    resumed = Promise.resolve(ctx.resume());
  } catch {
    resumed = Promise.reject(new Error('resume failed'));
  }
  prime(k.ring, ctx);
  prime(k.remote, ctx);
  if (ctx.state === 'running') setState('allowed');
  resumed.then(
    () => setState(ctx.state === 'running' ? 'allowed' : state),
    () => undefined,
  );
}

/**
 * Whether the browser lets the phone sound now: its autoplay policy where it says (Firefox:
 * `getAutoplayPolicy` for media elements and for Web Audio), else the context running (Chromium
 * starts a context at once where allowed; not running within `waitMs` means blocked). Sets and
 * returns the state.
 */
export async function probeSound(waitMs = 1500): Promise<SoundState> {
  const e = theEnv();
  if (e.autoplayPolicy) {
    let blocked = false;
    try {
      blocked = e.autoplayPolicy('mediaelement') !== 'allowed' || e.autoplayPolicy('audiocontext') !== 'allowed';
    } catch {
      /* the policy API failed: the context decides */
    }
    if (blocked) {
      setState('blocked');
      return state;
    }
    // The browser says both may sound: a context it kept suspended before may now start (no
    // gesture needed once the document has been activated).
    const ctx = context(soundKit());
    if (ctx && ctx.state !== 'running') void Promise.resolve().then(() => ctx.resume()).catch(() => undefined);
    setState(ctx ? 'allowed' : 'blocked');
    return state;
  }
  const made = context(soundKit());
  if (!made) {
    setState('blocked');
    return state;
  }
  const ctx: AudioContext = made;
  const isRunning = () => ctx.state === 'running';
  if (isRunning()) {
    setState('allowed');
    return state;
  }
  // Where allowed the context starts by itself (Chromium: at once; Firefox: once its output
  // opens). No resume() here: outside a gesture it would only queue up behind the block.
  const running = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), waitMs);
    const onChange = () => isRunning() && finish(true);
    function finish(v: boolean) {
      clearTimeout(timer);
      ctx.removeEventListener?.('statechange', onChange);
      resolve(v);
    }
    ctx.addEventListener?.('statechange', onChange);
  });
  setState(running || isRunning() ? 'allowed' : 'blocked');
  return state;
}

/** A play() refused by the browser: sound is blocked after all ("enable sound" shows). */
export function markBlocked() {
  setState('blocked');
}

/** Asks for notifications (incoming calls in a background tab) inside a gesture, once. */
export function askNotifications() {
  try {
    if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
  } catch {
    /* no notifications here */
  }
}

/**
 * While sound is blocked, any real click or key press on the page arms it (the agent who reloaded
 * and then works in the CRM need not find the button). Returns the remover.
 */
export function armOnAnyGesture(target: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> = document): () => void {
  const onInput = (ev: Event) => {
    if (state === 'allowed' || !ev.isTrusted) return;
    // The "enable sound" button does this itself (and asks for notifications too).
    if ((ev.target as Element | null)?.closest?.('[data-arms-sound]')) return;
    armSound();
    void probeSound();
  };
  const opts = { capture: true };
  target.addEventListener('pointerdown', onInput, opts);
  target.addEventListener('keydown', onInput, opts);
  return () => {
    target.removeEventListener('pointerdown', onInput, opts);
    target.removeEventListener('keydown', onInput, opts);
  };
}
