import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { CrmSettings, Group, RecordingSettings, Routing, TelephonyState, TelUser, User } from '../../shared/api/types';
import { Alert } from '../../shared/ui/Alert';
import { describeError } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { ProbeCard } from './ProbeCard';
import { SecurityCard } from '../security/SecurityCard';

/**
 * Settings → Telephony: the module switch, telephony users, auto-provisioning groups and inbound
 * routing (administrators and sub-administrators).
 */
export function TelephonyPage() {
  const [state, setState] = useState<TelephonyState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<TelUser | null>(null);
  const [reenabled, setReenabled] = useState(false);

  async function load() {
    try {
      setState(await api.telephonyState());
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => {
    void load();
  }, []);

  if (!state) return <p class="loading">{error ?? t('app.loading')}</p>;
  return (
    <section class="page" aria-labelledby="tel-title">
      <h1 id="tel-title">{t('tel.title')}</h1>
      {error && <Alert kind="error">{error}</Alert>}
      {secret && <SecretBox user={secret} onClose={() => setSecret(null)} />}
      {!state.enabled ? (
        <div class="card" data-testid="tel-off">
          <p>{t('tel.offIntro')}</p>
          <button
            type="button"
            class="btn btn--primary"
            data-testid="tel-enable"
            onClick={async () => {
              setError(null);
              try {
                const r = await api.enableTelephony();
                if (r.created) setSecret(r.created);
                setReenabled(true);
                await load();
              } catch (e) {
                setError(describeError(e));
              }
            }}
          >
            {t('tel.enable')}
          </button>
        </div>
      ) : (
        <>
          {reenabled && <Alert kind="info">{t('tel.newPasswordsNotice')}</Alert>}
          <p>
            <a href="#/telephony/trunks">{t('nav.trunks')}</a> · <a href="#/telephony/dial-rules">{t('tel.dialRules')}</a> ·{' '}
            <a href="#/telephony/phone-setup">{t('phone.desk.setup')}</a>
          </p>
          <TelUsers onSecret={setSecret} />
          <Provisioning />
          <ProbeCard />
          <SecurityCard />
          <RoutingForm />
          <RecordingForm />
          <CrmSettingsForm />
          <DangerZone account={state.account} onOff={load} />
        </>
      )}
    </section>
  );
}

function SecretBox({ user, onClose }: { user: TelUser; onClose: () => void }) {
  return (
    <div class="card card--highlight" role="status" data-testid="tel-secret">
      <p>{t('tel.secretOnce', { name: user.name })}</p>
      <dl class="kv">
        <dt>{t('tel.sipLogin')}</dt>
        <dd><code>{user.sip_login}</code></dd>
        <dt>{t('tel.password')}</dt>
        <dd><code data-testid="tel-secret-password">{user.sip_password}</code></dd>
      </dl>
      <button type="button" class="btn" onClick={onClose}>{t('common.close')}</button>
    </div>
  );
}

function TelUsers({ onSecret }: { onSecret: (u: TelUser) => void }) {
  const [list, setList] = useState<TelUser[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [pick, setPick] = useState('');
  const [ext, setExt] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function load() {
    try {
      const [l, u] = await Promise.all([api.listTelUsers(), api.listUsers()]);
      setList(l);
      setUsers(u);
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => {
    void load();
    // The "Phone" column follows registrations without a reload.
    const timer = setInterval(() => void load(), 15000);
    return () => clearInterval(timer);
  }, []);

  async function act(f: () => Promise<unknown>) {
    setError(null);
    try {
      await f();
      await load();
    } catch (e) {
      setError(describeError(e));
    }
  }
  const free = users.filter((u) => !list.some((x) => x.user_id === u.id));
  return (
    <div class="card">
      <h2>{t('tel.users')}</h2>
      {error && <Alert kind="error">{error}</Alert>}
      <table class="table" data-testid="tel-users">
        <thead>
          <tr>
            <th>{t('tel.extension')}</th>
            <th>{t('tel.user')}</th>
            <th>{t('tel.sipLogin')}</th>
            <th>{t('tel.acceptIncoming')}</th>
            <th>{t('tel.browserCalls')}</th>
            <th>{t('tel.international')}</th>
            <th>{t('tel.source')}</th>
            <th>{t('tel.online')}</th>
            <th>{t('common.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {list.map((u) => (
            <tr key={u.user_id}>
              <td>
                <button type="button" class="btn btn--quiet" title={t('tel.changeExtension')} onClick={() => {
                  const next = prompt(t('tel.changeExtensionPrompt', { name: u.name }), u.extension);
                  if (next && next.trim() !== u.extension) {
                    void act(async () => {
                      const r = await api.updateTelUser(u.user_id, { extension: next.trim() });
                      if (r.sip_password) onSecret(r);
                    });
                  }
                }}>{u.extension}</button>
              </td>
              <td>{u.name}</td>
              <td><code>{u.sip_login}</code></td>
              <td>
                <input type="checkbox" checked={u.accept_incoming} aria-label={t('tel.acceptIncoming')}
                  onChange={() => act(() => api.updateTelUser(u.user_id, { accept_incoming: !u.accept_incoming }))} />
              </td>
              <td>
                <input type="checkbox" checked={u.browser_calls} aria-label={t('tel.browserCalls')}
                  onChange={() => act(() => api.updateTelUser(u.user_id, { browser_calls: !u.browser_calls }))} />
              </td>
              <td>
                <input type="checkbox" checked={u.international} aria-label={t('tel.international')} data-testid={`tel-international-${u.user_id}`}
                  onChange={() => act(() => api.updateTelUser(u.user_id, { international: !u.international }))} />
              </td>
              <td>{u.source === 'group' ? t('tel.viaGroup') : t('tel.byHand')}</td>
              <td>{u.online.browser ? `● ${t('tel.onlineBrowser')}` : u.online.desk ? `● ${t('tel.onlineDesk')}` : `○ ${t('tel.offline')}`}</td>
              <td class="row-actions">
                <button type="button" class="btn btn--quiet" onClick={() => act(async () => onSecret(await api.newTelPassword(u.user_id)))}>
                  {t('tel.newPassword')}
                </button>
                <button type="button" class="btn btn--quiet" onClick={() => confirm(t('tel.removeConfirm', { name: u.name })) && act(() => api.deleteTelUser(u.user_id))}>
                  {t('common.delete')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!pick) return;
          void act(async () => {
            onSecret(await api.createTelUser({ user_id: Number(pick), extension: ext.trim() || undefined }));
            setPick('');
            setExt('');
          });
        }}
      >
        <select class="input" value={pick} aria-label={t('tel.user')} data-testid="tel-add-user" onChange={(e) => setPick((e.target as HTMLSelectElement).value)}>
          <option value="">{t('tel.pickUser')}</option>
          {free.map((u) => (
            <option value={String(u.id)}>{u.name} ({u.login})</option>
          ))}
        </select>
        <input class="input" value={ext} placeholder={t('tel.extensionAuto')} aria-label={t('tel.extension')} inputMode="numeric"
          onInput={(e) => setExt((e.target as HTMLInputElement).value)} />
        <button type="submit" class="btn btn--primary" disabled={!pick}>{t('tel.add')}</button>
      </form>
    </div>
  );
}

function Provisioning() {
  const [groups, setGroups] = useState<Group[]>([]);
  const [checked, setChecked] = useState<number[]>([]);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([api.listGroups(), api.provisioning()]).then(
      ([g, p]) => {
        setGroups(g);
        setChecked(p.group_ids);
      },
      (e) => setNote(describeError(e)),
    );
  }, []);
  async function toggle(id: number) {
    const next = checked.includes(id) ? checked.filter((x) => x !== id) : [...checked, id];
    try {
      setChecked((await api.setProvisioning(next)).group_ids);
      setNote(t('tel.saved'));
    } catch (e) {
      setNote(describeError(e));
    }
  }
  return (
    <div class="card">
      <h2>{t('tel.autoTitle')}</h2>
      <p>{t('tel.autoIntro')}</p>
      {groups.map((g) => (
        <label class="check">
          <input type="checkbox" checked={checked.includes(g.id)} onChange={() => toggle(g.id)} /> {g.name}
        </label>
      ))}
      {note && <p role="status">{note}</p>}
    </div>
  );
}

function RoutingForm() {
  const [r, setR] = useState<Routing | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    api.routing().then(setR, (e) => setNote(describeError(e)));
  }, []);
  if (!r) return null;
  return (
    <form
      class="card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          setR(await api.setRouting({ ...r, forward_number: r.forward_number?.trim() || null }));
          setNote(t('tel.saved'));
        } catch (err) {
          setNote(describeError(err));
        }
      }}
    >
      <h2>{t('tel.routingTitle')}</h2>
      <label class="field">
        <span>{t('tel.ringTimeout')}</span>
        <input class="input" type="number" min={5} max={300} value={r.ring_timeout_secs}
          onInput={(e) => setR({ ...r, ring_timeout_secs: Number((e.target as HTMLInputElement).value) })} />
      </label>
      <label class="field">
        <span>{t('tel.forwardNumber')}</span>
        <input class="input" value={r.forward_number ?? ''} placeholder={t('tel.forwardNone')}
          onInput={(e) => setR({ ...r, forward_number: (e.target as HTMLInputElement).value })} />
      </label>
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
      <label class="field">
        <span>{t('tel.greeting')}</span>
        <input
          type="file"
          accept="audio/mpeg,audio/wav,.mp3,.wav"
          data-testid="tel-greeting"
          onChange={async (e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (!f) return;
            setNote(t('tel.greetingUploading'));
            try {
              const r = await api.uploadGreeting(f);
              setNote(t('tel.greetingSaved', { seconds: Math.round(r.duration_ms / 100) / 10 }));
            } catch (err) {
              setNote(describeError(err));
            }
          }}
        />
      </label>
      <button type="button" class="btn btn--quiet" onClick={async () => {
        try {
          await api.deleteGreeting();
          setNote(t('tel.greetingRemoved'));
        } catch (err) {
          setNote(describeError(err));
        }
      }}>{t('tel.greetingRemove')}</button>
    </form>
  );
}

