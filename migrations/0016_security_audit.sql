-- Audit log of security-relevant changes (docs/security.md): who, when, from where, before → after.
-- Append-only for the application: it may insert and read its tenant's rows, never change them.
CREATE TABLE security_audit (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint,
    actor_login text,
    ip          text,
    -- e.g. trunk.create, user.disable, telephony.off, masking.change, retention.change
    action      text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    target      text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb
);
CREATE INDEX security_audit_tenant_at_idx ON security_audit (tenant_id, at DESC, id DESC);

ALTER TABLE security_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE security_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON security_audit
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT ON security_audit TO callbase_app;
GRANT USAGE ON SEQUENCE security_audit_id_seq TO callbase_app;
GRANT SELECT ON security_audit TO callbase_worker;
