import { render } from 'preact';
import { describe, expect, it } from 'vitest';
import { QualityFacts } from './QualityFacts';
import { json, pageHarness } from '../../test/harness';

const h = pageHarness();
const { serve, until, q } = h;

describe("a call's sound quality in its details", () => {
  it('shows the figures and every problem the phone named, in words', async () => {
    serve((_m, u) =>
      u === '/api/calls/c1/quality'
        ? json(200, { mos_min: 2.9, mos_avg: 4.1, loss_pct: 1.5, jitter_ms: 12.3, rtt_ms: 48, problems: ['server_to_browser'], browser: 'Firefox 128', reported_at: '2026-12-06T10:00:00Z' })
        : json(404, { code: 'not_found', message: 'no' }),
    );
    render(<QualityFacts callId="c1" />, h.root);
    await until(() => q('[data-testid=call-quality]'));
    const text = h.root.textContent ?? '';
    expect(text).toContain('MOS 4.1 (lowest 2.9)');
    expect(text).toContain('loss 1.5%');
    expect(text).toContain('Firefox 128');
    expect(q('[data-problem=server_to_browser]')?.textContent).toContain('not your browser');
  });

  it('shows nothing for a call without a summary (a desk phone)', async () => {
    let asked = false;
    serve(() => {
      asked = true;
      return json(404, { code: 'not_found', message: 'no' });
    });
    render(<QualityFacts callId="c2" />, h.root);
    await until(() => asked);
    await new Promise((r) => setTimeout(r, 20));
    expect(q('[data-testid=call-quality]')).toBeNull();
  });
});
