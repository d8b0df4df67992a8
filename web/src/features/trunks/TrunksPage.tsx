import { useEffect, useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import type { Trunk } from '../../shared/api/types';
import { subscribe } from '../../shared/events';
import { Alert } from '../../shared/ui/Alert';
import { ConfirmDialog } from '../../shared/ui/ConfirmDialog';
import { Icon } from '../../shared/ui/Icon';
import { explain, say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { statusView } from './status';
import { TrunkDialog } from './TrunkDialog';

const MAX_TRUNKS = 3;

type Open = { kind: 'none' } | { kind: 'add' } | { kind: 'edit'; trunk: Trunk } | { kind: 'delete'; trunk: Trunk };

/** Telephony → Trunks: up to three cards with live registration status (admins and sub-admins). */
export function TrunksPage() {
  const [trunks, setTrunks] = useState<Trunk[] | null>(null);
  const [error, setError] = useState<Msg | null>(null);
  const [open, setOpen] = useState<Open>({ kind: 'none' });

  async function load() {
    setError(null);
    try {
      setTrunks(await api.listTrunks());
    } catch (e) {
      setError(explain(e));
    }
  }

  useEffect(() => {
    void load();
    return subscribe(
      'trunk_status',
      (ev) =>
        setTrunks((list) =>
          list?.map((tr) =>
            tr.registration === ev.registration ? { ...tr, status: { state: ev.state, reason: ev.reason || null, since: ev.since } } : tr,
          ) ?? list,
        ),
      { onReconnect: () => void load() },
    );
  }, []);

  async function move(index: number, by: -1 | 1) {
    if (!trunks) return;
    const ids = trunks.map((x) => x.id);
    const [id] = ids.splice(index, 1);
    ids.splice(index + by, 0, id as number);
    try {
      setTrunks(await api.reorderTrunks(ids));
    } catch (e) {
      setError(explain(e));
    }
  }

  const full = (trunks?.length ?? 0) >= MAX_TRUNKS;
  return (
    <section class="page">
      <div class="page__head">
        <h1>{t('trunks.title')}</h1>
        <div class="page__spacer" />
        <button type="button" class="btn btn--primary" onClick={() => setOpen({ kind: 'add' })} disabled={!trunks || full}
          title={full ? t('trunks.full') : undefined}>
          + {t('trunks.add')}
        </button>
      </div>
      <p class="muted">{full ? t('trunks.full') : t('trunks.intro')}</p>
      {error && <Alert kind="error">{say(error)}</Alert>}
      {!trunks && !error && <p aria-busy="true">{t('app.loading')}</p>}
      {trunks && trunks.length === 0 && <p>{t('trunks.empty')}</p>}
      <ol class="trunks">
        {trunks?.map((tr, i) => {
          const v = statusView(tr.status);
          return (
            <li key={tr.id} class={`trunk-card trunk-card--${v.tone}`}>
              <div class="trunk-card__status">
                <Icon name={v.icon} size={20} /> <strong>{t(v.label)}</strong>
                {tr.status.reason && <span class="muted"> — {tr.status.reason}</span>}
              </div>
              {v.advice && <p class="trunk-card__advice">{t(v.advice)}</p>}
              <h2 class="trunk-card__title">
                {tr.label || tr.domain} {i === 0 && <span class="badge">{t('trunks.outbound')}</span>}
              </h2>
              <p class="muted">
                {tr.username}@{tr.domain}
                {tr.host !== tr.domain && ` → ${tr.host}`}
                {tr.number && ` · ${tr.number}`}
                {tr.rewrite && ` · ${t('trunks.rewrite')}: ${tr.rewrite}`}
              </p>
              <div class="trunk-card__actions">
                <button type="button" class="btn btn--small" onClick={() => move(i, -1)} disabled={i === 0} aria-label={t('trunks.moveUp')}>↑</button>
                <button type="button" class="btn btn--small" onClick={() => move(i, 1)} disabled={i === trunks.length - 1} aria-label={t('trunks.moveDown')}>↓</button>
                <button type="button" class="btn btn--small" onClick={() => setOpen({ kind: 'edit', trunk: tr })}>{t('common.edit')}</button>
                <button type="button" class="btn btn--small btn--danger" onClick={() => setOpen({ kind: 'delete', trunk: tr })}>{t('common.delete')}</button>
              </div>
            </li>
          );
        })}
      </ol>
      {(open.kind === 'add' || open.kind === 'edit') && (
        <TrunkDialog
          trunk={open.kind === 'edit' ? open.trunk : undefined}
          onClose={() => setOpen({ kind: 'none' })}
          onSaved={() => {
            setOpen({ kind: 'none' });
            void load();
          }}
        />
      )}
      {open.kind === 'delete' && (
        <ConfirmDialog
          title={t('trunks.deleteTitle', { name: open.trunk.label || open.trunk.domain })}
          message={t('trunks.deleteMessage')}
          confirmLabel={t('common.delete')}
          busyLabel={t('common.deleting')}
          danger
          onConfirm={async () => {
            await api.deleteTrunk(open.trunk.id);
            setOpen({ kind: 'none' });
            await load();
          }}
          onClose={() => setOpen({ kind: 'none' })}
        />
      )}
    </section>
  );
}
