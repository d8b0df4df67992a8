/** Times, durations and downloads of the call history. */
import { formatDateTime } from '../../shared/i18n/format';

/** A call's time in the UI language and the tenant's time zone (shared/i18n/format.ts). */
export function fmtTime(iso: string): string {
  return formatDateTime(iso);
}

export function fmtSecs(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** Saves a blob as a file (the browser's download). */
export function save(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
