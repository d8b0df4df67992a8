-- Recordings (issue #7): tenant settings, the recording's life on the call record (Asterisk →
-- spool → S3 → retention), legal hold, call type/result dictionaries and the listen/download audit.

ALTER TABLE telephony
    -- Record every answered call (members of record_group_ids are recorded even when this is off).
    ADD COLUMN record_calls boolean NOT NULL DEFAULT true,
    ADD COLUMN record_group_ids bigint[] NOT NULL DEFAULT '{}',
    -- Recordings older than this are deleted (legal hold exempts a call); optionally the rows too.
    ADD COLUMN retention_days integer NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 3650),
    ADD COLUMN retention_delete_calls boolean NOT NULL DEFAULT false,
    -- Users see every call record, not just their own (admins always see all).
    ADD COLUMN calls_visible_to_all boolean NOT NULL DEFAULT false,
    -- Tenant-editable dictionaries for the call card.
    ADD COLUMN call_types text[] NOT NULL DEFAULT '{"Sales","Support","Other"}',
    ADD COLUMN call_results text[] NOT NULL DEFAULT '{"Resolved","Call back","Not interested"}';

ALTER TABLE calls
    -- recording (Asterisk is recording) → pending (the uploader owes S3 a copy) → stored → deleted
    -- (retention); failed after the uploader gave up (the Asterisk copy is kept).
    ADD COLUMN recording_state text CHECK (recording_state IN ('recording', 'pending', 'stored', 'failed', 'deleted')),
    -- Asterisk's stored recording name, and the object key (random, chosen before the first upload
    -- so retries overwrite the same object).
    ADD COLUMN recording_name text,
    ADD COLUMN recording_key text,
    ADD COLUMN recording_bytes bigint,
    ADD COLUMN recording_ms integer,
    ADD COLUMN recording_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN recording_next_try timestamptz,
    ADD COLUMN recording_error text,
    ADD COLUMN recording_stored_at timestamptz,
    ADD COLUMN legal_hold boolean NOT NULL DEFAULT false,
    ADD COLUMN call_type text,
    ADD COLUMN call_result text;

CREATE INDEX calls_recording_queue ON calls (recording_next_try) WHERE recording_state = 'pending';
CREATE INDEX calls_retention ON calls (tenant_id, started_at) WHERE recording_state = 'stored' AND NOT legal_hold;
CREATE INDEX calls_tenant_result_started ON calls (tenant_id, result, started_at DESC);

-- Who listened to or downloaded which recording, when and from where.
CREATE TABLE recording_audit (
    id         bigserial PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    call_id    uuid NOT NULL,
    user_id    bigint,
    action     text NOT NULL CHECK (action IN ('listen', 'download', 'zip')),
    ip         text,
    user_agent text,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recording_audit_tenant_at ON recording_audit (tenant_id, at DESC);

ALTER TABLE recording_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE recording_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON recording_audit
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, DELETE ON recording_audit TO callbase_app, callbase_worker;
GRANT USAGE ON SEQUENCE recording_audit_id_seq TO callbase_app, callbase_worker;
