/**
 * Voice menus, IVR (issue #19): a greeting, digits leading to a queue, a user, another menu, a
 * number, voicemail or everyone, how long to wait for a digit, how often the greeting plays again,
 * and where a caller who presses nothing goes (the fallback). A destination travels as a compact
 * string (`queue:7`, `number:+7495…`); one whose queue, user or menu was deleted comes back `gone`
 * (`queue:` without an id) and is shown so the administrator chooses again. The server checks
 * everything and names the field it refuses (`options[1].digit: …`): the editor marks that row and
 * keeps what was typed, so bad input loses nothing.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ComponentChild } from 'preact';
import { ApiError, api, isApiError } from '../../shared/api/client';
import type { Menu, MenuBody, MenuOption, Queue, TelUser } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { Alert } from '../../shared/ui/Alert';
import { ConfirmDialog } from '../../shared/ui/ConfirmDialog';
import { Icon } from '../../shared/ui/Icon';
import { useLoaded } from '../../shared/ui/useLoaded';
import { t, type MessageKey } from '../../shared/i18n';
import { NumberField, whole } from './QueuesForm';

/** Where a digit can lead; a fallback may also hang up. */
const KINDS = ['ring_all', 'queue', 'user', 'menu', 'number', 'voicemail'];
const FALLBACK_KINDS = [...KINDS, 'hangup'];
/** The kinds written `kind:<target>`. */
const TARGETED = ['queue', 'user', 'menu', 'number'];
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];
/** The order a new row takes the first free digit in: the keypad's. */
const KEYPAD = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '*', '#'];
/** The server's limit on a greeting file. */
const MAX_GREETING = 10 * 1024 * 1024;

/** A destination being edited: `target` is an id or a number as typed; '' when not chosen yet or gone. */
interface Dest {
  kind: string;
  target: string;
  gone: boolean;
}

interface OptionDraft extends Dest {
  /** Stable while rows are added and removed. */
  key: number;
  digit: string;
}

/** The editor's fields; numbers as typed. `id`: null for a new menu. */
interface Draft {
  /** One per opened editor (a new menu keeps its editor when it gets its id). */
  key: number;
  id: number | null;
  name: string;
  timeout_secs: string;
  retries: string;
  options: OptionDraft[];
  fallback: Dest;
  /** A greeting is uploaded. */
  greeting: boolean;
  /** A new menu's greeting, uploaded right after the menu is saved. */
  file: File | null;
}

/** A refused row (`options[i]`) or the fallback. */
type Bad = number | 'fallback' | null;

/** The lists a destination's target is chosen from and named by. */
interface Lists {
  queues: Queue[];
  users: TelUser[];
  menus: Menu[];
}

let keys = 0;

function destOf(to: string, gone = false): Dest {
  const i = to.indexOf(':');
  return { kind: i < 0 ? to : to.slice(0, i), target: gone || i < 0 ? '' : to.slice(i + 1), gone };
}

function toOf(d: Dest): string {
  return TARGETED.includes(d.kind) ? `${d.kind}:${d.target.trim()}` : d.kind;
}

const optionOf = (o: MenuOption): OptionDraft => ({ key: keys++, digit: o.digit, ...destOf(o.to, !!o.gone) });

/** A new menu: the server's defaults. */
const fresh = (): Draft => ({
  key: keys++, id: null, name: '', timeout_secs: '5', retries: '2', options: [], fallback: destOf('ring_all'), greeting: false, file: null,
});

function draftOf(m: Menu): Draft {
  return {
    key: keys++, id: m.id, name: m.name, timeout_secs: String(m.timeout_secs), retries: String(m.retries),
    options: m.options.map(optionOf), fallback: destOf(m.fallback, m.fallback_gone), greeting: m.greeting, file: null,
  };
}

function kindLabel(kind: string): string {
  return FALLBACK_KINDS.includes(kind) ? t(`menus.kind.${kind}` as MessageKey) : kind;
}

/** What a destination's target can be: `value` as the compact string has it. */
function choices(kind: string, l: Lists, self: number | null): { value: string; label: string }[] {
  if (kind === 'queue') return l.queues.map((q) => ({ value: String(q.id), label: q.name }));
  if (kind === 'user') return l.users.map((u) => ({ value: String(u.user_id), label: `${u.name} (${u.extension})` }));
  if (kind === 'menu') return l.menus.filter((m) => m.id !== self).map((m) => ({ value: String(m.id), label: m.name }));
  return [];
}

