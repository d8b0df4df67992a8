/**
 * Click-to-call from anywhere in the app: a `callbase:dial` window event that the phone dock
 * (browser phone or desk-phone callback) takes. A CRM phone field is dialled by reference
 * (`crm<record>x<field>`) when the user sees the number masked: the server resolves it.
 */
import type { CrmRecord } from '../../shared/api/types';

export interface DialRequest {
  /** A number to dial, as shown (unmasked users). */
  number?: string;
  /** A CRM record's phone field. */
  record?: number;
  field?: number;
  /** A speed dial entry (issue #18): dialled by reference, the server knows its number. */
  speedDial?: number;
  /** What the phone shows while calling. */
  label?: string;
}

export function dial(req: DialRequest): void {
  window.dispatchEvent(new CustomEvent<DialRequest>('callbase:dial', { detail: req }));
}

/** Whether a shown number is masked (or hidden) for this user. */
export function isMasked(shown: string | null | undefined): boolean {
  return !shown || shown.includes('*');
}

/** The dial request for one phone field of a record. */
export function dialRequest(rec: CrmRecord, fieldId: number): DialRequest | null {
  const p = rec.phones[String(fieldId)];
  if (!p || !p.valid) return null;
  const label = rec.title || p.e164 || '';
  return isMasked(p.e164) ? { record: rec.id, field: fieldId, label } : { number: p.e164 ?? '', record: rec.id, field: fieldId, label };
}

/** The SIP target for a request: the number, or the reference. */
export function sipTarget(req: DialRequest): string | null {
  if (req.speedDial) return `sd${req.speedDial}`;
  if (req.number && !isMasked(req.number)) return req.number;
  if (req.record && req.field) return `crm${req.record}x${req.field}`;
  return null;
}