function DangerZone({ account, onOff }: { account: string; onOff: () => Promise<void> }) {
  const [typed, setTyped] = useState('');
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div class="card card--danger">
      <h2>{t('tel.offTitle')}</h2>
      {!open ? (
        <button type="button" class="btn btn--danger-outline" data-testid="tel-disable" onClick={() => setOpen(true)}>{t('tel.disable')}</button>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await api.disableTelephony(typed);
              await onOff();
            } catch (err) {
              setError(describeError(err));
            }
          }}
        >
          <p>{t('tel.offLoses')}</p>
          <ul>
            <li>{t('tel.loseTrunks')}</li>
            <li>{t('tel.loseUsers')}</li>
            <li>{t('tel.loseRules')}</li>
            <li>{t('tel.loseRecords')}</li>
          </ul>
          <label class="field">
            <span>{t('tel.typeAccount', { account })}</span>
            <input class="input" value={typed} data-testid="tel-confirm-account" onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
          </label>
          {error && <Alert kind="error">{error}</Alert>}
          <button type="submit" class="btn btn--danger" disabled={typed.trim() !== account}>{t('tel.disableConfirm')}</button>{' '}
          <button type="button" class="btn" onClick={() => setOpen(false)}>{t('common.cancel')}</button>
        </form>
      )}
    </div>
  );
}

