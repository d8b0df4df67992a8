/** Microphone, speaker and ringer choice, the headset test, the preflight test call, and pairing the headset's call buttons. */
import { useEffect, useState } from 'preact/hooks';
import { t, type MessageKey } from '../../shared/i18n';
import { canChooseOutput, listDevices, loadPrefs, savePrefs, type DevicePrefs, type Devices } from './audio';
import { HeadsetPairing } from './headset/HeadsetPairing';
import { type PhoneRuntime } from './runtime';
import { Preflight } from './preflight/Preflight';
import type { PreflightRun } from './preflight/run';

/** `preflight` runs the test call when it can run now; `preflightWhy` says why it cannot. */
export function DeviceSettings({ rt, preflight, preflightWhy }: {
  rt: Pick<PhoneRuntime, 'audio' | 'headset'>;
  preflight?: () => Promise<PreflightRun>;
  preflightWhy?: string;
}) {
  const [devices, setDevices] = useState<Devices>({ mics: [], speakers: [] });
  const [prefs, setPrefs] = useState<DevicePrefs>(loadPrefs());
  const [level, setLevel] = useState<number | null>(null);
  const [testing, setTesting] = useState(false);
  useEffect(() => {
    void listDevices().then(setDevices);
  }, []);
  function choose(k: keyof DevicePrefs, v: string) {
    const p = { ...prefs, [k]: v || undefined };
    setPrefs(p);
    savePrefs(p);
  }
  const outputs = canChooseOutput();
  const select = (k: keyof DevicePrefs, label: MessageKey, list: MediaDeviceInfo[], disabled = false) => (
    <label class="field">
      <span>{t(label)}</span>
      <select class="input" value={prefs[k] ?? ''} disabled={disabled} onChange={(e) => choose(k, (e.target as HTMLSelectElement).value)}>
        <option value="">{t('phone.defaultDevice')}</option>
        {list.map((d, i) => (
          <option value={d.deviceId}>{d.label || `${t(label)} ${i + 1}`}</option>
        ))}
      </select>
    </label>
  );
  return (
    <div class="phone__devices" data-testid="phone-devices">
      {select('mic', 'phone.mic', devices.mics)}
      {select('speaker', 'phone.speaker', devices.speakers, !outputs)}
      {select('ringer', 'phone.ringer', devices.speakers, !outputs)}
      {!outputs && <p class="phone__note">{t('phone.noSinkId')}</p>}
      <button
        type="button"
        class="btn"
        disabled={testing}
        onClick={async () => {
          setTesting(true);
          try {
            await rt.audio.testHeadset(setLevel);
          } finally {
            setTesting(false);
          }
        }}
      >
        {testing ? t('phone.testing') : t('phone.testHeadset')}
      </button>
      {level !== null && <meter min={0} max={1} value={level} aria-label={t('phone.micLevel')} />}
      <Preflight run={preflight} why={preflightWhy} />
      <HeadsetPairing link={rt.headset} />
    </div>
  );
}
