import { describe, expect, it } from 'vitest';
import { act } from 'preact/test-utils';
import { QueuesForm } from './QueuesForm';
import { CallFlow } from './CallFlow';
import { json, pageHarness } from '../../test/harness';
import { GROUPS } from '../../test/fixtures';
import type { FirstStep, Queue, TelUser } from '../../shared/api/types';

const h = pageHarness();

const tel = (user_id: number, name: string, extension: string): TelUser => ({
  user_id, name, login: name.toLowerCase(), extension, sip_login: `acme_${extension}`, accept_incoming: true, browser_calls: true,
  international: false, source: 'manual', online: { browser: true, desk: false }, disabled: false, state: 'available',
});
const USERS = [tel(7, 'Anna', '101'), tel(8, 'Boris', '102')];

const support = (): Queue => ({
  id: 5, name: 'Support', strategy: 'longest_idle', ring_secs: 15, max_wait_secs: 300, max_callers: 10, announce_position: true, callback: true,
  service_level_secs: 20, overflow: 'forward', overflow_number: '+74951112233', members: [{ user: 7 }, { group: 4 }],
});

/** A tenant with one queue and two lines: the first sends its calls to the queue, the second's user was deleted. */
function tenant() {
  const s = {
    queues: [support()],
    steps: [
      { id: 11, slot: 1, label: 'Main line', number: '+74950000000', step: 'queue', queue_id: 5, user_id: null, gone: false },
      { id: 12, slot: 2, label: 'Second line', number: null, step: 'user', queue_id: null, user_id: 99, gone: true },
    ] as FirstStep[],
  };
  h.serve((m, u, b) => {
    if (u === '/api/telephony/users') return json(200, USERS);
    if (u === '/api/groups') return json(200, GROUPS);
    if (u === '/api/telephony/queues' && m === 'GET') return json(200, s.queues);
    if (u === '/api/telephony/first-steps' && m === 'GET') return json(200, s.steps);
    if (u === '/api/telephony/menus' && m === 'GET') return json(200, []);
    if (u === '/api/telephony/queues' && m === 'POST') {
      if (b.members.some((x: { group?: number }) => x.group === 1)) {
        return json(422, { code: 'unknown_member', message: `members[${b.members.findIndex((x: { group?: number }) => x.group === 1)}]: no such telephony user or access group` });
      }
      if (s.queues.some((q) => q.name === b.name)) return json(409, { code: 'duplicate_name', message: `name: a queue named ${b.name} exists` });
      const q = { ...b, id: 6 } as Queue;
      s.queues = [...s.queues, q];
      return json(201, q);
    }
    if (u === '/api/telephony/queues/5' && m === 'PUT') {
      s.queues = [{ ...b, id: 5 }];
      return json(200, s.queues[0]);
    }
    if (u === '/api/telephony/queues/5' && m === 'DELETE') {
      s.queues = [];
      s.steps = s.steps.map((x) => (x.queue_id === 5 ? { ...x, queue_id: null, gone: true } : x));
      return new Response(null, { status: 204 });
    }
    const step = /^\/api\/telephony\/first-steps\/(\d+)$/.exec(u);
    if (step && m === 'PUT') {
      if (b.step === 'queue' && b.queue_id === 77) return json(422, { code: 'invalid_first_step', message: 'queue_id: no such queue' });
      s.steps = s.steps.map((x) => (x.id === Number(step[1]) ? { ...x, ...b, queue_id: b.queue_id ?? null, user_id: b.user_id ?? null, gone: false } : x));
      return new Response(null, { status: 204 });
    }
    return json(404, { code: 'not_found', message: 'no' });
  });
  return s;
}

