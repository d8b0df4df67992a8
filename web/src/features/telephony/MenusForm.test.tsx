import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { MenusForm } from './MenusForm';
import { CallFlow } from './CallFlow';
import { json, pageHarness } from '../../test/harness';
import { GROUPS } from '../../test/fixtures';
import { setLang } from '../../shared/i18n';
import type { FirstStep, Menu, MenuBody, Queue, TelUser } from '../../shared/api/types';

const h = pageHarness();

const tel = (user_id: number, name: string, extension: string): TelUser => ({
  user_id, name, login: name.toLowerCase(), extension, sip_login: `acme_${extension}`, accept_incoming: true, browser_calls: true,
  international: false, source: 'manual', online: { browser: true, desk: false }, disabled: false, state: 'available',
});
const USERS = [tel(21, 'Maria', '201'), tel(22, 'Oleg', '202')];

const queue = (id: number, name: string): Queue => ({
  id, name, strategy: 'ring_all', ring_secs: 20, max_wait_secs: 300, max_callers: 20, announce_position: true, callback: false,
  service_level_secs: 20, overflow: 'missed', overflow_number: null, members: [{ user: 21 }],
});

/**
 * A tenant with two queues and two menus: Main (greeting; 1 → Support, 2 → Maria, 9 → a number;
 * fallback: the Sales menu), and the Sales menu, whose digit 1 led to a queue deleted since and
 * whose 0 goes back to Main. Line 11 starts in Main, line 12 rings everyone.
 */
