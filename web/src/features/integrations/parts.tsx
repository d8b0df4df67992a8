/** Pieces the integrations page's cards share: a labelled field with the server's error, the secret shown once, times. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { isApiError } from '../../shared/api/client';
import { say, type Msg } from '../../shared/api/errors';
import { t } from '../../shared/i18n';
import { formatDateTime } from '../../shared/i18n/format';
import { Icon } from '../../shared/ui/Icon';

/** A time in the UI language and the tenant's time zone; `—` for none. */
export function when(ts: string | null | undefined): string {
  return formatDateTime(ts, { seconds: true });
}

/**
 * The form field a refusal (422, or 403 `admins_only`) is about, by its code: the server's error
 * body has only `code` and `message`. Null: not about one field (show it above the buttons).
 */
export function refusedField<F extends string>(e: unknown, byCode: Partial<Record<string, F>>): F | null {
  if (!isApiError(e) || (e.status !== 422 && e.status !== 403)) return null;
  return byCode[e.code] ?? null;
}

/** What a control inside {@link FieldBox} needs for assistive technology. */
export interface FieldAria {
  id: string;
  'aria-invalid'?: 'true';
  'aria-describedby'?: string;
}

interface FieldBoxProps {
  id: string;
  label: string;
  error?: Msg | null;
  hint?: ComponentChildren;
  optional?: boolean;
  /** Renders the control with the given id and ARIA attributes. */
  children: (aria: FieldAria) => ComponentChildren;
}

/** Like shared/ui/Field, for any control (textarea, select, date, number) and a server message with its detail. */
export function FieldBox({ id, label, error, hint, optional, children }: FieldBoxProps) {
  const errId = error ? `${id}-error` : undefined;
  const hintId = hint ? `${id}-hint` : undefined;
  const describedBy = [errId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={'field' + (error ? ' field--invalid' : '')}>
      <label for={id}>
        {label}
        {optional && <span class="field__req"> ({t('common.optional')})</span>}
      </label>
      {children({ id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': describedBy })}
      {error && <FieldError id={errId!} error={error} />}
      {hint && <p class="field__hint" id={hintId}>{hint}</p>}
    </div>
  );
}

export function FieldError({ id, error }: { id: string; error: Msg }) {
  return (
    <p class="field__error" id={id}>
      <Icon name="alert" size={14} /> {say(error)}
    </p>
  );
}

/**
 * A secret the server shows only once (an API key's token, a webhook's signing secret): the value,
 * a Copy button, and the warning that it cannot be seen again.
 */
export function SecretOnce({ secret, note }: { secret: string; note?: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  }
  return (
    <div class="secret" data-testid="secret-once">
      <p class="secret__warn">
        <Icon name="alert" size={16} /> <strong>{t('integ.secret.once')}</strong>
      </p>
      {note && <p class="muted">{note}</p>}
      <div class="secret__row">
        <code class="secret__value" data-testid="secret-value">{secret}</code>
        <button type="button" class="btn btn--small" data-testid="secret-copy" onClick={copy}>
          {t('integ.secret.copy')}
        </button>
      </div>
      <p role="status" class="muted">
        {copied === 'yes' && t('integ.secret.copied')}
        {copied === 'failed' && t('integ.secret.copyFailed')}
      </p>
    </div>
  );
}
