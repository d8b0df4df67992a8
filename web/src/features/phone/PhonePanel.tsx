import { useEffect, useRef, useState } from 'preact/hooks';
import { sipTarget, type DialRequest } from '../crm/dial';
import { SpeedDials } from './SpeedDials';
import { ParkedCalls } from './ParkedCalls';
import { VoicemailBadge } from './VoicemailBadge';
import { subscribe } from '../../shared/events';
import { t, type MessageKey } from '../../shared/i18n';
import { mmss } from '../../shared/ui/time';
import type { RegState } from './controller';
import { startPhone, type PhoneRuntime } from './runtime';
import type { PhoneView } from './tabPhone';
import { SoundButton } from './SoundButton';
import { DeviceSettings } from './DeviceSettings';
import { CallQuality } from './quality/CallQuality';
import { AgentStatePicker } from './AgentState';
import { TransferTarget, type Target } from './TransferTarget';
import { ShortcutsHelp, usePhoneShortcuts } from './PhoneShortcuts';
import type { ShortcutAction } from './shortcuts';
import { api } from '../../shared/api/client';
import type { Colleague } from '../../shared/api/types';


const REG_LABEL: Record<RegState, MessageKey> = {
  off: 'phone.reg.off',
  connecting: 'phone.reg.connecting',
  reconnecting: 'phone.reg.reconnecting',
  confirming: 'phone.reg.confirming',
  registered: 'phone.reg.registered',
  failed: 'phone.reg.failed',
  elsewhere: 'phone.reg.elsewhere',
};

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

/** How long a fetched colleague list (with live states) is good for. */
const COLLEAGUES_FRESH_MS = 5000;

