-- Integrations (issue #21): API keys for the public `/api/v1`, webhooks delivered from a durable
-- queue, the screen-pop URL template and click-to-call idempotency.

-- API keys. The token is `cbk_<tenant>_<43 random base64url characters>` (256 bits); only its
-- SHA-256 is kept. A slow hash (argon2) protects guessable passwords; a 256-bit random secret cannot
-- be guessed, and every API request checks it, so a fast hash is the right one here.
CREATE TABLE api_keys (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    -- What the list shows to recognise a key: `cbk_<tenant>_` and the secret's first 8 characters.
    prefix           text NOT NULL,
    secret_sha256    bytea NOT NULL UNIQUE,
    scopes           text[] NOT NULL CHECK (cardinality(scopes) > 0
                         AND scopes <@ ARRAY['calls:read', 'calls:place', 'crm:write', 'users:read', 'admin']),
    expires_at       timestamptz,
    allowed_networks cidr[] NOT NULL DEFAULT '{}',
    rate_per_minute  integer NOT NULL DEFAULT 600 CHECK (rate_per_minute BETWEEN 1 AND 100000),
    -- The key acts as the administrator who created it, narrowed to its scopes: a key whose creator
    -- was removed or disabled stops working.
    created_by       bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_used_at     timestamptz,
    last_used_ip     inet,
    revoked_at       timestamptz,
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id DESC);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO callbase_app, callbase_worker;
GRANT USAGE ON SEQUENCE api_keys_id_seq TO callbase_app, callbase_worker;

-- `POST /api/v1/calls` with an `Idempotency-Key`: the answer given the first time, for a day.
CREATE TABLE api_idempotency (
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_id     bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idem_key   text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    -- What was asked, so the same key with another request is refused rather than answered wrongly.
    request    jsonb NOT NULL,
    response   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idem_key)
);
ALTER TABLE api_idempotency ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_idempotency FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_idempotency
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON api_idempotency TO callbase_app, callbase_worker;

-- Webhook endpoints. The signing secrets (Standard Webhooks `whsec_…`) must be readable to sign,
-- so they are stored as they are, like trunk passwords; a rotated-out secret keeps signing beside
-- the new one until `previous_until`.
CREATE TABLE webhook_endpoints (
    id                   bigserial PRIMARY KEY,
    tenant_id            bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url                  text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events               text[] NOT NULL CHECK (cardinality(events) > 0 AND events <@ ARRAY[
                             'call.ringing', 'call.answered', 'call.ended', 'call.missed', 'recording.ready',
                             'crm.record.created', 'crm.record.changed']),
    mask_numbers         boolean NOT NULL DEFAULT false,
    secret               text NOT NULL,
    previous_secret      text,
    previous_until       timestamptz,
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    -- The first failure since the last success, and failures in a row: sustained failure disables.
    failing_since        timestamptz,
    failures_in_row      integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_endpoints
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO callbase_app, callbase_worker;
GRANT USAGE ON SEQUENCE webhook_endpoints_id_seq TO callbase_app, callbase_worker;

-- The delivery queue: one row per event and endpoint, written in the transaction that changed the
-- call or record (below), so an event is never lost between the change and its delivery. Any
-- replica claims due rows (`FOR UPDATE SKIP LOCKED`) for a lease and sends them; a replica that
-- dies mid-send leaves the row to be claimed again when the lease ends.
CREATE TABLE webhook_messages (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    endpoint_id  bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- Standard Webhooks' `webhook-id`: the same for every endpoint the event goes to and for
    -- every attempt, so receivers can drop duplicates.
    message_id   text NOT NULL,
    event_type   text NOT NULL,
    -- The event's data as it was when it happened (numbers unmasked: masking is the endpoint's
    -- setting at sending time).
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    next_try_at  timestamptz,
    last_status  integer,
    last_error   text,
    delivered_at timestamptz,
    UNIQUE (endpoint_id, message_id)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_try_at) WHERE state = 'pending';
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, id DESC);
ALTER TABLE webhook_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_messages
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_messages TO callbase_app, callbase_worker;
GRANT USAGE ON SEQUENCE webhook_messages_id_seq TO callbase_app, callbase_worker;

-- Every attempt, for the delivery log.
CREATE TABLE webhook_attempts (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message     bigint NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    status      integer,
    error       text,
    duration_ms integer NOT NULL
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message, id);
ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_attempts
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_attempts TO callbase_app, callbase_worker;
GRANT USAGE ON SEQUENCE webhook_attempts_id_seq TO callbase_app, callbase_worker;

