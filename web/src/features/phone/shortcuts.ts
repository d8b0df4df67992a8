/**
 * The phone's keyboard shortcuts as a pure mapping from a key press to an action (the panel runs
 * the action: PhoneShortcuts.tsx).
 *
 * - Plain letters (A answer, E hang up / decline, M mute, H hold, D the dialpad) and `?` (this
 *   list) work anywhere on the page except while the user types: in an input, a textarea, a select
 *   or anything contenteditable they are the user's text.
 * - The deliberate combination Alt+Shift+letter works everywhere, fields included: an agent typing
 *   a call note can still mute or hang up. Ctrl and Meta combinations are never taken (the
 *   browser's and the system's), nor Alt alone (menus; AltGr on many layouts is Ctrl+Alt).
 * - A latin letter counts as typed (`KeyboardEvent.key`: AZERTY's A is A); on a layout without
 *   latin letters (Russian) the physical key of the US layout counts (`code`), so ф is A. An IME
 *   composition (Chinese input) and auto-repeat never fire.
 */
import type { MessageKey } from '../../shared/i18n';

export type ShortcutAction = 'answer' | 'hangup' | 'mute' | 'hold' | 'dialpad' | 'help';

export interface Shortcut {
  action: ShortcutAction;
  /** The physical key (`KeyboardEvent.code`). */
  code: string;
  /** The key as the help list shows it. */
  label: string;
  /** What it does, for the help list. */
  text: MessageKey;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { action: 'answer', code: 'KeyA', label: 'A', text: 'keys.answer' },
  { action: 'hangup', code: 'KeyE', label: 'E', text: 'keys.hangup' },
  { action: 'mute', code: 'KeyM', label: 'M', text: 'keys.mute' },
  { action: 'hold', code: 'KeyH', label: 'H', text: 'keys.hold' },
  { action: 'dialpad', code: 'KeyD', label: 'D', text: 'keys.dialpad' },
  { action: 'help', code: 'Slash', label: '?', text: 'keys.help' },
];

/** Held with a shortcut's key, it works in text fields too. */
export const FIELD_MODIFIER = 'Alt+Shift';

/** What the mapping reads of a KeyboardEvent (tests build these by hand). */
export interface KeyLike {
  key: string;
  code: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  repeat?: boolean;
  isComposing?: boolean;
  target: EventTarget | null;
}

/** Inputs whose keys are not text: a shortcut pressed on them is still a shortcut. */
const NOT_TEXT = new Set(['button', 'submit', 'reset', 'checkbox', 'radio', 'range', 'color', 'file', 'image']);

/** Whether keys pressed on `target` are the user's typing. */
export function isTypingTarget(target: EventTarget | null): boolean {
  const el = target as (Partial<HTMLElement> & { tagName?: string; type?: string }) | null;
  if (!el || typeof el.tagName !== 'string') return false;
  const tag = el.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  if (tag === 'input') return !NOT_TEXT.has(String(el.type ?? 'text').toLowerCase());
  if (el.isContentEditable) return true;
  // jsdom and detached nodes do not compute isContentEditable: read the attribute up the tree.
  const editable = el.closest?.('[contenteditable]');
  return !!editable && editable.getAttribute('contenteditable') !== 'false';
}

/** The action of a key press, or null when it is none (or belongs to the user's typing). */
export function shortcutFor(e: KeyLike): ShortcutAction | null {
  if (e.isComposing || e.repeat || e.key === 'Process') return null;
  if (e.ctrlKey || e.metaKey) return null;
  const combo = e.altKey && e.shiftKey;
  if (e.altKey && !combo) return null;
  if (!combo && isTypingTarget(e.target)) return null;
  if (!combo && e.key === '?') return 'help';
  // A latin letter is taken as typed (AZERTY's A is A); any other character (a Cyrillic layout,
  // macOS's Option symbols) by the physical key.
  const letter = /^[a-z]$/i.test(e.key) ? e.key.toUpperCase() : null;
  const s = letter ? SHORTCUTS.find((x) => x.label === letter) : SHORTCUTS.find((x) => x.code === e.code);
  if (!s) return null;
  if (s.action === 'help') return combo ? 'help' : null;
  // Shift+A is a capital letter, not A.
  if (e.shiftKey && !combo) return null;
  return s.action;
}
