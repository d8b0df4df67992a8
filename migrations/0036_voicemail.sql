-- Voicemail (issue #19, item 4): when nobody takes an inbound call (no answer, nobody online, or
-- closed) and no forward number is set, the caller may leave a message. The message is the call's
-- recording (same object store, conversion, retention and player as every call recording), and the
-- call stays a missed call, "with a message". A message is new until someone who sees the call
-- listens to it.
ALTER TABLE telephony ADD COLUMN voicemail boolean NOT NULL DEFAULT false;

ALTER TABLE calls
    ADD COLUMN voicemail boolean NOT NULL DEFAULT false,
    ADD COLUMN voicemail_heard_at timestamptz;

-- The phone's "new messages" badge: a tenant's unheard messages, newest first.
CREATE INDEX calls_voicemail_new ON calls (tenant_id, started_at DESC) WHERE voicemail AND voicemail_heard_at IS NULL;

ALTER TABLE calls DROP CONSTRAINT calls_phase_check;
ALTER TABLE calls
    ADD CONSTRAINT calls_phase_check CHECK (phase IN ('setup', 'greeting', 'closed', 'ringing', 'dialing',
                                                      'talking', 'consulting', 'parked', 'transferring',
                                                      'forwarded', 'voicemail', 'ended'));