function tenant() {
  const s = {
    queues: [queue(7, 'Support'), queue(8, 'Billing')],
    menus: [
      {
        id: 3, name: 'Main', greeting: true, timeout_secs: 5, retries: 2, fallback: 'menu:4', fallback_gone: false,
        options: [{ digit: '1', to: 'queue:7', gone: false }, { digit: '2', to: 'user:21', gone: false }, { digit: '9', to: 'number:+74951112233', gone: false }],
      },
      {
        id: 4, name: 'Sales menu', greeting: false, timeout_secs: 5, retries: 2, fallback: 'hangup', fallback_gone: false,
        options: [{ digit: '0', to: 'menu:3', gone: false }, { digit: '1', to: 'queue:', gone: true }, { digit: '2', to: 'voicemail', gone: false }],
      },
    ] as Menu[],
    steps: [
      { id: 11, slot: 1, label: 'Main line', number: '+74950000000', step: 'menu', queue_id: null, user_id: null, menu_id: 3, gone: false },
      { id: 12, slot: 2, label: 'Second line', number: null, step: 'ring_all', queue_id: null, user_id: null, menu_id: null, gone: false },
    ] as FirstStep[],
  };
  const stored = (id: number, b: MenuBody, old?: Menu): Menu => ({
    id, name: b.name, greeting: old?.greeting ?? false, timeout_secs: b.timeout_secs!, retries: b.retries!, fallback: b.fallback!,
    fallback_gone: false, options: b.options!.map((o) => ({ ...o, gone: false })),
  });
  // What a deleted queue or menu leaves behind: `queue:` / `menu:`, gone.
  const forget = (to: string) => {
    const kind = to.split(':')[0]!;
    s.menus = s.menus.map((m) => ({
      ...m,
      fallback: m.fallback === to ? `${kind}:` : m.fallback,
      fallback_gone: m.fallback_gone || m.fallback === to,
      options: m.options.map((o) => (o.to === to ? { ...o, to: `${kind}:`, gone: true } : o)),
    }));
  };
  h.serve((m, u, b) => {
    if (u === '/api/telephony/users') return json(200, USERS);
    if (u === '/api/groups') return json(200, GROUPS);
    if (u === '/api/telephony/queues' && m === 'GET') return json(200, s.queues);
    if (u === '/api/telephony/menus' && m === 'GET') return json(200, s.menus);
    if (u === '/api/telephony/first-steps' && m === 'GET') return json(200, s.steps);
    if (u === '/api/telephony/menus' && m === 'POST') {
      const twice = (b as MenuBody).options!.findIndex((o, i, all) => all.findIndex((x) => x.digit === o.digit) < i);
      if (twice >= 0) return json(422, { code: 'duplicate_digit', message: `options[${twice}].digit: ${b.options[twice].digit} is used twice` });
      if (s.menus.some((x) => x.name === b.name)) return json(409, { code: 'duplicate_name', message: `name: a menu named ${b.name} exists` });
      const made = stored(5, b);
      s.menus = [...s.menus, made];
      return json(201, made);
    }
    const one = /^\/api\/telephony\/menus\/(\d+)$/.exec(u);
    if (one && m === 'PUT') {
      const id = Number(one[1]);
      if (id === 4 && b.fallback === 'menu:3') return json(422, { code: 'menu_loop', message: "fallback: the menus' fallbacks lead back to this menu" });
      const made = stored(id, b, s.menus.find((x) => x.id === id));
      s.menus = s.menus.map((x) => (x.id === id ? made : x));
      return json(200, made);
    }
    if (one && m === 'DELETE') {
      const id = Number(one[1]);
      s.menus = s.menus.filter((x) => x.id !== id);
      forget(`menu:${id}`);
      s.steps = s.steps.map((x) => (x.menu_id === id ? { ...x, menu_id: null, gone: true } : x));
      return new Response(null, { status: 204 });
    }
    const greeting = /^\/api\/telephony\/menus\/(\d+)\/greeting$/.exec(u);
    if (greeting && m === 'PUT') {
      const file = b as File;
      if (file.size === 0) return json(422, { code: 'empty_greeting', message: 'send the greeting file (MP3 or WAV) as the request body' });
      if (file.name === 'noise.wav') return json(422, { code: 'invalid_greeting', message: 'not audio' });
      s.menus = s.menus.map((x) => (x.id === Number(greeting[1]) ? { ...x, greeting: true } : x));
      return json(200, { duration_ms: 4200 });
    }
    if (greeting && m === 'DELETE') {
      s.menus = s.menus.map((x) => (x.id === Number(greeting[1]) ? { ...x, greeting: false } : x));
      return new Response(null, { status: 204 });
    }
    if (u === '/api/telephony/queues/7' && m === 'DELETE') {
      s.queues = s.queues.filter((q) => q.id !== 7);
      forget('queue:7');
      return new Response(null, { status: 204 });
    }
    const step = /^\/api\/telephony\/first-steps\/(\d+)$/.exec(u);
    if (step && m === 'PUT') {
      s.steps = s.steps.map((x) => (x.id === Number(step[1]) ? { ...x, ...b, gone: false } : x));
      return new Response(null, { status: 204 });
    }
    return json(404, { code: 'not_found', message: 'no' });
  });
  return s;
}