export function PhonePanel({ tenantId, userId, acceptIncoming }: { tenantId: number | string; userId: number; acceptIncoming: boolean }) {
  const rt = useRef<PhoneRuntime | null>(null);
  const [view, setView] = useState<PhoneView | null>(null);
  const snap = view?.snap ?? null;
  const [number, setNumber] = useState('');
  const [open, setOpen] = useState(true);
  const [showDevices, setShowDevices] = useState(false);
  const [transferTo, setTransferTo] = useState<Target>({ text: '' });
  const [transferMsg, setTransferMsg] = useState<string | null>(null);
  const [colleagues, setColleagues] = useState<Colleague[]>([]);
  /** A consulted extension as the agent knows it: the colleague's name. */
  const consultTarget = (target: string) => {
    const p = colleagues.find((x) => x.extension === target);
    return p ? `${p.name} (${p.extension})` : target;
  };
  // Transfer targets with their live state, fetched when the agent picks one — at most every
  // few seconds: the server asks Asterisk about each colleague's phones.
  const colleaguesAt = useRef(0);
  const loadColleagues = async () => {
    if (Date.now() - colleaguesAt.current < COLLEAGUES_FRESH_MS) return;
    colleaguesAt.current = Date.now();
    try {
      setColleagues(await api.colleagues());
    } catch {
      colleaguesAt.current = 0;
      // The typed number still works.
    }
  };
  const [now, setNow] = useState(Date.now());
  const [agentState, setAgentState] = useState('available');
  const answerRef = useRef<HTMLButtonElement>(null);
  /** When this tab (a follower) asked the owner tab to answer. */
  const [answerAsked, setAnswerAsked] = useState<number | null>(null);
  const panelRef = useRef<HTMLElement>(null);
  const [showKeys, setShowKeys] = useState(false);

  useEffect(() => {
    const r = startPhone(tenantId, userId);
    rt.current = r;
    const unsub = r.tabs.subscribe(setView);
    const closeEvents = subscribe((e) => r.controller.onServerEvent(e));
    const onDial = (e: Event) => {
      const req = (e as CustomEvent<DialRequest>).detail;
      const target = req ? sipTarget(req) : null;
      if (target) {
        setOpen(true);
        setNumber(/^(crm|sd)\d/.test(target) ? '' : target);
        // A follower tab dials through the tab that runs the phone.
        void r.tabs.controls.dial(target, req.label);
      }
    };
    window.addEventListener('callbase:dial', onDial);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      unsub();
      closeEvents();
      window.removeEventListener('callbase:dial', onDial);
      clearInterval(tick);
      r.dispose();
    };
  }, [tenantId, userId]);

  const call = snap?.call ?? null;
  useEffect(() => {
    if (call?.state !== 'incoming') setAnswerAsked(null);
    if (call?.state === 'incoming') {
      setOpen(true);
      answerRef.current?.focus();
      // A background tab, or the tab that runs the phone without sound yet (it took the phone over
      // from a closed tab before any click here: the browser keeps the ring silent). One
      // notification for all the user's tabs (the tag).
      const silent = view?.role !== 'follower' && !rt.current?.audio.enabled;
      if ((document.hidden || silent) && 'Notification' in window && Notification.permission === 'granted') {
        const body = call.name ? `${call.name} (${call.number})` : call.number;
        new Notification(t('phone.incoming'), { body, tag: `callbase-incoming-${tenantId}-${userId}` });
      }
    }
  }, [call?.state]);

  usePhoneShortcuts((action) => runShortcut(action));

  if (!snap || !view || !rt.current) return null;
  const c = rt.current.tabs.controls;
  const reg = snap.reg;
  const follower = view.role === 'follower';
  const inCall = call && call.state !== 'ended';

  /** A keyboard shortcut (shortcuts.ts): true when it did something in this state. */
  function runShortcut(action: ShortcutAction): boolean {
    const ctl = rt.current?.tabs.controls;
    if (action === 'help') {
      setShowKeys((v) => !v);
      return true;
    }
    if (!ctl || !call) {
      if (action !== 'dialpad') return false;
    } else if (action === 'answer') {
      if (call.state !== 'incoming') return false;
      ctl.answer();
      return true;
    } else if (action === 'hangup') {
      if (call.state === 'incoming') ctl.decline();
      else if (call.state !== 'ended') ctl.hangup();
      else return false;
      return true;
    } else if (action === 'mute' || action === 'hold') {
      if (call.state !== 'answered') return false;
      if (action === 'mute') ctl.toggleMute();
      else ctl.toggleHold();
      return true;
    }
    if (action !== 'dialpad') return false;
    // The number field when idle, the keypad's first key during a call; the panel opens first.
    setOpen(true);
    setTimeout(() => {
      panelRef.current?.querySelector<HTMLElement>('[data-testid=phone-number], [data-testid=phone-dtmf-1]')?.focus();
    }, 0);
    return true;
  }

  function onKey(e: KeyboardEvent) {
    if (e.key === 'Enter' && e.ctrlKey) {
      e.preventDefault();
      if (!inCall) void c.dial(number);
    } else if (e.key === 'Escape') {
      if (call?.state === 'incoming') c.decline();
      else if (inCall) c.hangup();
    }
  }

  return (
    <>
    <aside ref={panelRef} class={`phone ${open ? '' : 'phone--closed'}`} aria-label={t('phone.title')} onKeyDown={onKey} data-testid="phone" data-role={view.role}>
      <header class="phone__head">
        <span class={`phone__dot phone__dot--${reg}`} aria-hidden="true" />
        <span data-testid="phone-reg" data-state={reg}>
          {reg === 'registered' && agentState !== 'available' ? t('phone.reg.notTaking') : t(REG_LABEL[reg])}
          {snap.extension ? ` · ${t('phone.ext', { ext: snap.extension })}` : ''}
        </span>
        <button type="button" class="btn btn--quiet phone__toggle" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? t('phone.collapse') : t('phone.expand')}
        </button>
      </header>
      {open && (
        <div class="phone__body">
          <SoundButton enable={() => rt.current!.audio.enable()} />
          {reg === 'failed' && (
            <p class="phone__error" role="alert">
              {snap.regCode === 'too_many_sockets' ? t('phone.tooManySockets') : (snap.regError ?? t('phone.reg.failed'))}{' '}
              <button type="button" class="btn btn--quiet" onClick={() => void c.start()}>
                {t('common.retry')}
              </button>
            </p>
          )}
          {follower && view.mirrored && (
            <p class="phone__note" data-testid="phone-follower">
              {t('phone.tabs.soundThere')}{' '}
              {!inCall && (
                <button type="button" class="btn btn--quiet" data-testid="phone-move-here" onClick={() => rt.current!.moveHere()}>
                  {t('phone.moveHere')}
                </button>
              )}
            </p>
          )}
          {reg === 'elsewhere' && (
            <p class="phone__note">
              {t('phone.elsewhere')}{' '}
              <button type="button" class="btn" data-testid="phone-move-here" onClick={() => rt.current!.moveHere()}>
                {t('phone.moveHere')}
              </button>
            </p>
          )}
          <AgentStatePicker userId={userId} onState={setAgentState} />
          {acceptIncoming && agentState === 'available' && reg !== 'registered' && reg !== 'elsewhere' && (
            <p class="phone__note" role="status">{t('phone.noPhoneReminder')}</p>
          )}

          {call?.state === 'incoming' ? (
            <div class="phone__incoming" data-testid="phone-incoming" role="alertdialog" aria-label={t('phone.incoming')}>
              <div class="phone__caller">
                <strong>{call.name ?? call.number}</strong>
                {call.name && <span>{call.number}</span>}
                {call.did && <span class="muted" data-testid="phone-line">{t('phone.line', { did: call.did })}</span>}
              </div>
              <div class="phone__row">
                <button ref={answerRef} type="button" class="btn btn--primary" data-testid="phone-answer"
                  onClick={() => {
                    if (follower) setAnswerAsked(Date.now());
                    c.answer();
                  }}>
                  {t('phone.answer')}
                </button>
                <button type="button" class="btn btn--danger" data-testid="phone-decline" onClick={() => c.decline()}>
                  {t('phone.decline')}
                </button>
              </div>
              {follower && answerAsked !== null && now - answerAsked >= 2000 && (
                // Firefox may open the microphone only for the tab in front (when it asks for permission): the owner tab waits.
                <p class="phone__note" role="status" data-testid="phone-switch-to-answer">{t('phone.tabs.switchToAnswer')}</p>
              )}
            </div>
          ) : inCall ? (
            <div class="phone__call" data-testid="phone-call" data-state={call.state}>
              <div class="phone__caller">
                <strong>{call.name ?? call.number}</strong>
                <span data-testid="phone-call-state">
                  {t(`phone.call.${call.state}` as MessageKey)}
                  {call.held ? ` · ${t('phone.onHold')}` : ''}
                  {call.answeredAt ? ` · ${mmss(now - call.answeredAt)}` : ''}
                </span>
              </div>
              <CallQuality watch={rt.current?.quality ?? null} />
              <div class="phone__row">
                <button type="button" class="btn btn--danger" data-testid="phone-hangup" onClick={() => c.hangup()}>
                  {t('phone.hangup')}
                </button>
                <button type="button" class="btn" data-testid="phone-mute" aria-pressed={call.muted} disabled={call.state !== 'answered'} onClick={() => c.toggleMute()}>
                  {call.muted ? t('phone.unmute') : t('phone.mute')}
                </button>
                <button type="button" class="btn" data-testid="phone-hold" aria-pressed={call.held} disabled={call.state !== 'answered'} onClick={() => c.toggleHold()}>
                  {call.held ? t('phone.unhold') : t('phone.hold')}
                </button>
                <button type="button" class="btn" data-testid="phone-park" disabled={call.state !== 'answered' || !!call.consult}
                  title={t('phone.parkHint')} onClick={async () => setTransferMsg(await c.park())}>
                  {t('phone.park')}
                </button>
                {snap.pauseAllowed && call.state === 'answered' && (
                  <button type="button" class="btn" data-testid="phone-rec-pause" aria-pressed={!!call.recordingPaused}
                    title={t('phone.recPauseHint')}
                    onClick={async () => setTransferMsg(await c.toggleRecordingPause())}>
                    {call.recordingPaused ? t('phone.recResume') : t('phone.recPause')}
                  </button>
                )}
              </div>
              {call.state === 'answered' && (
                <>
                  <div class="phone__pad" role="group" aria-label={t('phone.dtmf')}>
                    {KEYS.map((k) => (
                      <button type="button" class="btn phone__key" data-testid={`phone-dtmf-${k}`} onClick={() => c.dtmf(k)}>
                        {k}
                      </button>
                    ))}
                  </div>
                  {call.consult ? (
                    <div class="phone__consult" data-testid="phone-consult" data-connected={call.consult.connected}>
                      <p role="status">
                        {t(call.consult.connected ? 'phone.consultTalking' : 'phone.consultRinging', { target: consultTarget(call.consult.target) })}
                      </p>
                      <div class="phone__row">
                        <button type="button" class="btn" data-testid="phone-consult-return"
                          onClick={async () => setTransferMsg(await c.endConsult(false))}>
                          {t('phone.consultReturn')}
                        </button>
                        <button type="button" class="btn btn--primary" data-testid="phone-consult-complete" disabled={!call.consult.connected}
                          onClick={async () => setTransferMsg(await c.endConsult(true))}>
                          {t('phone.consultComplete')}
                        </button>
                      </div>
                    </div>
                  ) : (
                    <form
                      class="phone__row"
                      onSubmit={async (e) => {
                        e.preventDefault();
                        setTransferMsg(null);
                        const err = await c.transfer(transferTo.ref ?? transferTo.text);
                        setTransferMsg(err ?? t('phone.transferred'));
                      }}
                    >
                      <TransferTarget value={transferTo} onChange={setTransferTo} colleagues={colleagues}
                        onFocus={() => void loadColleagues()} />
                      <button type="submit" class="btn" data-testid="phone-transfer" title={t('phone.transferHint')}>
                        {t('phone.transfer')}
                      </button>
                      <button type="button" class="btn" data-testid="phone-consult-start" disabled={call.held} title={t('phone.consultHint')}
                        onClick={async () => {
                          setTransferMsg(null);
                          setTransferMsg(await c.consult(transferTo.ref ?? transferTo.text));
                        }}>
                        {t('phone.consult')}
                      </button>
                    </form>
                  )}
                  {call.consultNote && <p role="status" data-testid="phone-consult-note">{t('phone.consultEnded', { why: call.consultNote })}</p>}
                  {transferMsg && <p role="status">{transferMsg}</p>}
                </>
              )}
            </div>
          ) : (
            <div class="phone__idle">
              {call?.state === 'ended' && (
                <p class="phone__ended" data-testid="phone-ended" role="status">
                  {call.parkedSlot
                    ? t('phone.parkedIn', { number: call.number, slot: call.parkedSlot })
                    : `${t('phone.ended', { number: call.number })}${call.reason ? `: ${call.reason}` : ''}`}{' '}
                  <button type="button" class="btn btn--quiet" onClick={() => c.dismiss()}>
                    {t('common.close')}
                  </button>
                </p>
              )}
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  c.dismiss();
                  void c.dial(number);
                }}
              >
                <input
                  class="input phone__number"
                  inputMode="tel"
                  aria-label={t('phone.number')}
                  placeholder={t('phone.number')}
                  value={number}
                  data-testid="phone-number"
                  onInput={(e) => setNumber((e.target as HTMLInputElement).value)}
                />
                <div class="phone__pad">
                  {KEYS.map((k) => (
                    <button type="button" class="btn phone__key" data-testid={`phone-key-${k}`} onClick={() => setNumber(number + k)}>
                      {k}
                    </button>
                  ))}
                </div>
                <button type="submit" class="btn btn--primary phone__call-btn" data-testid="phone-call-btn" disabled={reg !== 'registered' || !number.trim() || !!snap.testing}>
                  {t('phone.call')}
                </button>
              </form>
              <VoicemailBadge />
              <SpeedDials disabled={reg !== 'registered'} />
              <ParkedCalls now={now} disabled={reg !== 'registered'} onPickUp={(slot, label) => {
                c.dismiss();
                void c.dial(`*8${slot}`, label);
              }} />
              {snap.recent.length > 0 && (
                <details class="phone__recent">
                  <summary>{t('phone.recent')}</summary>
                  <ul>
                    {snap.recent.map((r) => (
                      <li>
                        <button type="button" class="btn btn--quiet" onClick={() => setNumber(r.number)}>
                          {r.direction === 'inbound' ? '↙' : '↗'} {r.number}
                          {!r.answered ? ` · ${t('phone.notAnswered')}` : ''}
                        </button>
                      </li>
                    ))}
                  </ul>
                </details>
              )}
            </div>
          )}
          <button type="button" class="btn btn--quiet" onClick={() => setShowDevices(!showDevices)} aria-expanded={showDevices}>
            {t('phone.devices')}
          </button>
          {showDevices && (
            <DeviceSettings rt={rt.current}
              preflight={!follower && reg === 'registered' && !inCall ? () => rt.current!.preflight() : undefined}
              preflightWhy={follower ? t('preflight.otherTab') : reg !== 'registered' ? t('preflight.notRegistered') : inCall ? t('preflight.inCall') : undefined} />
          )}
          <button type="button" class="btn btn--quiet" data-testid="phone-shortcuts" aria-keyshortcuts="?" onClick={() => setShowKeys(true)}>
            {t('keys.open')}
          </button>
        </div>
      )}
    </aside>
    {showKeys && <ShortcutsHelp onClose={() => setShowKeys(false)} />}
    </>
  );
}