/** Recording, retention, who sees which call records, and the call card's dictionaries. */
function RecordingForm() {
  const [s, setS] = useState<RecordingSettings | null>(null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [note, setNote] = useState<string | null>(null);
  // The dictionaries are edited as text (one value a line) and split on save.
  const [types, setTypes] = useState('');
  const [results, setResults] = useState('');
  useEffect(() => {
    Promise.all([api.recordingSettings(), api.listGroups()]).then(
      ([r, g]) => {
        setS(r);
        setTypes(r.call_types.join('\n'));
        setResults(r.call_results.join('\n'));
        setGroups(g);
      },
      (e) => setNote(describeError(e)),
    );
  }, []);
  if (!s) return note ? <p role="status">{note}</p> : null;
  const lines = (v: string) => v.split('\n').map((x) => x.trim()).filter(Boolean);
  const check = (key: 'record_calls' | 'retention_delete_calls' | 'calls_visible_to_all', label: Parameters<typeof t>[0]) => (
    <label class="check">
      <input type="checkbox" checked={s[key]} data-testid={`rec-${key}`} onChange={(e) => setS({ ...s, [key]: (e.target as HTMLInputElement).checked })} />
      {t(label)}
    </label>
  );
  return (
    <form
      class="card"
      data-testid="rec-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const saved = await api.setRecordingSettings({ ...s, call_types: lines(types), call_results: lines(results) });
          setS(saved);
          setTypes(saved.call_types.join('\n'));
          setResults(saved.call_results.join('\n'));
          setNote(t('tel.saved'));
        } catch (err) {
          setNote(describeError(err));
        }
      }}
    >
      <h2>{t('rec.title')}</h2>
      {check('record_calls', 'rec.recordAll')}
      <fieldset class="checkboxes">
        <legend>{t('rec.groups')}</legend>
        {groups.map((g) => (
          <label class="check" key={g.id}>
            <input type="checkbox" checked={s.record_group_ids.includes(g.id)}
              onChange={(e) => setS({ ...s, record_group_ids: (e.target as HTMLInputElement).checked ? [...s.record_group_ids, g.id] : s.record_group_ids.filter((x) => x !== g.id) })} />
            {g.name}
          </label>
        ))}
      </fieldset>
      <label class="field">
        <span>{t('rec.retention')}</span>
        <input class="input" type="number" min={1} max={3650} value={s.retention_days} data-testid="rec-retention"
          onInput={(e) => setS({ ...s, retention_days: Number((e.target as HTMLInputElement).value) })} />
      </label>
      {check('retention_delete_calls', 'rec.deleteCalls')}
      {check('calls_visible_to_all', 'rec.visibleToAll')}
      <label class="field">
        <span>{t('rec.types')}</span>
        <textarea class="input" rows={3} value={types} onInput={(e) => setTypes((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label class="field">
        <span>{t('rec.results')}</span>
        <textarea class="input" rows={3} value={results} onInput={(e) => setResults((e.target as HTMLTextAreaElement).value)} />
      </label>
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}

/** Caller matching, number masking for groups and the responsible manager (docs/crm.md). */
function CrmSettingsForm() {
  const [s, setS] = useState<CrmSettings | null>(null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([api.crmSettings(), api.listGroups()]).then(
      ([c, g]) => {
        setS(c);
        setGroups(g);
      },
      (e) => setNote(describeError(e)),
    );
  }, []);
  if (!s) return note ? <p role="status">{note}</p> : null;
  return (
    <form class="card" data-testid="crm-settings" onSubmit={async (e) => {
      e.preventDefault();
      try {
        setS(await api.setCrmSettings(s));
        setNote(t('tel.saved'));
      } catch (err) {
        setNote(describeError(err));
      }
    }}>
      <h2>{t('crmset.title')}</h2>
      <label class="field">
        <span>{t('crmset.similar')}</span>
        <select class="input" value={s.similar_match_digits} onChange={(e) => setS({ ...s, similar_match_digits: Number((e.target as HTMLSelectElement).value) })}>
          {[0, 1, 2, 3, 4].map((n) => <option key={n} value={n}>{n === 0 ? t('crmset.exactOnly') : t('crmset.lastDigits', { count: n })}</option>)}
        </select>
      </label>
      <fieldset class="checkboxes">
        <legend>{t('crmset.maskGroups')}</legend>
        {groups.map((g) => (
          <label class="check" key={g.id}>
            <input type="checkbox" checked={s.mask_group_ids.includes(g.id)}
              onChange={(e) => setS({ ...s, mask_group_ids: (e.target as HTMLInputElement).checked ? [...s.mask_group_ids, g.id] : s.mask_group_ids.filter((x) => x !== g.id) })} />
            {g.name}
          </label>
        ))}
      </fieldset>
      <label class="field">
        <span>{t('crmset.maskMode')}</span>
        <select class="input" value={s.mask_mode} onChange={(e) => setS({ ...s, mask_mode: (e.target as HTMLSelectElement).value as CrmSettings['mask_mode'] })}>
          <option value="prefix">{t('crmset.prefix')}</option>
          <option value="hidden">{t('crmset.hidden')}</option>
        </select>
      </label>
      {s.mask_mode === 'prefix' && (
        <label class="field">
          <span>{t('crmset.maskChars')}</span>
          <input class="input" type="number" min={1} max={15} value={s.mask_chars} onInput={(e) => setS({ ...s, mask_chars: Number((e.target as HTMLInputElement).value) })} />
        </label>
      )}
      <label class="check">
        <input type="checkbox" checked={s.manager_first} onChange={(e) => setS({ ...s, manager_first: (e.target as HTMLInputElement).checked })} />
        {t('crmset.managerFirst')}
      </label>
      {s.manager_first && (
        <label class="field">
          <span>{t('crmset.managerSecs')}</span>
          <input class="input" type="number" min={5} max={120} value={s.manager_first_secs} onInput={(e) => setS({ ...s, manager_first_secs: Number((e.target as HTMLInputElement).value) })} />
        </label>
      )}
      <button type="submit" class="btn btn--primary">{t('common.save')}</button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}