/** A destination in words: "Queue Support", "Maria", "+74951234567", "Voicemail". */
function destLabel(to: string, gone: boolean, l: Lists): string {
  if (gone) return t('menus.to.gone');
  const d = destOf(to);
  const id = Number(d.target);
  const unknown = () => `${kindLabel(d.kind)} ${t('menus.to.unknown', { id: d.target })}`;
  if (d.kind === 'queue') {
    const q = l.queues.find((x) => x.id === id);
    return q ? t('menus.to.queue', { name: q.name }) : unknown();
  }
  if (d.kind === 'user') return l.users.find((x) => x.user_id === id)?.name ?? unknown();
  if (d.kind === 'menu') {
    const m = l.menus.find((x) => x.id === id);
    return m ? t('menus.to.menu', { name: m.name }) : unknown();
  }
  if (d.kind === 'number') return d.target;
  return kindLabel(d.kind);
}

function digitsSummary(m: Menu, l: Lists): string {
  if (m.options.length === 0) return t('menus.noDigits');
  return m.options.map((o) => `${o.digit} → ${destLabel(o.to, !!o.gone, l)}`).join(', ');
}

/**
 * The controls of one destination — the kind, then the target (a list, or a number to type) — for
 * the caller to lay out. `testid`: `menu-option` or `menu-fallback`; `label` names the row.
 */
