import type { ComponentChildren } from 'preact';
import { t, type MessageKey } from '../i18n';
import { Icon } from './Icon';

interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: 'text' | 'email' | 'password';
  autoComplete?: string;
  hint?: string;
  error?: MessageKey;
  /** Marks the input required for assistive technology (most fields are; the label says nothing). */
  required?: boolean;
  /** Says "(optional)" after the label: the few fields that may stay empty are the ones marked. */
  optional?: boolean;
  autoFocus?: boolean;
  /** Shown after the input, e.g. a "show password" toggle. */
  children?: ComponentChildren;
}

/** A labelled text input with its hint and its error, wired together for screen readers. */
export function Field(p: FieldProps) {
  const hintId = p.hint ? `${p.id}-hint` : undefined;
  const errId = p.error ? `${p.id}-error` : undefined;
  const describedBy = [errId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={'field' + (p.error ? ' field--invalid' : '')}>
      <label for={p.id}>
        {p.label}
        {p.optional && <span class="field__req"> ({t('common.optional')})</span>}
      </label>
      <input
        id={p.id}
        name={p.id}
        type={p.type ?? 'text'}
        value={p.value}
        autoComplete={p.autoComplete}
        autoFocus={p.autoFocus}
        aria-required={p.required ? 'true' : undefined}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={describedBy}
        onInput={(e) => p.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {p.children}
      {p.error && (
        <p class="field__error" id={errId}>
          <Icon name="alert" size={14} />{' '}
          {t(p.error)}
        </p>
      )}
      {p.hint && (
        <p class="field__hint" id={hintId}>
          {p.hint}
        </p>
      )}
    </div>
  );
}