const rows = () => [...h.root.querySelectorAll<HTMLTableRowElement>('[data-testid=menu-row]')];
const row = (name: string) => rows().find((r) => r.querySelector('strong')?.textContent === name);
const options = () => [...h.root.querySelectorAll<HTMLTableRowElement>('[data-testid=menu-option]')];
const editor = () => h.q('[data-testid=menu-editor]');
const click = (sel: string) => act(() => h.q<HTMLElement>(sel)!.click());
const step = (trunk: number) => h.q<HTMLTableRowElement>(`[data-testid=first-step][data-trunk="${trunk}"]`)!;
const texts = (select: HTMLSelectElement) => [...select.options].map((o) => o.textContent);
async function choose(select: HTMLSelectElement, value: string) {
  await act(() => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}
/** In option row `i`: its digit, kind or target control. */
const inRow = <T extends HTMLElement>(i: number, what: 'digit' | 'kind' | 'target') =>
  options()[i]!.querySelector<T>(`[data-testid=menu-option-${what}]`)!;
async function typeIn(input: HTMLInputElement, value: string) {
  await act(() => {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}
async function chooseFile(file: File) {
  const input = h.q<HTMLInputElement>('[data-testid=menu-greeting-file]')!;
  Object.defineProperty(input, 'files', { value: [file], configurable: true });
  await act(() => {
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });
}
const mp3 = (name = 'welcome.mp3') => new File(['ID3 not really audio'], name, { type: 'audio/mpeg' });

describe('the menus card', () => {
  it('lists menus in words, warns of a deleted destination, and choosing again saves it with PUT', async () => {
    tenant();
    h.show(<MenusForm />);
    await h.until(() => row('Main')?.textContent?.includes('Maria'));
    const main = row('Main')!;
    expect(main.querySelector('[data-testid=menu-greeting]')!.textContent).toBe('Uploaded');
    expect(main.querySelector('[data-testid=menu-digits]')!.textContent).toBe('1 → Queue Support, 2 → Maria, 9 → +74951112233');
    expect(main.querySelector('[data-testid=menu-fallback-summary]')!.textContent).toBe('Menu Sales menu');
    expect(main.textContent).toContain('waits 5 s for a digit · retries: 2');
    expect(main.querySelector('[data-testid=menu-gone]')).toBeNull();
    const sales = row('Sales menu')!;
    expect(sales.querySelector('[data-testid=menu-greeting]')!.textContent).toBe('None');
    expect(sales.querySelector('[data-testid=menu-digits]')!.textContent).toBe('0 → Menu Main, 1 → deleted (rings everyone), 2 → Voicemail');
    expect(sales.querySelector('[data-testid=menu-fallback-summary]')!.textContent).toBe('Hang up');
    expect(sales.dataset.gone).toBe('true');
    expect(sales.querySelector('[data-testid=menu-gone]')!.textContent).toContain('was deleted');

    await act(() => sales.querySelector<HTMLButtonElement>('[data-testid=menu-edit]')!.click());
    expect(h.q('[data-testid=menu-editor] h3')!.textContent).toBe('Menu Sales menu');
    expect(options().map((r) => r.dataset.digit)).toEqual(['0', '1', '2']);
    // The deleted queue: still a queue, nothing chosen, said so in the row.
    expect(inRow<HTMLSelectElement>(1, 'kind').value).toBe('queue');
    const target = inRow<HTMLSelectElement>(1, 'target');
    expect(target.value).toBe('');
    expect(texts(target)).toEqual(['— choose again —', 'Support', 'Billing']);
    expect(options()[1]!.querySelector('[data-testid=menu-option-gone]')).not.toBeNull();
    expect(options()[2]!.querySelector('[data-testid=menu-option-target]')).toBeNull();

    // Saving without choosing is stopped here, naming the digit.
    await click('[data-testid=menu-save]');
    expect(editor()!.textContent).toContain('Digit 1: choose where it leads.');
    expect(options()[1]!.dataset.invalid).toBe('true');
    expect(h.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);

    await choose(target, '8');
    expect(options()[1]!.querySelector('[data-testid=menu-option-gone]')).toBeNull();
    await click('[data-testid=menu-save]');
    await h.until(() => (row('Sales menu')?.dataset.gone === undefined ? row('Sales menu') : null));
    expect(h.requests.find((r) => r.method === 'PUT')).toMatchObject({
      url: '/api/telephony/menus/4',
      body: {
        name: 'Sales menu', timeout_secs: 5, retries: 2, fallback: 'hangup',
        options: [{ digit: '0', to: 'menu:3' }, { digit: '1', to: 'queue:8' }, { digit: '2', to: 'voicemail' }],
      },
    });
    expect(editor()).toBeNull();
    expect(h.q('[data-testid=menu-note]')!.textContent).toBe('Menu Sales menu saved.');
    expect(row('Sales menu')!.querySelector('[data-testid=menu-digits]')!.textContent).toBe('0 → Menu Main, 1 → Queue Billing, 2 → Voicemail');
  });

  it('creates a menu keeping everything typed through refusals, then uploads its greeting', async () => {
    tenant();
    h.show(<MenusForm />);
    await h.until(() => rows().length === 2);
    await click('[data-testid=menu-new]');
    expect(h.q<HTMLInputElement>('[data-testid=menu-timeout]')!.value).toBe('5');
    expect(h.q<HTMLInputElement>('[data-testid=menu-retries]')!.value).toBe('2');
    expect(h.q<HTMLSelectElement>('[data-testid=menu-fallback-kind]')!.value).toBe('ring_all');
    expect(h.q('[data-testid=menu-fallback-target]')).toBeNull();
    await h.type('[data-testid=menu-name]', 'Main');

    for (let i = 0; i < 5; i++) await click('[data-testid=menu-option-add]');
    expect(options().map((r) => inRow<HTMLSelectElement>(options().indexOf(r), 'digit').value)).toEqual(['1', '2', '3', '4', '5']);
    expect(texts(inRow(0, 'digit'))).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#']);
    expect(texts(inRow(0, 'kind'))).toEqual(['Ring everyone', 'Queue', 'User', 'Another menu', 'Number', 'Voicemail']);
    await choose(inRow(0, 'kind'), 'queue');
    expect(inRow<HTMLSelectElement>(0, 'target').value).toBe('7');
    await choose(inRow(1, 'kind'), 'user');
    expect(texts(inRow(1, 'target'))).toEqual(['Maria (201)', 'Oleg (202)']);
    await choose(inRow(1, 'target'), '21');
    await choose(inRow(2, 'kind'), 'menu');
    expect(texts(inRow(2, 'target'))).toEqual(['Main', 'Sales menu']);
    await choose(inRow(2, 'target'), '4');
    await choose(inRow(3, 'kind'), 'number');
    await choose(inRow(4, 'kind'), 'voicemail');
    await click('[data-testid=menu-option-add]');
    await choose(inRow(5, 'kind'), 'menu');
    await act(() => options()[5]!.querySelector<HTMLButtonElement>('[data-testid=menu-option-remove]')!.click());
    expect(options()).toHaveLength(5);
    expect(texts(h.q<HTMLSelectElement>('[data-testid=menu-fallback-kind]')!)).toContain('Hang up');
    await choose(h.q<HTMLSelectElement>('[data-testid=menu-fallback-kind]')!, 'hangup');
    await chooseFile(mp3());
    expect(h.q('[data-testid=menu-greeting-status]')!.textContent).toBe('welcome.mp3 will be uploaded when the menu is saved.');

    // Checked here, nothing sent: a timeout that is not a number, a number not typed.
    await h.type('[data-testid=menu-timeout]', '');
    await click('[data-testid=menu-save]');
    expect(editor()!.textContent).toContain('Wait for a digit, seconds: enter a whole number.');
    await h.type('[data-testid=menu-timeout]', '8');
    await h.type('[data-testid=menu-retries]', '3');
    await click('[data-testid=menu-save]');
    expect(editor()!.textContent).toContain('Digit 4: choose where it leads.');
    expect(options()[3]!.dataset.invalid).toBe('true');
    await typeIn(inRow(3, 'target'), '+7 495 111-22-33');
    expect(h.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);

    // The server refuses a digit used twice: the row is marked, and the message names the digit.
    await choose(inRow(1, 'digit'), '1');
    await click('[data-testid=menu-save]');
    await h.until(() => editor()?.textContent?.includes('Digit 1: Each digit can lead to one place only (1 is used twice).'));
    expect(options()[1]!.dataset.invalid).toBe('true');
    expect(options()[1]!.querySelector('[data-testid=menu-option-error]')).not.toBeNull();
    expect(options()[0]!.dataset.invalid).toBeUndefined();
    await choose(inRow(1, 'digit'), '2');

    // A taken name: said in words, and everything typed is still there.
    await click('[data-testid=menu-save]');
    await h.until(() => editor()?.textContent?.includes('This name is already taken (name: a menu named Main exists)'));
    expect(h.q<HTMLInputElement>('[data-testid=menu-timeout]')!.value).toBe('8');
    expect(inRow<HTMLSelectElement>(1, 'target').value).toBe('21');
    expect(inRow<HTMLInputElement>(3, 'target').value).toBe('+7 495 111-22-33');
    expect(h.q('[data-testid=menu-greeting-status]')!.textContent).toBe('welcome.mp3 will be uploaded when the menu is saved.');
    expect(h.requests.filter((r) => r.url.endsWith('/greeting'))).toHaveLength(0);

    await h.type('[data-testid=menu-name]', 'Reception');
    await click('[data-testid=menu-save]');
    await h.until(() => (editor() ? null : row('Reception')));
    const posts = h.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(3);
    expect(posts.at(-1)!.body).toEqual({
      name: 'Reception', timeout_secs: 8, retries: 3, fallback: 'hangup',
      options: [
        { digit: '1', to: 'queue:7' }, { digit: '2', to: 'user:21' }, { digit: '3', to: 'menu:4' },
        { digit: '4', to: 'number:+7 495 111-22-33' }, { digit: '5', to: 'voicemail' },
      ],
    });
    const upload = h.requests.find((r) => r.url === '/api/telephony/menus/5/greeting')!;
    expect(upload.method).toBe('PUT');
    expect(upload.headers['Content-Type']).toBe('audio/mpeg');
    expect((upload.body as File).name).toBe('welcome.mp3');
    expect(h.q('[data-testid=menu-note]')!.textContent).toBe('Menu Reception saved. Greeting uploaded (4.2 s).');
    await h.until(() => row('Reception')?.querySelector('[data-testid=menu-greeting]')?.textContent === 'Uploaded');
    expect(row('Reception')!.querySelector('[data-testid=menu-digits]')!.textContent).toBe(
      '1 → Queue Support, 2 → Maria, 3 → Menu Sales menu, 4 → +7 495 111-22-33, 5 → Voicemail');
    expect(row('Reception')!.querySelector('[data-testid=menu-fallback-summary]')!.textContent).toBe('Hang up');
  });

  it('edits a menu: no digit leads to itself, a refused fallback is marked, the greeting uploads on choose', async () => {
    tenant();
    h.show(<MenusForm />);
    await h.until(() => row('Sales menu'));
    await act(() => row('Sales menu')!.querySelector<HTMLButtonElement>('[data-testid=menu-edit]')!.click());
    // Another menu: every menu but this one.
    expect(texts(inRow(0, 'target'))).toEqual(['Main']);
    expect(h.q('[data-testid=menu-greeting-status]')!.textContent).toBe('No greeting yet.');
    expect(h.q('[data-testid=menu-greeting-remove]')).toBeNull();

    await choose(inRow(1, 'kind'), 'ring_all');
    await choose(h.q<HTMLSelectElement>('[data-testid=menu-fallback-kind]')!, 'menu');
    expect(h.q<HTMLSelectElement>('[data-testid=menu-fallback-target]')!.value).toBe('3');
    await click('[data-testid=menu-save]');
    await h.until(() => editor()?.textContent?.includes(
      "Fallback: Callers would go round in a circle back to this menu (the menus' fallbacks lead back to this menu). Choose another destination."));
    expect(h.q('[data-testid=menu-fallback]')!.dataset.invalid).toBe('true');
    expect(h.q('[data-testid=menu-fallback-error]')).not.toBeNull();
    expect(h.q<HTMLSelectElement>('[data-testid=menu-fallback-kind]')!.value).toBe('menu');
    expect(inRow<HTMLSelectElement>(1, 'kind').value).toBe('ring_all');

    // An existing menu's greeting goes as soon as it is chosen; a refused file is said in words.
    await chooseFile(new File(['junk'], 'noise.wav', { type: 'audio/wav' }));
    await h.until(() => h.q('[data-testid=menu-greeting-error]'));
    expect(h.q('[data-testid=menu-greeting-error]')!.textContent).toBe('The greeting must be an MP3 or WAV file of at most 2 minutes.');
    const refused = h.requests.filter((r) => r.url === '/api/telephony/menus/4/greeting').at(-1)!;
    expect(refused).toMatchObject({ method: 'PUT' });
    expect(refused.headers['Content-Type']).toBe('audio/wav');
    const big = mp3('long.mp3');
    Object.defineProperty(big, 'size', { value: 11 * 1024 * 1024 });
    await chooseFile(big);
    expect(h.q('[data-testid=menu-greeting-error]')!.textContent).toBe('The file is larger than 10 MB: choose a shorter recording.');
    expect(h.requests.filter((r) => r.url.endsWith('/greeting'))).toHaveLength(1);
    await chooseFile(mp3());
    await h.until(() => h.q('[data-testid=menu-greeting-status]')?.textContent === 'Greeting uploaded (4.2 s).');
    expect(h.q('[data-testid=menu-greeting-error]')).toBeNull();
    await h.until(() => row('Sales menu')?.querySelector('[data-testid=menu-greeting]')?.textContent === 'Uploaded');
    // What was typed before the upload is still there.
    expect(h.q<HTMLSelectElement>('[data-testid=menu-fallback-kind]')!.value).toBe('menu');

    await click('[data-testid=menu-greeting-remove]');
    await h.until(() => h.q('[data-testid=menu-greeting-status]')?.textContent === 'Greeting removed.');
    expect(h.requests.some((r) => r.method === 'DELETE' && r.url === '/api/telephony/menus/4/greeting')).toBe(true);
    await h.until(() => row('Sales menu')?.querySelector('[data-testid=menu-greeting]')?.textContent === 'None');
    expect(h.q('[data-testid=menu-greeting-remove]')).toBeNull();

    await choose(h.q<HTMLSelectElement>('[data-testid=menu-fallback-kind]')!, 'number');
    await typeIn(h.q<HTMLInputElement>('[data-testid=menu-fallback-target]')!, '+74957654321');
    await click('[data-testid=menu-save]');
    await h.until(() => (editor() ? null : row('Sales menu')));
    expect(h.requests.filter((r) => r.method === 'PUT' && r.url === '/api/telephony/menus/4').at(-1)!.body).toEqual({
      name: 'Sales menu', timeout_secs: 5, retries: 2, fallback: 'number:+74957654321',
      options: [{ digit: '0', to: 'menu:3' }, { digit: '1', to: 'ring_all' }, { digit: '2', to: 'voicemail' }],
    });
    expect(row('Sales menu')!.querySelector('[data-testid=menu-fallback-summary]')!.textContent).toBe('+74957654321');
  });

  it('a new menu whose greeting is refused stays saved and open, and saves again with PUT', async () => {
    tenant();
    h.show(<MenusForm />);
    await h.until(() => rows().length === 2);
    await click('[data-testid=menu-new]');
    await h.type('[data-testid=menu-name]', 'Night');
    await chooseFile(new File([], 'empty.mp3', { type: 'audio/mpeg' }));
    await click('[data-testid=menu-save]');
    await h.until(() => h.q('[data-testid=menu-greeting-error]'));
    expect(h.q('[data-testid=menu-greeting-error]')!.textContent).toBe(
      'The menu is saved, but its greeting is not: The file is empty: choose an MP3 or WAV recording.');
    await h.until(() => row('Night'));
    expect(h.q('[data-testid=menu-editor] h3')!.textContent).toBe('Menu Night');
    expect(h.q<HTMLInputElement>('[data-testid=menu-name]')!.value).toBe('Night');
    expect(h.q('[data-testid=menu-greeting-status]')!.textContent).toBe('No greeting yet.');

    await h.type('[data-testid=menu-retries]', '0');
    await click('[data-testid=menu-save]');
    await h.until(() => (editor() ? null : row('Night')));
    expect(h.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(h.requests.find((r) => r.method === 'PUT' && r.url === '/api/telephony/menus/5')!.body).toEqual({
      name: 'Night', timeout_secs: 5, retries: 0, fallback: 'ring_all', options: [],
    });
    expect(row('Night')!.querySelector('[data-testid=menu-digits]')!.textContent).toBe('No digits');
  });

  it('speaks Russian', async () => {
    tenant();
    setLang('ru');
    h.show(<MenusForm />);
    await h.until(() => row('Main')?.textContent?.includes('Maria'));
    expect(h.q('[data-testid=menus] h2')!.textContent).toBe('Голосовые меню (IVR)');
    expect(row('Main')!.querySelector('[data-testid=menu-digits]')!.textContent).toBe('1 → Очередь «Support», 2 → Maria, 9 → +74951112233');
    expect(row('Main')!.querySelector('[data-testid=menu-greeting]')!.textContent).toBe('Загружено');
    expect(row('Sales menu')!.querySelector('[data-testid=menu-fallback-summary]')!.textContent).toBe('Завершить звонок');
    expect(row('Sales menu')!.querySelector('[data-testid=menu-gone]')!.textContent).toContain('Откройте меню и выберите заново');
  });
});

describe('menus with the queues and the first steps', () => {
  it('offers menus as a first step, and a deleted menu or queue shows as gone where it was chosen', async () => {
    tenant();
    h.show(<CallFlow />);
    await h.until(() => step(12) && row('Main'));
    const first = step(11).querySelector<HTMLSelectElement>('select')!;
    expect(first.value).toBe('menu:3');
    expect(texts(first)).toEqual(['Ring everyone', 'Support', 'Billing', 'Main', 'Sales menu', 'Maria (201)', 'Oleg (202)']);
    const second = step(12).querySelector<HTMLSelectElement>('select')!;
    await choose(second, 'menu:4');
    await act(() => step(12).querySelector<HTMLButtonElement>('[data-testid=first-step-save]')!.click());
    await h.until(() => h.requests.some((r) => r.method === 'PUT' && r.url === '/api/telephony/first-steps/12'));
    expect(h.requests.find((r) => r.method === 'PUT')!.body).toEqual({ step: 'menu', menu_id: 4 });

    // A new menu is offered at once.
    await click('[data-testid=menu-new]');
    await h.type('[data-testid=menu-name]', 'Holidays');
    await click('[data-testid=menu-save]');
    await h.until(() => texts(step(11).querySelector('select')!).includes('Holidays'));

    // A deleted queue: the menus are read again and show the digit that led to it as gone.
    await act(() => h.q('[data-testid=queue-row][data-queue="7"]')!.querySelector<HTMLButtonElement>('[data-testid=queue-delete]')!.click());
    await act(() => h.q<HTMLButtonElement>('.dialog .btn--danger')!.click());
    await h.until(() => row('Main')?.querySelector('[data-testid=menu-gone]'));
    expect(row('Main')!.querySelector('[data-testid=menu-digits]')!.textContent).toBe(
      '1 → deleted (rings everyone), 2 → Maria, 9 → +74951112233');

    await act(() => row('Main')!.querySelector<HTMLButtonElement>('[data-testid=menu-delete]')!.click());
    expect(h.q('.dialog')!.textContent).toContain('Delete the menu Main?');
    await act(() => h.q<HTMLButtonElement>('.dialog .btn--danger')!.click());
    await h.until(() => step(11).querySelector('[data-testid=first-step-gone]'));
    expect(h.requests.filter((r) => r.method === 'DELETE').at(-1)!.url).toBe('/api/telephony/menus/3');
    expect(row('Main')).toBeUndefined();
    expect(step(11).querySelector<HTMLSelectElement>('select')!.value).toBe('');
    expect(row('Sales menu')!.querySelector('[data-testid=menu-digits]')!.textContent).toBe(
      '0 → deleted (rings everyone), 1 → deleted (rings everyone), 2 → Voicemail');
    // Read at first, after the first step was saved, after the new menu, the deleted queue and the deleted menu.
    expect(h.requests.filter((r) => r.method === 'GET' && r.url === '/api/telephony/first-steps')).toHaveLength(5);
  });
});
