-- Per-tenant telephony settings. Dial rules are one JSON document (core::dial::DialRules), validated
-- by the server before it is written.
CREATE TABLE telephony_settings (
    tenant_id   bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    dial_rules  jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE telephony_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE telephony_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON telephony_settings
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON telephony_settings TO callbase_app, callbase_worker;
