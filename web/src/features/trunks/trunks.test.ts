import { describe, expect, it } from 'vitest';
import { hostAndDomain, statusView } from './status';

describe('trunk status', () => {
  it('maps every state to a tone, an icon and words, with advice for red ones', () => {
    expect(statusView({ state: 'registered', reason: null, since: 1 })).toMatchObject({ tone: 'ok', icon: 'check', label: 'trunks.state.registered' });
    expect(statusView({ state: 'waiting', reason: null, since: null }).tone).toBe('idle');
    expect(statusView({ state: 'rejected', reason: 'x', since: 1 })).toMatchObject({ tone: 'bad', advice: 'trunks.advice.rejected' });
    expect(statusView({ state: 'unregistered', reason: 'x', since: 1 })).toMatchObject({ tone: 'bad', advice: 'trunks.advice.unregistered' });
  });

  it('defaults host and domain to each other in extended mode only', () => {
    expect(hostAndDomain('extended', '', 'sip.x.ru:9060')).toEqual({ domain: 'sip.x.ru:9060', host: 'sip.x.ru:9060' });
    expect(hostAndDomain('extended', 'sip.x.ru', '')).toEqual({ domain: 'sip.x.ru', host: 'sip.x.ru' });
    expect(hostAndDomain('simple', 'sip.x.ru', 'ignored')).toEqual({ domain: 'sip.x.ru', host: 'sip.x.ru' });
  });
});
