/**
 * Queues (issue #19): the tenant's queues — who answers (telephony users, and access groups whose
 * telephony users all answer), how a free member is picked, how long callers wait and where they
 * go when the wait is too long or the line too long. The server checks every field and names the
 * one it refuses; the editor keeps what was typed, so bad input loses nothing. A saved or deleted
 * queue is reported through `onChanged` ({@link CallFlow}: the menus and first steps read again).
 * A queue may offer callbacks: a waiting caller presses 1, hangs up and keeps their place; when a
 * member is free, the member's phone rings first and then the caller's number is dialled.
 */
import { useState } from 'preact/hooks';
import { api, isApiError } from '../../shared/api/client';
import type { Group, Queue, QueueBody, QueueMember, QueueOverflow, QueueStrategy, TelUser } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { Alert } from '../../shared/ui/Alert';
import { ConfirmDialog } from '../../shared/ui/ConfirmDialog';
import { useLoaded } from '../../shared/ui/useLoaded';
import { t, type MessageKey } from '../../shared/i18n';

export const STRATEGIES: readonly QueueStrategy[] = ['ring_all', 'longest_idle', 'round_robin', 'fewest_calls'];
export const OVERFLOWS: readonly QueueOverflow[] = ['missed', 'voicemail', 'forward'];

/** The editor's fields; numbers as typed (a bad one is shown back, not lost). `id`: null for a new queue. */
interface Draft {
  id: number | null;
  name: string;
  strategy: string;
  ring_secs: string;
  max_wait_secs: string;
  max_callers: string;
  announce_position: boolean;
  callback: boolean;
  service_level_secs: string;
  overflow: string;
  overflow_number: string;
  members: QueueMember[];
}

type NumberKey = 'ring_secs' | 'max_wait_secs' | 'max_callers' | 'service_level_secs';

/** The number fields: label, hint, the server's range (for the spinner; the server decides). */
const NUMBERS: { field: NumberKey; testid: string; label: MessageKey; hint: MessageKey; min: number; max: number }[] = [
  { field: 'ring_secs', testid: 'queue-ring', label: 'queues.ringSecs', hint: 'queues.ringSecsHint', min: 5, max: 120 },
  { field: 'max_wait_secs', testid: 'queue-max-wait', label: 'queues.maxWait', hint: 'queues.maxWaitHint', min: 10, max: 7200 },
  { field: 'max_callers', testid: 'queue-max-callers', label: 'queues.maxCallers', hint: 'queues.maxCallersHint', min: 1, max: 500 },
  { field: 'service_level_secs', testid: 'queue-service-level', label: 'queues.serviceLevel', hint: 'queues.serviceLevelHint', min: 5, max: 600 },
];

/** A new queue: the server's defaults. */
const FRESH: Draft = {
  id: null, name: '', strategy: 'ring_all', ring_secs: '20', max_wait_secs: '300', max_callers: '20', announce_position: true, callback: false,
  service_level_secs: '20', overflow: 'missed', overflow_number: '', members: [],
};

function draftOf(q: Queue): Draft {
  return {
    id: q.id, name: q.name, strategy: q.strategy, ring_secs: String(q.ring_secs), max_wait_secs: String(q.max_wait_secs),
    max_callers: String(q.max_callers), announce_position: q.announce_position, callback: q.callback,
    service_level_secs: String(q.service_level_secs), overflow: q.overflow, overflow_number: q.overflow_number ?? '', members: q.members,
  };
}

const isUser = (m: QueueMember): m is { user: number } => 'user' in m;
const sameMember = (a: QueueMember, b: QueueMember) => (isUser(a) ? isUser(b) && a.user === b.user : !isUser(b) && a.group === b.group);

export function strategyLabel(s: string): string {
  return (STRATEGIES as readonly string[]).includes(s) ? t(`queues.strategy.${s}` as MessageKey) : s;
}

function overflowLabel(q: Queue): string {
  if (q.overflow === 'forward') return t('queues.forwardTo', { number: q.overflow_number ?? '' });
  return (OVERFLOWS as readonly string[]).includes(q.overflow) ? t(`queues.overflow.${q.overflow}` as MessageKey) : q.overflow;
}

