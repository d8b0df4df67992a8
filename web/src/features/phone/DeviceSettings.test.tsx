import { describe, expect, it } from 'vitest';
import { DeviceSettings } from './DeviceSettings';
import { FakeDevice, FakeHid, FakePhone, jabraStyle, keyboard } from './headset/fixtures';
import { HeadsetLink } from './headset/link';
import type { PhoneAudio } from './audio';
import { pageHarness } from '../../test/harness';

const h = pageHarness();
const audio = {} as PhoneAudio;

describe('Sound devices: the headset buttons', () => {
  it('pairs a headset, shows its name, and unpairs it', async () => {
    const headset = new FakeDevice('Jabra Evolve2 40', jabraStyle);
    const link = new HeadsetLink(new FakeHid([], [headset]), new FakePhone());
    h.show(<DeviceSettings rt={{ audio, headset: link }} />);
    expect(h.q('[data-testid=headset-unsupported]')).toBeNull();
    expect(h.q('[data-testid=headset]')?.textContent).toContain('Answer, hang up, mute and hold');
    await h.click('Pair headset');
    const name = await h.until(() => h.q('[data-testid=headset-name]'));
    expect(name.textContent).toBe('Headset: Jabra Evolve2 40');
    await h.click('Unpair');
    await h.until(() => h.q('[data-testid=headset-pair]'));
    expect(headset.forgotten).toBe(true);
    link.dispose();
  });

  it('says which device is not a call-control headset', async () => {
    const link = new HeadsetLink(new FakeHid([], [new FakeDevice('USB Keyboard', keyboard)]), new FakePhone());
    h.show(<DeviceSettings rt={{ audio, headset: link }} />);
    await h.click('Pair headset');
    const alert = await h.until(() => h.q('[role=alert]'));
    expect(alert.textContent).toContain('USB Keyboard has no call buttons');
  });

  it('explains why the option is missing in a browser without WebHID (Firefox)', () => {
    const link = new HeadsetLink(undefined, new FakePhone());
    h.show(<DeviceSettings rt={{ audio, headset: link }} />);
    expect(h.q('[data-testid=headset-pair]')).toBeNull();
    expect(h.q('[data-testid=headset-unsupported]')?.textContent).toMatch(/WebHID, which only Chromium-based browsers have/);
  });
});

describe('Sound devices: the preflight test call', () => {
  const link = () => new HeadsetLink(undefined, new FakePhone());

  it('runs the test call and shows the figures, the verdict and what to do', async () => {
    let run = 0;
    const preflight = async () => {
      run += 1;
      return { verdict: 'no_audio', advice: 'mic_silent', audioBack: false, micHeard: false, lossPct: 0, jitterMs: 1.2, rttMs: 23.4, mos: 4.4, saved: true } as const;
    };
    h.show(<DeviceSettings rt={{ audio, headset: link() }} preflight={preflight} />);
    await h.click('Test call (10 s)');
    const result = await h.until(() => h.q('[data-testid=preflight-result]'));
    expect(run).toBe(1);
    expect(result.getAttribute('data-verdict')).toBe('no_audio');
    expect(h.q('[data-testid=preflight-verdict]')?.textContent).toBe('No audio back');
    expect(h.q('[data-testid=preflight-rtt]')?.textContent).toBe('23 ms');
    expect(h.q('[data-testid=preflight-loss]')?.textContent).toBe('0 %');
    expect(h.q('[data-testid=preflight-audio-back]')?.textContent).toBe('no audio back');
    expect(result.textContent).toContain('Your microphone sends silence');
  });

  it('says why the test call cannot run now', () => {
    h.show(<DeviceSettings rt={{ audio, headset: link() }} preflightWhy="The test call runs between calls." />);
    expect((h.q('[data-testid=preflight-start]') as HTMLButtonElement).disabled).toBe(true);
    expect(h.q('[data-testid=preflight]')?.textContent).toContain('The test call runs between calls.');
  });
});
