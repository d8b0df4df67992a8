/**
 * Integrations → Webhooks: the endpoints events are posted to, each with its events, masking and
 * state (the server turns a failing one off and says why); add, edit, enable/disable, rotate the
 * signing secret, send a test event, delete, and each one's delivery log.
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../shared/api/client';
import { explain, msg, say, type Msg } from '../../shared/api/errors';
import type { Webhook } from '../../shared/api/types';
import { t } from '../../shared/i18n';
import { Alert } from '../../shared/ui/Alert';
import { ConfirmDialog } from '../../shared/ui/ConfirmDialog';
import { Dialog } from '../../shared/ui/Dialog';
import { Icon } from '../../shared/ui/Icon';
import { useLoaded } from '../../shared/ui/useLoaded';
import { DeliveryLog } from './DeliveryLog';
import { SecretOnce, when } from './parts';
import { WebhookDialog } from './WebhookDialog';

type Open =
  | { kind: 'none' }
  | { kind: 'new' }
  | { kind: 'edit'; hook: Webhook }
  | { kind: 'delete'; hook: Webhook }
  | { kind: 'rotate'; hook: Webhook }
  | { kind: 'rotated'; hook: Webhook; secret: string };

function HookStatus({ hook }: { hook: Webhook }) {
  if (hook.enabled) {
    return (
      <span class="badge badge--on" data-testid="hook-status">
        <Icon name="dot" size={13} /> {t('integ.hooks.enabled')}
      </span>
    );
  }
  return (
    <>
      <span class="badge badge--off" data-testid="hook-status">
        <Icon name="ban" size={13} /> {t('integ.hooks.disabled')}
      </span>
      {hook.disabled_reason && <div class="muted small" data-testid="hook-reason">{hook.disabled_reason}</div>}
    </>
  );
}

export function Webhooks() {
  const { data: hooks, error, load, act } = useLoaded<Webhook[] | null>(() => api.webhooks(), null);
  const [open, setOpen] = useState<Open>({ kind: 'none' });
  const [notice, setNotice] = useState<Msg | null>(null);
  const [actionError, setActionError] = useState<Msg | null>(null);
  /** Endpoints whose delivery log is open, with a stamp that reloads it (after a test event). */
  const [logs, setLogs] = useState<ReadonlyMap<number, number>>(new Map());
  const close = () => setOpen({ kind: 'none' });

  const showLog = (id: number, on: boolean) =>
    setLogs((m) => {
      const n = new Map(m);
      if (on) n.set(id, (m.get(id) ?? 0) + 1);
      else n.delete(id);
      return n;
    });

  async function sendTest(h: Webhook) {
    setNotice(null);
    setActionError(null);
    try {
      const q = await api.testWebhook(h.id);
      setNotice(msg('integ.hooks.testQueued', { id: q.message_id, url: h.url }));
      showLog(h.id, true);
    } catch (e) {
      setActionError(explain(e));
    }
  }

  return (
    <section class="card integ-section" aria-labelledby="integ-hooks-title" data-testid="webhooks">
      <div class="page__head">
        <h2 id="integ-hooks-title">{t('integ.hooks.title')}</h2>
        <button type="button" class="btn btn--primary" data-testid="hook-new" onClick={() => setOpen({ kind: 'new' })}>
          + {t('integ.hooks.add')}
        </button>
      </div>
      <p class="muted">{t('integ.hooks.intro')}</p>
      {notice && <Alert kind="success">{say(notice)}</Alert>}
      {error && <Alert kind="error">{error}</Alert>}
      {actionError && <Alert kind="error">{say(actionError)}</Alert>}
      {!hooks && !error && <p aria-busy="true">{t('app.loading')}</p>}
      {hooks && hooks.length === 0 && <p>{t('integ.hooks.empty')}</p>}
      {hooks && hooks.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">{t('integ.hooks.url')}</th>
                <th scope="col">{t('integ.hooks.events')}</th>
                <th scope="col">{t('integ.hooks.maskShort')}</th>
                <th scope="col">{t('integ.hooks.status')}</th>
                <th scope="col">{t('integ.hooks.failingSince')}</th>
                <th scope="col"><span class="sr-only">{t('common.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {hooks.map((h) => {
                const logOpen = logs.has(h.id);
                const label = (action: string) => `${action}: ${h.url}`;
                return (
                  <Fragment key={h.id}>
                    <tr data-testid="hook-row" class={h.enabled ? undefined : 'row--disabled'}>
                      <td class="integ-url"><code>{h.url}</code></td>
                      <td>{h.events.map((ev) => <code key={ev} class="integ-tag">{ev}</code>)}</td>
                      <td>{h.mask_numbers ? t('integ.yes') : t('integ.no')}</td>
                      <td><HookStatus hook={h} /></td>
                      <td>{when(h.failing_since)}</td>
                      <td class="table__actions">
                        <div class="integ-actions">
                          <button type="button" class="btn btn--small" aria-label={label(t('common.edit'))} onClick={() => setOpen({ kind: 'edit', hook: h })}>
                            {t('common.edit')}
                          </button>
                          <button type="button" class="btn btn--small" data-testid="hook-toggle" aria-label={label(h.enabled ? t('integ.hooks.disable') : t('integ.hooks.enable'))}
                            onClick={() => void act(() => api.updateWebhook(h.id, { enabled: !h.enabled }))}>
                            {h.enabled ? t('integ.hooks.disable') : t('integ.hooks.enable')}
                          </button>
                          <button type="button" class="btn btn--small" data-testid="hook-test" aria-label={label(t('integ.hooks.test'))} onClick={() => void sendTest(h)}>
                            {t('integ.hooks.test')}
                          </button>
                          <button type="button" class="btn btn--small" data-testid="hook-rotate" aria-label={label(t('integ.hooks.rotate'))}
                            onClick={() => setOpen({ kind: 'rotate', hook: h })}>
                            {t('integ.hooks.rotate')}
                          </button>
                          <button type="button" class="btn btn--small" data-testid="hook-log" aria-expanded={logOpen} aria-label={label(t('integ.log.title'))}
                            onClick={() => showLog(h.id, !logOpen)}>
                            {t('integ.log.title')}
                          </button>
                          <button type="button" class="btn btn--small btn--danger-outline" aria-label={label(t('common.delete'))}
                            onClick={() => setOpen({ kind: 'delete', hook: h })}>
                            {t('common.delete')}
                          </button>
                        </div>
                      </td>
                    </tr>
                    {logOpen && (
                      <tr class="row--detail">
                        <td colSpan={6}>
                          <DeliveryLog key={logs.get(h.id)} webhookId={h.id} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {open.kind === 'new' && <WebhookDialog onSaved={() => void load()} onClose={close} />}
      {open.kind === 'edit' && <WebhookDialog webhook={open.hook} onSaved={() => void load()} onClose={close} />}
      {open.kind === 'delete' && (
        <ConfirmDialog
          title={t('integ.hooks.deleteTitle')}
          message={t('integ.hooks.deleteConfirm', { url: open.hook.url })}
          confirmLabel={t('common.delete')}
          busyLabel={t('common.deleting')}
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteWebhook(open.hook.id);
            showLog(open.hook.id, false);
            close();
            await load();
          }}
        />
      )}
      {open.kind === 'rotate' && (
        <ConfirmDialog
          title={t('integ.hooks.rotateTitle')}
          message={t('integ.hooks.rotateConfirm', { url: open.hook.url })}
          confirmLabel={t('integ.hooks.rotate')}
          busyLabel={t('integ.hooks.rotating')}
          onClose={close}
          onConfirm={async () => {
            const r = await api.rotateWebhookSecret(open.hook.id);
            setOpen({ kind: 'rotated', hook: open.hook, secret: r.secret });
          }}
        />
      )}
      {open.kind === 'rotated' && (
        <Dialog title={t('integ.hooks.rotatedTitle')} onClose={close}>
          <p><code>{open.hook.url}</code></p>
          <SecretOnce secret={open.secret} note={t('integ.hooks.rotatedNote')} />
          <div class="dialog__actions">
            <button type="button" class="btn btn--primary" onClick={close} autoFocus>{t('integ.secret.done')}</button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