/** A member as the lists name it: a telephony user with their extension, or an access group. */
function memberLabel(m: QueueMember, users: TelUser[], groups: Group[]): string {
  if (isUser(m)) {
    const u = users.find((x) => x.user_id === m.user);
    return u ? `${u.name} (${u.extension})` : t('queues.unknownUser', { id: m.user });
  }
  const g = groups.find((x) => x.id === m.group);
  return g ? t('queues.groupMember', { name: g.name }) : t('queues.unknownGroup', { id: m.group });
}

function membersSummary(members: QueueMember[], users: TelUser[], groups: Group[]): string {
  const names = members.map((m) => memberLabel(m, users, groups));
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${shown} ${t('queues.more', { n: names.length - 4 })}` : shown;
}

/** A whole number as typed, or null. */
export function whole(s: string): number | null {
  return /^\s*-?\d+\s*$/.test(s) ? Number(s) : null;
}

/**
 * What to say about a refused save: the server's code in the user's language, the queue's own name
 * limits, and for a member that no longer exists, which one (`members[i]` of the body sent).
 */
function explainSave(e: unknown, sent: QueueMember[], users: TelUser[], groups: Group[]): string {
  if (isApiError(e) && e.code === 'invalid_name') return t('queues.invalidName');
  if (isApiError(e) && e.code === 'unknown_member') {
    const i = /^members\[(\d+)\]/.exec(e.message)?.[1];
    const m = i === undefined ? undefined : sent[Number(i)];
    if (m) return t('queues.unknownMember', { name: memberLabel(m, users, groups) });
  }
  return describeError(e);
}

export function NumberField(p: { testid: string; label: MessageKey; hint: MessageKey; min: number; max: number; value: string; onInput: (v: string) => void }) {
  return (
    <div class="field">
      <label for={p.testid}>{t(p.label)}</label>
      <input id={p.testid} class="input" type="number" inputMode="numeric" min={p.min} max={p.max} value={p.value} data-testid={p.testid}
        aria-describedby={`${p.testid}-hint`} onInput={(e) => p.onInput((e.target as HTMLInputElement).value)} />
      <p class="field__hint" id={`${p.testid}-hint`}>{t(p.hint)}</p>
    </div>
  );
}

function MemberBox(p: { member: QueueMember; label: string; detail?: string; checked: boolean; onToggle: (on: boolean) => void }) {
  const id = isUser(p.member) ? `queue-member-user-${p.member.user}` : `queue-member-group-${p.member.group}`;
  return (
    <label class="checkbox">
      <input type="checkbox" data-testid={id} checked={p.checked} onChange={(e) => p.onToggle((e.target as HTMLInputElement).checked)} />
      <span>{p.label}</span>
      {p.detail && <span class="muted">{p.detail}</span>}
    </label>
  );
}

interface EditorProps {
  draft: Draft;
  title: string;
  users: TelUser[];
  groups: Group[];
  onChange: (d: Draft) => void;
  onSaved: (q: Queue) => void;
  onCancel: () => void;
}

function QueueEditor({ draft: d, title, users, groups, onChange, onSaved, onCancel }: EditorProps) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => onChange({ ...d, ...patch });
  const has = (m: QueueMember) => d.members.some((x) => sameMember(x, m));
  const toggle = (m: QueueMember, on: boolean) =>
    set({ members: on ? (has(m) ? d.members : [...d.members, m]) : d.members.filter((x) => !sameMember(x, m)) });
  // Members the lists no longer have (a user taken out of telephony, a deleted group): shown ticked, to untick.
  const strayUsers = d.members.filter((m): m is { user: number } => isUser(m) && !users.some((u) => u.user_id === m.user));
  const strayGroups = d.members.filter((m): m is { group: number } => !isUser(m) && !groups.some((g) => g.id === m.group));

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    const nums = {} as Record<NumberKey, number>;
    for (const f of NUMBERS) {
      const v = whole(d[f.field]);
      if (v === null) {
        setError(t('queues.notWhole', { field: t(f.label) }));
        return;
      }
      nums[f.field] = v;
    }
    const body: QueueBody = {
      name: d.name,
      strategy: d.strategy,
      ...nums,
      announce_position: d.announce_position,
      callback: d.callback,
      overflow: d.overflow,
      overflow_number: d.overflow === 'forward' ? d.overflow_number.trim() || null : null,
      members: d.members,
    };
    setBusy(true);
    try {
      onSaved(d.id === null ? await api.createQueue(body) : await api.updateQueue(d.id, body));
    } catch (err) {
      setError(explainSave(err, body.members, users, groups));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="access" data-testid="queue-editor" noValidate onSubmit={save}>
      <h3>{title}</h3>
      <div class="field">
        <label for="queue-name">{t('queues.name')}</label>
        <input id="queue-name" class="input" data-testid="queue-name" value={d.name}
          onInput={(e) => set({ name: (e.target as HTMLInputElement).value })} />
      </div>
      <div class="field">
        <label for="queue-strategy">{t('queues.strategy')}</label>
        <select id="queue-strategy" class="input" data-testid="queue-strategy" value={d.strategy} aria-describedby="queue-strategy-hint"
          onChange={(e) => set({ strategy: (e.target as HTMLSelectElement).value })}>
          {STRATEGIES.map((s) => <option key={s} value={s}>{t(`queues.strategy.${s}`)}</option>)}
          {!(STRATEGIES as readonly string[]).includes(d.strategy) && <option value={d.strategy}>{d.strategy}</option>}
        </select>
        <p class="field__hint" id="queue-strategy-hint" data-testid="queue-strategy-hint">
          {(STRATEGIES as readonly string[]).includes(d.strategy) ? t(`queues.strategyHint.${d.strategy}` as MessageKey) : ''}
        </p>
      </div>
      <div class="field-row">
        {NUMBERS.slice(0, 2).map((f) => (
          <NumberField key={f.field} testid={f.testid} label={f.label} hint={f.hint} min={f.min} max={f.max} value={d[f.field]}
            onInput={(v) => set({ [f.field]: v } as Partial<Draft>)} />
        ))}
      </div>
      <div class="field-row">
        {NUMBERS.slice(2).map((f) => (
          <NumberField key={f.field} testid={f.testid} label={f.label} hint={f.hint} min={f.min} max={f.max} value={d[f.field]}
            onInput={(v) => set({ [f.field]: v } as Partial<Draft>)} />
        ))}
      </div>
      <label class="check">
        <input type="checkbox" data-testid="queue-announce" checked={d.announce_position}
          onChange={(e) => set({ announce_position: (e.target as HTMLInputElement).checked })} />
        {t('queues.announce')}
      </label>
      <label class="check">
        <input type="checkbox" data-testid="queue-callback" checked={d.callback} aria-describedby="queue-callback-hint"
          onChange={(e) => set({ callback: (e.target as HTMLInputElement).checked })} />
        {t('queues.callback')}
      </label>
      <p class="field__hint" id="queue-callback-hint" data-testid="queue-callback-hint">
        {d.callback && !d.announce_position ? t('queues.callbackUnheard') : t('queues.callbackHint')}
      </p>
      <div class="field-row">
        <div class="field">
          <label for="queue-overflow">{t('queues.overflow')}</label>
          <select id="queue-overflow" class="input" data-testid="queue-overflow" value={d.overflow}
            onChange={(e) => set({ overflow: (e.target as HTMLSelectElement).value })}>
            {OVERFLOWS.map((o) => <option key={o} value={o}>{t(`queues.overflow.${o}`)}</option>)}
          </select>
        </div>
        {d.overflow === 'forward' && (
          <div class="field">
            <label for="queue-overflow-number">{t('queues.overflowNumber')}</label>
            <input id="queue-overflow-number" class="input" inputMode="tel" data-testid="queue-overflow-number" value={d.overflow_number}
              onInput={(e) => set({ overflow_number: (e.target as HTMLInputElement).value })} />
          </div>
        )}
      </div>
      <fieldset class="checkboxes" data-testid="queue-users">
        <legend>{t('queues.usersLegend')}</legend>
        {users.length === 0 && <p class="muted">{t('queues.noTelUsers')}</p>}
        {users.map((u) => (
          <MemberBox key={u.user_id} member={{ user: u.user_id }} label={u.name} detail={u.extension}
            checked={has({ user: u.user_id })} onToggle={(on) => toggle({ user: u.user_id }, on)} />
        ))}
        {strayUsers.map((m) => (
          <MemberBox key={m.user} member={m} label={memberLabel(m, users, groups)} checked onToggle={(on) => toggle(m, on)} />
        ))}
      </fieldset>
      <fieldset class="checkboxes" data-testid="queue-groups">
        <legend>{t('queues.groupsLegend')}</legend>
        {groups.length === 0 && <p class="muted">{t('queues.noGroups')}</p>}
        {groups.map((g) => (
          <MemberBox key={g.id} member={{ group: g.id }} label={g.name} checked={has({ group: g.id })}
            onToggle={(on) => toggle({ group: g.id }, on)} />
        ))}
        {strayGroups.map((m) => (
          <MemberBox key={m.group} member={m} label={memberLabel(m, users, groups)} checked onToggle={(on) => toggle(m, on)} />
        ))}
      </fieldset>
      {error && <Alert kind="error">{error}</Alert>}
      <div class="toolbar">
        <button type="submit" class="btn btn--primary" data-testid="queue-save" disabled={busy}>
          {busy ? t('common.saving') : t('common.save')}
        </button>
        <button type="button" class="btn" data-testid="queue-cancel" disabled={busy} onClick={onCancel}>{t('common.cancel')}</button>
      </div>
    </form>
  );
}

export function QueuesForm({ onChanged }: { onChanged?: () => void }) {
  const { data: [queues, users, groups], error, load } = useLoaded<[Queue[], TelUser[], Group[]]>(
    () => Promise.all([api.queues(), api.listTelUsers(), api.listGroups()]),
    [[], [], []],
  );
  const [draft, setDraft] = useState<Draft | null>(null);
  const [deleting, setDeleting] = useState<Queue | null>(null);
  const [note, setNote] = useState<string | null>(null);

  async function changed(message: string | null) {
    setNote(message);
    await load();
    onChanged?.();
  }

  return (
    <div class="card" data-testid="queues">
      <h2>{t('queues.title')}</h2>
      <p class="muted">{t('queues.intro')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      {queues.length === 0 ? (
        <p>{t('queues.empty')}</p>
      ) : (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th>{t('queues.name')}</th>
                <th>{t('queues.strategy')}</th>
                <th>{t('queues.members')}</th>
                <th>{t('queues.overflow')}</th>
                <th><span class="sr-only">{t('common.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {queues.map((q) => (
                <tr key={q.id} data-testid="queue-row" data-queue={q.id}>
                  <td>
                    <strong>{q.name}</strong>
                    <div class="muted small">
                      {t('queues.times', { ring: q.ring_secs, wait: q.max_wait_secs })}
                      {q.callback && <> · <span data-testid="queue-row-callback">{t('queues.callbackOn')}</span></>}
                    </div>
                  </td>
                  <td>{strategyLabel(q.strategy)}</td>
                  <td data-testid="queue-members-summary">{membersSummary(q.members, users, groups)}</td>
                  <td>{overflowLabel(q)}</td>
                  <td class="table__actions row-actions">
                    <button type="button" class="btn btn--small" data-testid="queue-edit" aria-label={`${t('common.edit')}: ${q.name}`}
                      onClick={() => {
                        setNote(null);
                        setDraft(draftOf(q));
                      }}>
                      {t('common.edit')}
                    </button>
                    <button type="button" class="btn btn--small btn--danger-outline" data-testid="queue-delete" aria-label={`${t('common.delete')}: ${q.name}`}
                      onClick={() => setDeleting(q)}>
                      {t('common.delete')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {note && <p role="status" data-testid="queue-note">{note}</p>}
      {draft ? (
        <QueueEditor
          key={draft.id ?? 'new'}
          draft={draft}
          title={draft.id === null ? t('queues.newTitle') : t('queues.editTitle', { name: queues.find((q) => q.id === draft.id)?.name ?? draft.name })}
          users={users}
          groups={groups}
          onChange={setDraft}
          onCancel={() => setDraft(null)}
          onSaved={(q) => {
            setDraft(null);
            void changed(t('queues.saved', { name: q.name }));
          }}
        />
      ) : (
        <button type="button" class="btn btn--primary" data-testid="queue-new" onClick={() => {
          setNote(null);
          setDraft({ ...FRESH });
        }}>
          {t('queues.new')}
        </button>
      )}
      {deleting && (
        <ConfirmDialog
          title={t('queues.deleteTitle', { name: deleting.name })}
          message={t('queues.deleteMessage')}
          confirmLabel={t('common.delete')}
          busyLabel={t('common.deleting')}
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api.deleteQueue(deleting.id);
            if (draft?.id === deleting.id) setDraft(null);
            setDeleting(null);
            await changed(null);
          }}
        />
      )}
    </div>
  );
}