function destControls(p: {
  dest: Dest; kinds: string[]; testid: string; label: string; lists: Lists; self: number | null; invalid: boolean; onChange: (d: Dest) => void;
}): [ComponentChild, ComponentChild] {
  const d = p.dest;
  const list = choices(d.kind, p.lists, p.self);
  const invalid = p.invalid || undefined;
  const kind = (
    <select class="input" data-testid={`${p.testid}-kind`} aria-label={`${t('menus.goesTo')}: ${p.label}`} aria-invalid={invalid}
      value={d.kind}
      onChange={(e) => {
        const k = (e.target as HTMLSelectElement).value;
        // A list's first entry is taken at once (what the select shows); a number is typed.
        p.onChange({ kind: k, target: choices(k, p.lists, p.self)[0]?.value ?? '', gone: false });
      }}>
      {p.kinds.map((k) => <option key={k} value={k}>{kindLabel(k)}</option>)}
      {!p.kinds.includes(d.kind) && <option value={d.kind}>{d.kind}</option>}
    </select>
  );
  const targetLabel = `${t('menus.target')}: ${p.label}`;
  let target: ComponentChild = null;
  if (d.kind === 'number') {
    target = (
      <input class="input" inputMode="tel" data-testid={`${p.testid}-target`} aria-label={targetLabel} aria-invalid={invalid}
        placeholder={t('menus.numberPlaceholder')} value={d.target}
        onInput={(e) => p.onChange({ ...d, target: (e.target as HTMLInputElement).value })} />
    );
  } else if (TARGETED.includes(d.kind)) {
    target = (
      <select class="input" data-testid={`${p.testid}-target`} aria-label={targetLabel} aria-invalid={invalid} value={d.target}
        onChange={(e) => p.onChange({ ...d, target: (e.target as HTMLSelectElement).value, gone: false })}>
        {d.target === '' && (
          <option value="" disabled>{d.gone ? t('menus.chooseAgain') : list.length ? t('menus.choose') : t('menus.noneYet')}</option>
        )}
        {list.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
        {d.target !== '' && !list.some((c) => c.value === d.target) && (
          <option value={d.target}>{t('menus.to.unknown', { id: d.target })}</option>
        )}
      </select>
    );
  }
  return [kind, target];
}

/**
 * What to say about a refused save, and which row it names: the server's code in the user's
 * language, prefixed with the digit (`options[i]` of the body sent) or "Fallback".
 */
function explainSave(e: unknown, rows: OptionDraft[]): [Bad, string] {
  if (!isApiError(e)) return [null, describeError(e)];
  if (e.code === 'invalid_name') return [null, t('menus.invalidName')];
  const m = /^(?:options\[(\d+)\]\.\w+|fallback): ([\s\S]*)$/.exec(e.message);
  if (!m) return [null, describeError(e)];
  const text = describeError(new ApiError(e.status, e.code, m[2]!));
  if (m[1] === undefined) return ['fallback', t('menus.fieldError', { field: t('menus.fallbackField'), error: text })];
  const row = rows[Number(m[1])];
  if (!row) return [null, describeError(e)];
  return [Number(m[1]), t('menus.fieldError', { field: t('menus.digitField', { digit: row.digit }), error: text })];
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

interface EditorProps {
  draft: Draft;
  title: string;
  lists: Lists;
  /** Changes the draft (also after an upload finished: what was typed meanwhile stays). */
  onPatch: (patch: Partial<Draft>) => void;
  /** Saved (and its greeting uploaded, `note` says so): the editor closes. */
  onSaved: (m: Menu, note: string | null) => void;
  /** Something was stored while the editor stays open (a greeting, or a new menu whose greeting failed). */
  onStored: () => void;
  onCancel: () => void;
}

function MenuEditor({ draft: d, title, lists, onPatch, onSaved, onStored, onCancel }: EditorProps) {
  const [error, setError] = useState<string | null>(null);
  const [bad, setBad] = useState<Bad>(null);
  const [busy, setBusy] = useState(false);
  const [greetingNote, setGreetingNote] = useState<string | null>(null);
  const [greetingError, setGreetingError] = useState<string | null>(null);
  const setOption = (i: number, patch: Partial<OptionDraft>) =>
    onPatch({ options: d.options.map((o, j) => (j === i ? { ...o, ...patch } : o)) });

  function addOption() {
    const digit = KEYPAD.find((k) => !d.options.some((o) => o.digit === k)) ?? '1';
    setBad(null);
    onPatch({ options: [...d.options, { key: keys++, digit, kind: 'ring_all', target: '', gone: false }] });
  }

  async function chooseGreeting(f: File) {
    setGreetingError(null);
    setGreetingNote(null);
    if (f.size > MAX_GREETING) {
      setGreetingError(t('menus.greetingTooBig'));
      return;
    }
    if (d.id === null) {
      onPatch({ file: f });
      return;
    }
    setGreetingNote(t('tel.greetingUploading'));
    try {
      const g = await api.uploadMenuGreeting(d.id, f);
      onPatch({ greeting: true });
      setGreetingNote(t('menus.greetingSaved', { seconds: seconds(g.duration_ms) }));
      onStored();
    } catch (err) {
      setGreetingNote(null);
      setGreetingError(describeError(err));
    }
  }

  async function removeGreeting() {
    setGreetingError(null);
    setGreetingNote(null);
    if (d.id === null || !d.greeting) {
      onPatch({ file: null });
      return;
    }
    try {
      await api.deleteMenuGreeting(d.id);
      onPatch({ greeting: false });
      setGreetingNote(t('menus.greetingRemoved'));
      onStored();
    } catch (err) {
      setGreetingError(describeError(err));
    }
  }

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    setBad(null);
    const timeout = whole(d.timeout_secs);
    const retries = whole(d.retries);
    if (timeout === null || retries === null) {
      setError(t('queues.notWhole', { field: t(timeout === null ? 'menus.timeout' : 'menus.retries') }));
      return;
    }
    const missing = d.options.findIndex((o) => TARGETED.includes(o.kind) && !o.target.trim());
    if (missing >= 0) {
      setBad(missing);
      setError(t('menus.chooseTarget', { digit: d.options[missing]!.digit }));
      return;
    }
    if (TARGETED.includes(d.fallback.kind) && !d.fallback.target.trim()) {
      setBad('fallback');
      setError(t('menus.chooseFallback'));
      return;
    }
    const body: MenuBody = {
      name: d.name,
      timeout_secs: timeout,
      retries,
      fallback: toOf(d.fallback),
      options: d.options.map((o) => ({ digit: o.digit, to: toOf(o) })),
    };
    setBusy(true);
    let saved: Menu;
    try {
      saved = d.id === null ? await api.createMenu(body) : await api.updateMenu(d.id, body);
    } catch (err) {
      const [row, text] = explainSave(err, d.options);
      setBad(row);
      setError(text);
      setBusy(false);
      return;
    }
    if (!d.file) {
      setBusy(false);
      onSaved(saved, null);
      return;
    }
    // A new menu's greeting goes right after it; if the file is refused the menu stays saved and
    // the editor stays open on it, to choose another file.
    setGreetingNote(t('tel.greetingUploading'));
    try {
      const g = await api.uploadMenuGreeting(saved.id, d.file);
      setBusy(false);
      onSaved(saved, t('menus.greetingSaved', { seconds: seconds(g.duration_ms) }));
    } catch (err) {
      setBusy(false);
      setGreetingNote(null);
      setGreetingError(t('menus.greetingFailed', { error: describeError(err) }));
      onPatch({ id: saved.id, file: null });
      onStored();
    }
  }

  const fallback = destControls({
    dest: d.fallback, kinds: FALLBACK_KINDS, testid: 'menu-fallback', label: t('menus.fallbackField'), lists, self: d.id,
    invalid: bad === 'fallback', onChange: (f) => onPatch({ fallback: f }),
  });
  const greetingStatus = greetingNote
    ?? (d.file ? t('menus.greetingPending', { file: d.file.name }) : d.greeting ? t('menus.greetingHas') : t('menus.greetingNone'));

  return (
    <form class="access" data-testid="menu-editor" noValidate onSubmit={save}>
      <h3>{title}</h3>
      <div class="field">
        <label for="menu-name">{t('menus.name')}</label>
        <input id="menu-name" class="input" data-testid="menu-name" value={d.name}
          onInput={(e) => onPatch({ name: (e.target as HTMLInputElement).value })} />
      </div>
      <div class="field-row">
        <NumberField testid="menu-timeout" label="menus.timeout" hint="menus.timeoutHint" min={2} max={30} value={d.timeout_secs}
          onInput={(v) => onPatch({ timeout_secs: v })} />
        <NumberField testid="menu-retries" label="menus.retries" hint="menus.retriesHint" min={0} max={5} value={d.retries}
          onInput={(v) => onPatch({ retries: v })} />
      </div>
      <fieldset class="checkboxes" data-testid="menu-options">
        <legend>{t('menus.digits')}</legend>
        {d.options.length === 0 ? (
          <p class="muted">{t('menus.noDigits')}</p>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>{t('menus.digit')}</th>
                <th>{t('menus.goesTo')}</th>
                <th>{t('menus.target')}</th>
                <th><span class="sr-only">{t('common.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {d.options.map((o, i) => {
                const label = t('menus.digitField', { digit: o.digit });
                const [kind, target] = destControls({
                  dest: o, kinds: KINDS, testid: 'menu-option', label, lists, self: d.id, invalid: bad === i,
                  onChange: (x) => setOption(i, x),
                });
                return (
                  <tr key={o.key} data-testid="menu-option" data-digit={o.digit} data-invalid={bad === i ? 'true' : undefined}>
                    <td>
                      <select class="input" data-testid="menu-option-digit" aria-label={label} aria-invalid={bad === i || undefined}
                        value={o.digit} onChange={(e) => setOption(i, { digit: (e.target as HTMLSelectElement).value })}>
                        {DIGITS.map((k) => <option key={k} value={k}>{k}</option>)}
                      </select>
                    </td>
                    <td>{kind}</td>
                    <td>
                      {target}
                      {o.gone && (
                        <p class="warn" role="status" data-testid="menu-option-gone"><Icon name="alert" size={14} /> {t('menus.optionGone')}</p>
                      )}
                      {bad === i && <p class="field__error" data-testid="menu-option-error">{t('menus.rowRefused')}</p>}
                    </td>
                    <td class="table__actions">
                      <button type="button" class="btn btn--small btn--quiet" data-testid="menu-option-remove"
                        aria-label={t('menus.removeOption', { digit: o.digit })}
                        onClick={() => {
                          setBad(null);
                          onPatch({ options: d.options.filter((_, j) => j !== i) });
                        }}>
                        ×
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        <button type="button" class="btn btn--small" data-testid="menu-option-add" disabled={d.options.length >= DIGITS.length}
          onClick={addOption}>
          {t('menus.addOption')}
        </button>
      </fieldset>
      <fieldset class="checkboxes" data-testid="menu-fallback" data-invalid={bad === 'fallback' ? 'true' : undefined}>
        <legend>{t('menus.fallbackLegend')}</legend>
        <div class="field-row">
          <div class="field">{fallback[0]}</div>
          {fallback[1] && <div class="field">{fallback[1]}</div>}
        </div>
        {d.fallback.gone && (
          <p class="warn" role="status" data-testid="menu-fallback-gone"><Icon name="alert" size={14} /> {t('menus.fallbackGone')}</p>
        )}
        {bad === 'fallback' && <p class="field__error" data-testid="menu-fallback-error">{t('menus.rowRefused')}</p>}
      </fieldset>
      <div class="field">
        <label for="menu-greeting-file">{t('menus.greetingFile')}</label>
        <input id="menu-greeting-file" type="file" accept="audio/mpeg,audio/wav,.mp3,.wav" data-testid="menu-greeting-file"
          aria-describedby="menu-greeting-status" disabled={busy}
          onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) void chooseGreeting(f);
          }} />
        <p class="field__hint" id="menu-greeting-status" role="status" data-testid="menu-greeting-status">{greetingStatus}</p>
      </div>
      {greetingError && <Alert kind="error"><span data-testid="menu-greeting-error">{greetingError}</span></Alert>}
      {(d.greeting || d.file) && (
        <button type="button" class="btn btn--quiet" data-testid="menu-greeting-remove" disabled={busy} onClick={() => void removeGreeting()}>
          {t('menus.greetingRemove')}
        </button>
      )}
      {error && <Alert kind="error">{error}</Alert>}
      <div class="toolbar">
        <button type="submit" class="btn btn--primary" data-testid="menu-save" disabled={busy}>
          {busy ? t('common.saving') : t('common.save')}
        </button>
        <button type="button" class="btn" data-testid="menu-cancel" disabled={busy} onClick={onCancel}>{t('common.cancel')}</button>
      </div>
    </form>
  );
}

interface Props {
  /** Changes after a queue was saved or deleted: the menus (their `gone` digits) and the lists are read again. */
  version?: number;
  /** A menu was saved or deleted (the first steps read again). */
  onChanged?: () => void;
}

export function MenusForm({ version = 0, onChanged }: Props) {
  const { data: [menus, queues, users], error, load } = useLoaded<[Menu[], Queue[], TelUser[]]>(
    () => Promise.all([api.menus(), api.queues(), api.listTelUsers()]),
    [[], [], []],
  );
  const [draft, setDraft] = useState<Draft | null>(null);
  const [deleting, setDeleting] = useState<Menu | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const lists: Lists = { queues, users, menus };
  useEffect(() => {
    if (version > 0) void load();
  }, [version]);

  async function changed(message: string | null) {
    setNote(message);
    await load();
    onChanged?.();
  }

  return (
    <div class="card" data-testid="menus">
      <h2>{t('menus.title')}</h2>
      <p class="muted">{t('menus.intro')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      {menus.length === 0 ? (
        <p>{t('menus.empty')}</p>
      ) : (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th>{t('menus.name')}</th>
                <th>{t('menus.greeting')}</th>
                <th>{t('menus.digits')}</th>
                <th>{t('menus.fallback')}</th>
                <th><span class="sr-only">{t('common.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {menus.map((m) => {
                const gone = m.fallback_gone || m.options.some((o) => o.gone);
                return (
                  <tr key={m.id} data-testid="menu-row" data-menu={m.id} data-gone={gone ? 'true' : undefined}>
                    <td>
                      <strong>{m.name}</strong>
                      <div class="muted small">{t('menus.times', { timeout: m.timeout_secs, retries: m.retries })}</div>
                    </td>
                    <td data-testid="menu-greeting">{m.greeting ? t('menus.greetingYes') : t('menus.greetingNo')}</td>
                    <td>
                      <span data-testid="menu-digits">{digitsSummary(m, lists)}</span>
                      {gone && (
                        <p class="warn" role="status" data-testid="menu-gone"><Icon name="alert" size={14} /> {t('menus.gone')}</p>
                      )}
                    </td>
                    <td data-testid="menu-fallback-summary">{destLabel(m.fallback, m.fallback_gone, lists)}</td>
                    <td class="table__actions row-actions">
                      <button type="button" class="btn btn--small" data-testid="menu-edit" aria-label={`${t('common.edit')}: ${m.name}`}
                        onClick={() => {
                          setNote(null);
                          setDraft(draftOf(m));
                        }}>
                        {t('common.edit')}
                      </button>
                      <button type="button" class="btn btn--small btn--danger-outline" data-testid="menu-delete"
                        aria-label={`${t('common.delete')}: ${m.name}`} onClick={() => setDeleting(m)}>
                        {t('common.delete')}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {note && <p role="status" data-testid="menu-note">{note}</p>}
      {draft ? (
        <MenuEditor
          key={draft.key}
          draft={draft}
          title={draft.id === null ? t('menus.newTitle') : t('menus.editTitle', { name: menus.find((m) => m.id === draft.id)?.name ?? draft.name })}
          lists={lists}
          onPatch={(patch) => setDraft((d) => d && { ...d, ...patch })}
          onCancel={() => setDraft(null)}
          onStored={() => void changed(null)}
          onSaved={(m, greeting) => {
            setDraft(null);
            void changed([t('menus.saved', { name: m.name }), greeting].filter(Boolean).join(' '));
          }}
        />
      ) : (
        <button type="button" class="btn btn--primary" data-testid="menu-new" onClick={() => {
          setNote(null);
          setDraft(fresh());
        }}>
          {t('menus.new')}
        </button>
      )}
      {deleting && (
        <ConfirmDialog
          title={t('menus.deleteTitle', { name: deleting.name })}
          message={t('menus.deleteMessage')}
          confirmLabel={t('common.delete')}
          busyLabel={t('common.deleting')}
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api.deleteMenu(deleting.id);
            if (draft?.id === deleting.id) setDraft(null);
            setDeleting(null);
            await changed(null);
          }}
        />
      )}
    </div>
  );
}
