import { describe, expect, it } from 'vitest';
import { FakeDevice, FakeHid, FakePhone, jabraStyle, keyboard } from './fixtures';
import { HeadsetLink } from './link';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('the headset link over WebHID', () => {
  it('opens the headset granted earlier, answers and hangs up from it, and lights it with the phone', async () => {
    const headset = new FakeDevice('Jabra Evolve2 40', jabraStyle);
    const hid = new FakeHid([new FakeDevice('Keyboard', keyboard), headset]);
    const phone = new FakePhone();
    const link = new HeadsetLink(hid, phone);
    await link.restore();
    await tick();
    expect(headset.opened).toBe(true);
    expect(link.status).toEqual({ kind: 'paired', name: 'Jabra Evolve2 40', connected: true });
    expect(headset.sent).toEqual([[3, [0]]]);

    phone.call('incoming');
    await tick();
    expect(headset.sent.at(-1)).toEqual([3, [0b100100]]);
    headset.press(2, 0); // off hook
    expect(phone.did).toEqual(['answer']);
    phone.call('answered');
    await tick();
    expect(headset.sent.at(-1)).toEqual([3, [0b000001]]);
    headset.press(2, 0, 1); // mute
    phone.call('answered', { muted: true });
    await tick();
    expect(headset.sent.at(-1)).toEqual([3, [0b000011]]);
    headset.press(2); // on hook
    expect(phone.did).toEqual(['answer', 'toggleMute', 'hangup']);
    phone.call('ended');
    await tick();
    expect(headset.sent.at(-1)).toEqual([3, [0]]);
    link.dispose();
  });

  it('pairs through the chooser filtered on the Telephony page, and unpairs (lights off, permission forgotten)', async () => {
    const headset = new FakeDevice('Poly Blackwire 3220', jabraStyle);
    const hid = new FakeHid([], [headset]);
    const phone = new FakePhone();
    const link = new HeadsetLink(hid, phone);
    await link.restore();
    expect(link.status).toEqual({ kind: 'none' });
    await link.pair();
    expect(hid.requested).toEqual([{ filters: [{ usagePage: 0x0b }] }]);
    expect(link.status).toMatchObject({ kind: 'paired', name: 'Poly Blackwire 3220' });
    phone.call('answered');
    await link.unpair();
    expect(headset.sent.at(-1)).toEqual([3, [0]]);
    expect(headset.opened).toBe(false);
    expect(headset.forgotten).toBe(true);
    expect(link.status).toEqual({ kind: 'none' });
  });

  it('refuses a device without call-control buttons', async () => {
    const hid = new FakeHid([], [new FakeDevice('Gaming keyboard', keyboard)]);
    const link = new HeadsetLink(hid, new FakePhone());
    await link.pair();
    expect(link.status).toEqual({ kind: 'none', error: 'notHeadset', detail: 'Gaming keyboard' });
  });

  it('follows unplugging and plugging back in', async () => {
    const headset = new FakeDevice('Jabra', jabraStyle);
    const hid = new FakeHid([headset]);
    const link = new HeadsetLink(hid, new FakePhone());
    await link.restore();
    hid.plug('disconnect', headset);
    await tick();
    expect(link.status).toEqual({ kind: 'paired', name: 'Jabra', connected: false });
    hid.plug('connect', headset);
    await tick();
    expect(link.status).toEqual({ kind: 'paired', name: 'Jabra', connected: true });
    expect(headset.opened).toBe(true);
  });

  it('lets go of the headset while the phone runs in another tab', async () => {
    const headset = new FakeDevice('Jabra', jabraStyle);
    const phone = new FakePhone();
    const link = new HeadsetLink(new FakeHid([headset]), phone);
    await link.restore();
    phone.set({ reg: 'elsewhere' });
    await tick();
    expect(headset.opened).toBe(false);
    phone.call('incoming');
    headset.press(2, 0);
    expect(phone.did).toEqual([]);
    phone.set({ reg: 'registered' });
    await tick();
    await tick();
    expect(headset.opened).toBe(true);
  });

  it('redials the last number dialled', async () => {
    const headset = new FakeDevice('Headset', [
      { usagePage: 0x0b, inputReports: [{ reportId: 1, items: [{ usages: [0x0b0024], reportSize: 1, reportCount: 1, isAbsolute: false }, { isConstant: true, reportSize: 1, reportCount: 7 }] }] },
    ]);
    const phone = new FakePhone();
    const link = new HeadsetLink(new FakeHid([headset]), phone);
    await link.restore();
    headset.press(1, 0);
    expect(phone.did).toEqual(['dial 5551234']);
  });

  it('is unsupported without navigator.hid', () => {
    expect(new HeadsetLink(undefined, new FakePhone()).status).toEqual({ kind: 'unsupported' });
  });
});
