/** One call of the history: the row, and its details with the recording, note and dictionaries. */
import { useState } from 'preact/hooks';
import { QualityFacts } from './QualityFacts';
import { api } from '../../shared/api/client';
import type { CallRecord } from '../../shared/api/types';
import { describeError } from '../../shared/api/errors';
import { t, type MessageKey } from '../../shared/i18n';
import { dial, isMasked } from '../crm/dial';
import { fmtSecs, fmtTime } from './format';

interface RowProps {
  c: CallRecord;
  open: boolean;
  selected: boolean;
  isAdmin: boolean;
  dicts: { types: string[]; results: string[] };
  onToggleOpen: () => void;
  onSelect: (on: boolean) => void;
  onChanged: (c: CallRecord) => void;
}

/**
 * A finished inbound call nobody answered: on the missed-calls worklist until someone calls the
 * number (the server's `called_back` filter takes the same calls).
 */
const unanswered = (c: CallRecord) => c.direction === 'inbound' && !c.answered_at && !!c.result;

/** Whether someone called a missed call back — who and when — or a marker that nobody has yet. */
function CalledBack({ c }: { c: CallRecord }) {
  if (c.called_back_at) {
    return (
      <div class="muted small" data-testid="call-called-back">
        {c.called_back_by
          ? t('calls.calledBackBy', { name: c.called_back_by, time: fmtTime(c.called_back_at) })
          : t('calls.calledBackAt', { time: fmtTime(c.called_back_at) })}
      </div>
    );
  }
  if (!unanswered(c)) return null;
  return <span class="badge badge--new" data-testid="call-not-called-back">{t('calls.notCalledBack')}</span>;
}

export function CallRow({ c, open, selected, isAdmin, dicts, onToggleOpen, onSelect, onChanged }: RowProps) {
  const stored = c.recording?.state === 'stored';
  return (
    <>
      <tr data-testid={`call-${c.id}`} class={c.result === 'missed' ? 'row--missed' : undefined}>
        <td>
          <input type="checkbox" disabled={!stored} checked={selected} aria-label={t('calls.select')}
            onChange={(e) => onSelect((e.target as HTMLInputElement).checked)} />
        </td>
        <td><button type="button" class="link" onClick={onToggleOpen} aria-expanded={open}>{fmtTime(c.started_at)}</button></td>
        <td>{t(`calls.dir.${c.direction}` as MessageKey)}</td>
        {/* A transferred call names every agent who talked on it, in order. */}
        <td data-testid={`call-agents-${c.id}`}>{c.agent_names.length > 1 ? c.agent_names.join(' → ') : c.user_name ?? '—'}</td>
        <td class="mono">
          {c.number}
          {c.client && <> · <a href={`#/crm?table=${c.client.table_id}&record=${c.client.record_id}`} data-testid={`call-client-${c.id}`}>{c.client.title || `#${c.client.record_id}`}</a></>}
          {/* A missed call's number is dialled from the row (the phone dock takes it; not when the number is masked). */}
          {unanswered(c) && !isMasked(c.number) && (
            <button type="button" class="btn btn--quiet btn--small" data-testid="call-dial-back" aria-label={`${t('calls.dialBack')}: ${c.number}`}
              onClick={() => dial({ number: c.number, label: c.client?.title || c.number })}>
              ☎ {t('calls.dialBack')}
            </button>
          )}
        </td>
        <td>{fmtSecs(c.duration_secs)}</td>
        <td title={c.reason ?? undefined}>
          {c.result ? t(`calls.res.${c.result}` as MessageKey) : t('calls.inProgress')}
          {c.voicemail && (
            <span class={c.voicemail_new ? 'badge badge--new' : 'badge'} data-testid={`call-vm-${c.id}`}>
              {c.voicemail_new ? t('calls.voicemailNew') : t('calls.voicemail')}
            </span>
          )}
          <CalledBack c={c} />
        </td>
        <td title={c.recording?.reason ?? undefined} data-testid={`call-rec-${c.id}`}>{c.recording ? t(`calls.rec.${c.recording.state}` as MessageKey) : '—'}</td>
      </tr>
      {open && (
        <tr class="row--detail">
          <td colSpan={8}>
            <CallDetail c={c} isAdmin={isAdmin} dicts={dicts} onChanged={onChanged} />
          </td>
        </tr>
      )}
    </>
  );
}

function CallDetail({ c, isAdmin, dicts, onChanged }: { c: CallRecord; isAdmin: boolean; dicts: RowProps['dicts']; onChanged: (c: CallRecord) => void }) {
  const [note, setNote] = useState(c.note ?? '');
  const [msg, setMsg] = useState<string | null>(null);
  async function patch(p: Parameters<typeof api.patchCall>[1]) {
    try {
      onChanged(await api.patchCall(c.id, p));
      setMsg(t('tel.saved'));
    } catch (e) {
      setMsg(describeError(e));
    }
  }
  return (
    <div class="call-detail">
      <dl class="facts">
        <dt>{t('calls.connect')}</dt><dd>{fmtSecs(c.connect_secs)}</dd>
        <dt>{t('calls.talk')}</dt><dd>{fmtSecs(c.talk_secs)}</dd>
        <dt>{t('calls.hold')}</dt><dd>{fmtSecs(c.hold_secs)}</dd>
        <dt>{t('calls.wrapup')}</dt><dd>{fmtSecs(c.wrapup_secs ?? null)}</dd>
        {c.did && (<><dt>DID</dt><dd>{c.did}</dd></>)}
        {c.trunk_slot !== null && (<><dt>{t('calls.trunk')}</dt><dd>{c.trunk_slot}</dd></>)}
        {c.reason && (<><dt>{t('calls.reason')}</dt><dd>{c.reason}</dd></>)}
        {c.route_note && (<><dt>{t('calls.route')}</dt><dd>{c.route_note}</dd></>)}
        {c.recording?.reason && (<><dt>{t('calls.recording')}</dt><dd data-testid="call-rec-reason">{c.recording.reason}</dd></>)}
      </dl>
      {c.answered_at && <QualityFacts callId={c.id} />}
      {c.recording?.state === 'stored' && (
        <div class="player">
          <audio controls preload="none" src={`/api/calls/${c.id}/recording`} data-testid="call-audio" />
          <a class="btn" href={`/api/calls/${c.id}/recording?download=1`} download={c.recording.file_name}>{t('calls.download')}</a>
        </div>
      )}
      <div class="call-detail__edit">
        <label class="field field--inline">
          <span>{t('calls.type')}</span>
          <select class="input" value={c.call_type ?? ''} onChange={(e) => patch({ call_type: (e.target as HTMLSelectElement).value })}>
            <option value="">—</option>
            {dicts.types.map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        <label class="field field--inline">
          <span>{t('calls.callResult')}</span>
          <select class="input" value={c.call_result ?? ''} onChange={(e) => patch({ call_result: (e.target as HTMLSelectElement).value })}>
            <option value="">—</option>
            {dicts.results.map((x) => <option key={x} value={x}>{x}</option>)}
          </select>
        </label>
        {isAdmin && (
          <label class="check">
            <input type="checkbox" checked={c.legal_hold} data-testid="call-hold" onChange={(e) => patch({ legal_hold: (e.target as HTMLInputElement).checked })} />
            {t('calls.legalHold')}
          </label>
        )}
        <label class="field">
          <span>{t('calls.note')}</span>
          <textarea class="input" rows={2} maxLength={4000} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
        </label>
        <button type="button" class="btn" onClick={() => patch({ note })}>{t('common.save')}</button>
        {msg && <span role="status">{msg}</span>}
      </div>
    </div>
  );
}
