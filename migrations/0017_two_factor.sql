-- Two-factor sign-in (TOTP, RFC 6238) with recovery codes (docs/security.md).
ALTER TABLE users
    ADD COLUMN totp_secret text,
    -- a secret being set up, confirmed by a first code before it counts
    ADD COLUMN totp_pending text,
    -- the last time step a code was accepted for: a code is used once
    ADD COLUMN totp_last_step bigint;

CREATE TABLE recovery_codes (
    tenant_id  bigint NOT NULL,
    user_id    bigint NOT NULL,
    -- SHA-256 of the code; the code itself is shown once
    code_hash  text NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant_id, user_id, code_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON recovery_codes
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO callbase_app, callbase_worker;

-- A tenant may require two-factor sign-in of its administrators and sub-administrators.
CREATE TABLE tenant_security (
    tenant_id          bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    require_two_factor boolean NOT NULL DEFAULT false
);
ALTER TABLE tenant_security ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_security FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_security
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_security TO callbase_app, callbase_worker;