-- The delivery worker (worker role) tells the administrators it disabled a failing endpoint in the
-- tenant's audit log.
GRANT INSERT ON security_audit TO callbase_worker;
GRANT USAGE ON SEQUENCE security_audit_id_seq TO callbase_worker;

-- Queues `p_type` with `p_data` for every enabled endpoint of the tenant that takes it (one
-- message id for all of them). A tenant without endpoints pays one index probe.
CREATE FUNCTION webhook_enqueue(p_tenant bigint, p_type text, p_data jsonb) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO webhook_messages (tenant_id, endpoint_id, message_id, event_type, payload, next_try_at)
    SELECT e.tenant_id, e.id, m.id, p_type, p_data, now()
    FROM webhook_endpoints e, (SELECT 'msg_' || replace(gen_random_uuid()::text, '-', '') AS id) m
    WHERE e.tenant_id = p_tenant AND e.enabled AND p_type = ANY (e.events)
$$;

-- What a call event says: the call as it is at that moment.
CREATE FUNCTION webhook_call_data(c calls) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'call_id', c.id,
        'direction', c.direction,
        'number', c.number,
        'did', c.did,
        'user_id', c.user_id,
        'user_name', (SELECT u.name FROM users u WHERE u.tenant_id = c.tenant_id AND u.id = c.user_id),
        'trunk', c.trunk_slot,
        'queue_id', c.queue_id,
        'crm_record_id', c.crm_record_id,
        'started_at', c.started_at,
        'answered_at', c.answered_at,
        'ended_at', c.ended_at,
        'duration_secs', CASE WHEN c.ended_at IS NOT NULL
                              THEN floor(extract(epoch FROM c.ended_at - c.started_at))::int END,
        'talk_secs', CASE WHEN c.ended_at IS NOT NULL AND c.answered_at IS NOT NULL
                          THEN floor(extract(epoch FROM c.ended_at - c.answered_at))::int END,
        'result', c.result,
        'reason', c.reason,
        'recording', CASE WHEN c.recording_state = 'stored'
                          THEN jsonb_build_object('bytes', c.recording_bytes, 'duration_ms', c.recording_ms) END)
$$;

CREATE FUNCTION calls_webhooks() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    events text[] := '{}';
    t text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = NEW.tenant_id AND e.enabled) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        events := events || 'call.ringing'::text;
    ELSE
        IF OLD.answered_at IS NULL AND NEW.answered_at IS NOT NULL THEN
            events := events || 'call.answered'::text;
        END IF;
        IF OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL THEN
            events := events || 'call.ended'::text;
            IF NEW.direction = 'inbound' AND NEW.answered_at IS NULL THEN
                events := events || 'call.missed'::text;
            END IF;
        END IF;
        IF OLD.recording_state IS DISTINCT FROM 'stored' AND NEW.recording_state = 'stored' THEN
            events := events || 'recording.ready'::text;
        END IF;
    END IF;
    FOREACH t IN ARRAY events LOOP
        PERFORM webhook_enqueue(NEW.tenant_id, t, webhook_call_data(NEW));
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER calls_webhooks AFTER INSERT OR UPDATE OF answered_at, ended_at, recording_state ON calls
    FOR EACH ROW EXECUTE FUNCTION calls_webhooks();

CREATE FUNCTION crm_records_webhooks() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.data = NEW.data THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = NEW.tenant_id AND e.enabled) THEN
        RETURN NULL;
    END IF;
    PERFORM webhook_enqueue(NEW.tenant_id,
        CASE TG_OP WHEN 'INSERT' THEN 'crm.record.created' ELSE 'crm.record.changed' END,
        jsonb_build_object('record_id', NEW.id, 'table_id', NEW.table_id, 'data', NEW.data,
                           'created_at', NEW.created_at, 'updated_at', NEW.updated_at));
    RETURN NULL;
END
$$;
CREATE TRIGGER crm_records_webhooks AFTER INSERT OR UPDATE OF data ON crm_records
    FOR EACH ROW EXECUTE FUNCTION crm_records_webhooks();

-- The screen-pop URL (AsterCRM's external CRM URL): a template with {caller} {callee} {direction}
-- {call_id} {client_id}, opened by the call card; '' is off.
ALTER TABLE telephony
    ADD COLUMN screen_pop_url text NOT NULL DEFAULT '' CHECK (length(screen_pop_url) <= 2000),
    ADD COLUMN screen_pop_open text NOT NULL DEFAULT 'never' CHECK (screen_pop_open IN ('never', 'ringing', 'answer'));
