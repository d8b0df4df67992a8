import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it } from 'vitest';
import { GroupsPage } from './GroupsPage';
import { GROUPS } from '../../test/fixtures';
import { flush, json, pageHarness } from '../../test/harness';

const h = pageHarness();
const { serve, until, click, button } = h;

describe('GroupsPage', () => {
  it('locks built-in groups and confirms deletion of the others', async () => {
    serve((method, url) => {
      if (url === '/api/groups') return json(200, GROUPS);
      if (method === 'DELETE' && url === '/api/groups/4') return new Response(null, { status: 204 });
      return json(404, { code: 'not_found', message: 'not found' });
    });
    render(<GroupsPage myRole="administrator" />, h.root);
    await until(() => h.root.querySelector('tbody tr'));
    expect(() => button('Delete: Administrators')).toThrow();
    expect(h.root.textContent).toContain('2 members');
    await click('Delete: Sales');
    expect(h.root.textContent).toContain('Its 2 members lose the role');
    expect(h.sent()).not.toContain('DELETE /api/groups/4');
    await act(() => h.root.querySelector<HTMLButtonElement>('[role=dialog] .btn--danger')!.click());
    await flush();
    expect(h.sent()).toContain('DELETE /api/groups/4');
    expect(h.root.querySelectorAll('tbody tr').length).toBe(1);
    expect(h.root.textContent).toContain('Group Sales deleted.');
  });
});
