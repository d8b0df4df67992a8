import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import { setLang, t } from '../../shared/i18n';
import { pageHarness } from '../../test/harness';
import { ShortcutsHelp, usePhoneShortcuts } from './PhoneShortcuts';
import { SHORTCUTS, isTypingTarget, shortcutFor, type KeyLike, type ShortcutAction } from './shortcuts';

const body = () => document.body;
const el = (html: string): HTMLElement => {
  const box = document.createElement('div');
  box.innerHTML = html;
  return box.firstElementChild as HTMLElement;
};
const press = (key: string, code: string, more: Partial<KeyLike> = {}): KeyLike => ({
  key, code, altKey: false, ctrlKey: false, metaKey: false, shiftKey: false, target: body(), ...more,
});

describe('the key → action mapping', () => {
  it('maps the plain letters and ? outside fields', () => {
    expect(shortcutFor(press('a', 'KeyA'))).toBe('answer');
    expect(shortcutFor(press('e', 'KeyE'))).toBe('hangup');
    expect(shortcutFor(press('m', 'KeyM'))).toBe('mute');
    expect(shortcutFor(press('h', 'KeyH'))).toBe('hold');
    expect(shortcutFor(press('d', 'KeyD'))).toBe('dialpad');
    expect(shortcutFor(press('?', 'Slash', { shiftKey: true }))).toBe('help');
  });

  it('typing in an input, a textarea, a select or contenteditable does nothing', () => {
    const fields = [
      el('<input type="text">'),
      el('<input>'),
      el('<input type="tel">'),
      el('<input type="search">'),
      el('<textarea></textarea>'),
      el('<select><option>x</option></select>'),
      el('<div contenteditable="true">note</div>'),
    ];
    const inside = el('<div contenteditable="true"><p><b>deep</b></p></div>').querySelector('b')!;
    for (const target of [...fields, inside]) {
      for (const [key, code] of [['a', 'KeyA'], ['e', 'KeyE'], ['m', 'KeyM'], ['h', 'KeyH'], ['d', 'KeyD']]) {
        expect(shortcutFor(press(key!, code!, { target })), `${key} in ${target.outerHTML}`).toBeNull();
      }
      expect(shortcutFor(press('?', 'Slash', { shiftKey: true, target })), `? in ${target.outerHTML}`).toBeNull();
    }
  });

  it('keys on buttons, checkboxes and links are still shortcuts', () => {
    for (const html of ['<button>x</button>', '<input type="checkbox">', '<a href="#">x</a>', '<div contenteditable="false">x</div>']) {
      expect(shortcutFor(press('m', 'KeyM', { target: el(html) })), html).toBe('mute');
    }
    expect(isTypingTarget(null)).toBe(false);
  });

  it('Alt+Shift+letter works in fields too (the deliberate combination)', () => {
    const input = el('<input type="text">');
    const note = el('<textarea></textarea>');
    expect(shortcutFor(press('M', 'KeyM', { altKey: true, shiftKey: true, target: input }))).toBe('mute');
    expect(shortcutFor(press('E', 'KeyE', { altKey: true, shiftKey: true, target: note }))).toBe('hangup');
    // macOS: Option+Shift+M types "Â"; the physical key decides.
    expect(shortcutFor(press('Â', 'KeyM', { altKey: true, shiftKey: true, target: input }))).toBe('mute');
    expect(shortcutFor(press('¿', 'Slash', { altKey: true, shiftKey: true, target: input }))).toBe('help');
  });

  it('never takes Ctrl, Meta, Alt alone, Shift+letter, auto-repeat or an IME composition', () => {
    expect(shortcutFor(press('m', 'KeyM', { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(press('m', 'KeyM', { metaKey: true }))).toBeNull();
    expect(shortcutFor(press('m', 'KeyM', { altKey: true }))).toBeNull();
    expect(shortcutFor(press('M', 'KeyM', { shiftKey: true }))).toBeNull();
    expect(shortcutFor(press('m', 'KeyM', { ctrlKey: true, altKey: true, shiftKey: true }))).toBeNull();
    expect(shortcutFor(press('m', 'KeyM', { repeat: true }))).toBeNull();
    expect(shortcutFor(press('m', 'KeyM', { isComposing: true }))).toBeNull();
    expect(shortcutFor(press('Process', 'KeyM'))).toBeNull();
    expect(shortcutFor(press('x', 'KeyX'))).toBeNull();
    expect(shortcutFor(press('/', 'Slash'))).toBeNull();
  });

  it('works on other layouts: a Cyrillic key by its position, a latin letter as typed', () => {
    expect(shortcutFor(press('ь', 'KeyM'))).toBe('mute');
    expect(shortcutFor(press('ф', 'KeyA'))).toBe('answer');
    // AZERTY: the key typing "a" sits where QWERTY has Q.
    expect(shortcutFor(press('a', 'KeyQ'))).toBe('answer');
    // Russian layout: Shift+7 types "?".
    expect(shortcutFor(press('?', 'Digit7', { shiftKey: true }))).toBe('help');
  });

  it('has one key per action', () => {
    const actions = SHORTCUTS.map((s) => s.action);
    expect(new Set(actions).size).toBe(actions.length);
    expect(new Set(SHORTCUTS.map((s) => s.code)).size).toBe(actions.length);
  });
});

const h = pageHarness();

function Listener({ seen, did = true }: { seen: ShortcutAction[]; did?: boolean }) {
  usePhoneShortcuts((a) => {
    seen.push(a);
    return did;
  });
  return <input type="text" data-testid="field" />;
}

const keydown = (target: EventTarget, init: KeyboardEventInit) => {
  const e = new KeyboardEvent('keydown', { bubbles: true, cancelable: true, ...init });
  act(() => {
    target.dispatchEvent(e);
  });
  return e;
};

describe('the shortcuts in the page', () => {
  it('runs the action for a key pressed on the page, not for typing in a field', () => {
    const seen: ShortcutAction[] = [];
    act(() => h.show(<Listener seen={seen} />));
    const e = keydown(document.body, { key: 'm', code: 'KeyM' });
    expect(seen).toEqual(['mute']);
    expect(e.defaultPrevented).toBe(true);
    const typed = keydown(h.q('[data-testid=field]')!, { key: 'm', code: 'KeyM' });
    expect(seen).toEqual(['mute']);
    expect(typed.defaultPrevented).toBe(false);
    keydown(h.q('[data-testid=field]')!, { key: 'M', code: 'KeyM', altKey: true, shiftKey: true });
    expect(seen).toEqual(['mute', 'mute']);
  });

  it('leaves the key to the page when the action does nothing in this state', () => {
    const seen: ShortcutAction[] = [];
    act(() => h.show(<Listener seen={seen} did={false} />));
    const e = keydown(document.body, { key: 'a', code: 'KeyA' });
    expect(seen).toEqual(['answer']);
    expect(e.defaultPrevented).toBe(false);
  });
});

describe('the help overlay', () => {
  it.each(['en', 'ru', 'zh'] as const)('lists every shortcut with its key and text (%s)', (lang) => {
    setLang(lang);
    h.show(<ShortcutsHelp onClose={() => undefined} />);
    const dialog = h.q('[role=dialog]')!;
    expect(dialog.textContent).toContain(t('keys.title'));
    const rows = [...h.q('[data-testid=shortcuts]')!.querySelectorAll('tbody tr')];
    expect(rows.map((r) => r.getAttribute('data-action'))).toEqual(SHORTCUTS.map((s) => s.action));
    for (const [i, s] of SHORTCUTS.entries()) {
      const row = rows[i]!;
      expect(row.querySelector('kbd')!.textContent).toBe(s.label);
      expect(row.textContent).toContain(t(s.text));
    }
    expect(dialog.textContent).toContain('Alt+Shift+M');
  });

  it('closes with its button', async () => {
    let closed = 0;
    h.show(<ShortcutsHelp onClose={() => (closed += 1)} />);
    await h.click(t('common.close'));
    expect(closed).toBeGreaterThan(0);
  });
});