const rows = () => [...h.root.querySelectorAll<HTMLTableRowElement>('[data-testid=queue-row]')];
const step = (trunk: number) => h.q<HTMLTableRowElement>(`[data-testid=first-step][data-trunk="${trunk}"]`)!;
const click = (sel: string) => act(() => h.q<HTMLElement>(sel)!.click());
async function choose(select: HTMLSelectElement, value: string) {
  await act(() => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

describe('the queues card', () => {
  it('lists queues with strategy, members and overflow, and creates one, keeping the input through refusals', async () => {
    tenant();
    h.show(<QueuesForm />);
    await h.until(() => rows().length === 1 && h.q('[data-testid=queue-members-summary]')?.textContent?.includes('Anna'));
    const row = rows()[0]!;
    expect(row.textContent).toContain('Support');
    expect(row.textContent).toContain('Longest idle');
    expect(row.querySelector('[data-testid=queue-members-summary]')!.textContent).toBe('Anna (101), Sales (group)');
    expect(row.textContent).toContain('Forward to +74951112233');
    expect(row.querySelector('[data-testid=queue-row-callback]')!.textContent).toBe('callbacks on');

    await click('[data-testid=queue-new]');
    expect(h.q<HTMLSelectElement>('[data-testid=queue-strategy]')!.value).toBe('ring_all');
    expect(h.q('[data-testid=queue-strategy-hint]')!.textContent).toContain('rings at once');
    expect(h.q('[data-testid=queue-overflow-number]')).toBeNull();
    expect(h.q<HTMLInputElement>('[data-testid=queue-callback]')!.checked).toBe(false);
    expect(h.q('[data-testid=queue-callback-hint]')!.textContent).toContain("the member's phone rings first and then the caller's number is dialled");
    await h.type('[data-testid=queue-name]', 'Support');
    await choose(h.q<HTMLSelectElement>('[data-testid=queue-strategy]')!, 'round_robin');
    expect(h.q('[data-testid=queue-strategy-hint]')!.textContent).toContain('in turn');
    await h.type('[data-testid=queue-ring]', '');
    await h.type('[data-testid=queue-max-wait]', '600');
    await click('[data-testid=queue-announce]');
    // Callbacks are offered with the place in line: without it, the editor says nobody hears the offer.
    await click('[data-testid=queue-callback]');
    expect(h.q('[data-testid=queue-callback-hint]')!.textContent).toContain('Callers hear the offer only with their place in line');
    await click('[data-testid=queue-callback]');
    expect(h.q('[data-testid=queue-callback-hint]')!.textContent).toContain('The offer is made with the place in line.');
    await choose(h.q<HTMLSelectElement>('[data-testid=queue-overflow]')!, 'forward');
    await h.type('[data-testid=queue-overflow-number]', '8 495 111-22-33');
    await click('[data-testid=queue-member-user-8]');
    await click('[data-testid=queue-member-group-1]');
    await click('[data-testid=queue-member-group-4]');

    // A ring time that is not a number is not sent.
    await click('[data-testid=queue-save]');
    await h.until(() => h.q('[data-testid=queue-editor]')?.textContent?.includes('Ring time per try, seconds: enter a whole number.'));
    expect(h.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
    await h.type('[data-testid=queue-ring]', '30');

    // The server names the member it refuses (members[1]: the Administrators group, deleted meanwhile).
    await click('[data-testid=queue-save]');
    await h.until(() => h.q('[data-testid=queue-editor]')?.textContent?.includes('Administrators (group) can no longer be a member: untick it'));
    await click('[data-testid=queue-member-group-1]');

    // A taken name: said in words, and everything typed is still there.
    await click('[data-testid=queue-save]');
    await h.until(() => h.q('[data-testid=queue-editor]')?.textContent?.includes('This name is already taken (name: a queue named Support exists)'));
    expect(h.q<HTMLInputElement>('[data-testid=queue-name]')!.value).toBe('Support');
    expect(h.q<HTMLInputElement>('[data-testid=queue-overflow-number]')!.value).toBe('8 495 111-22-33');
    expect(h.q<HTMLInputElement>('[data-testid=queue-member-user-8]')!.checked).toBe(true);
    expect(h.q<HTMLInputElement>('[data-testid=queue-member-group-4]')!.checked).toBe(true);

    await h.type('[data-testid=queue-name]', 'Sales line');
    await click('[data-testid=queue-save]');
    await h.until(() => rows().length === 2);
    expect(h.q('[data-testid=queue-editor]')).toBeNull();
    expect(h.q('[data-testid=queue-note]')!.textContent).toBe('Queue Sales line saved.');
    const posts = h.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(3);
    expect(posts.at(-1)!.body).toEqual({
      name: 'Sales line', strategy: 'round_robin', ring_secs: 30, max_wait_secs: 600, max_callers: 20, announce_position: false, callback: false,
      service_level_secs: 20, overflow: 'forward', overflow_number: '8 495 111-22-33', members: [{ user: 8 }, { group: 4 }],
    });
    expect(rows()[1]!.textContent).toContain('Round robin');
    expect(rows()[1]!.textContent).toContain('Boris (102), Sales (group)');
    expect(rows()[1]!.querySelector('[data-testid=queue-row-callback]')).toBeNull();
  });

  it('edits a queue with PUT, and deleting it leaves its line ringing everyone, shown as gone', async () => {
    tenant();
    h.show(<CallFlow />);
    await h.until(() => rows().length === 1 && step(11));
    expect(step(11).querySelector('[data-testid=first-step-gone]')).toBeNull();
    expect(step(11).querySelector<HTMLSelectElement>('select')!.value).toBe('queue:5');

    await act(() => rows()[0]!.querySelector<HTMLButtonElement>('[data-testid=queue-edit]')!.click());
    expect(h.q('[data-testid=queue-editor] h3')!.textContent).toBe('Queue Support');
    expect(h.q<HTMLSelectElement>('[data-testid=queue-strategy]')!.value).toBe('longest_idle');
    expect(h.q<HTMLInputElement>('[data-testid=queue-overflow-number]')!.value).toBe('+74951112233');
    expect(h.q<HTMLInputElement>('[data-testid=queue-member-user-7]')!.checked).toBe(true);
    expect(h.q<HTMLInputElement>('[data-testid=queue-callback]')!.checked).toBe(true);
    await click('[data-testid=queue-member-user-7]');
    await h.type('[data-testid=queue-service-level]', '30');
    await choose(h.q<HTMLSelectElement>('[data-testid=queue-overflow]')!, 'voicemail');
    expect(h.q('[data-testid=queue-overflow-number]')).toBeNull();
    await click('[data-testid=queue-save]');
    await h.until(() => rows()[0]?.textContent?.includes('Voicemail'));
    expect(h.requests.find((r) => r.method === 'PUT')!.body).toEqual({
      name: 'Support', strategy: 'longest_idle', ring_secs: 15, max_wait_secs: 300, max_callers: 10, announce_position: true, callback: true,
      service_level_secs: 30, overflow: 'voicemail', overflow_number: null, members: [{ group: 4 }],
    });

    await act(() => rows()[0]!.querySelector<HTMLButtonElement>('[data-testid=queue-delete]')!.click());
    expect(h.q('.dialog')!.textContent).toContain('Delete the queue Support?');
    await act(() => h.q<HTMLButtonElement>('.dialog .btn--danger')!.click());
    await h.until(() => step(11)?.querySelector('[data-testid=first-step-gone]'));
    expect(rows()).toHaveLength(0);
    expect(h.root.textContent).toContain('No queues yet.');
    expect(step(11).textContent).toContain('The queue, user or menu chosen for this line was deleted: calls ring everyone.');
    // Read at first, after the edit and after the delete.
    expect(h.requests.filter((r) => r.method === 'GET' && r.url === '/api/telephony/first-steps')).toHaveLength(3);
  });
});

describe('the first steps card', () => {
  it('sends a line to a queue or a user, warns of a deleted choice and keeps a refused one', async () => {
    const s = tenant();
    s.queues = [support(), { ...support(), id: 77, name: 'Night' }];
    h.show(<CallFlow />);
    await h.until(() => step(12));
    expect(step(11).textContent).toContain('Main line');
    expect(step(11).textContent).toContain('+74950000000');
    expect(step(12).dataset.gone).toBe('true');
    expect(step(12).querySelector('[data-testid=first-step-gone]')!.textContent).toContain(
      'The queue, user or menu chosen for this line was deleted: calls ring everyone.');
    const second = step(12).querySelector<HTMLSelectElement>('select')!;
    const saveSecond = step(12).querySelector<HTMLButtonElement>('[data-testid=first-step-save]')!;
    expect(second.value).toBe('');
    expect(saveSecond.disabled).toBe(true);
    expect([...second.options].map((o) => o.textContent)).toEqual(['— choose again —', 'Ring everyone', 'Support', 'Night', 'Anna (101)', 'Boris (102)']);

    await choose(second, 'user:8');
    expect(saveSecond.disabled).toBe(false);
    await act(() => saveSecond.click());
    await h.until(() => (step(12).dataset.gone === undefined ? step(12) : null));
    expect(h.requests.find((r) => r.method === 'PUT')).toMatchObject({ url: '/api/telephony/first-steps/12', body: { step: 'user', user_id: 8 } });
    expect(step(12).querySelector<HTMLSelectElement>('select')!.value).toBe('user:8');
    expect(h.root.textContent).toContain('Saved: Second line.');

    // The server refuses a queue deleted meanwhile: said in words, the choice stays.
    const first = step(11).querySelector<HTMLSelectElement>('select')!;
    await choose(first, 'queue:77');
    await act(() => step(11).querySelector<HTMLButtonElement>('[data-testid=first-step-save]')!.click());
    await h.until(() => h.q('[data-testid=first-steps]')!.textContent?.includes('This first step is refused (queue_id: no such queue)'));
    expect(step(11).querySelector<HTMLSelectElement>('select')!.value).toBe('queue:77');

    await choose(first, 'ring_all');
    await act(() => step(11).querySelector<HTMLButtonElement>('[data-testid=first-step-save]')!.click());
    await h.until(() => h.requests.some((r) => r.method === 'PUT' && r.url === '/api/telephony/first-steps/11' && r.body.step === 'ring_all'));
    expect(h.requests.filter((r) => r.method === 'PUT').at(-1)!.body).toEqual({ step: 'ring_all' });
  });
});
