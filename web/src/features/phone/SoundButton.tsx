import { useEffect, useState } from 'preact/hooks';
import { t } from '../../shared/i18n';
import { onSoundState, soundState, type SoundState } from './unlock';

/**
 * "Enable sound", shown only while the browser keeps the phone silent (`unlock.ts`: a reload with
 * no click since; after the sign-in click it does not show). The click unlocks sound — `enable`
 * must run inside it, before any await.
 */
export function SoundButton({ enable }: { enable: () => Promise<unknown> }) {
  const [sound, setSound] = useState<SoundState>(soundState);
  useEffect(() => {
    setSound(soundState());
    return onSoundState(setSound);
  }, []);
  if (sound !== 'blocked') return null;
  return (
    <button type="button" class="btn phone__sound" data-testid="phone-enable-sound" data-arms-sound
      onClick={() => void enable()}>
      {t('phone.enableSound')}
    </button>
  );
}
