-- The telephony module switch, telephony users and auto-provisioning by access group (issue #5).
--
-- A telephony user is an app user with an extension. Asterisk sees them as PJSIP realtime rows in
-- schema ast (written by server/telephony/src/agents.rs):
--   <account>_<extension>   auth (md5 digest credential) for a desk phone / softphone, plus an
--                           endpoint + AOR when "calls in browser" is off;
--   t<tenant>-w<user>       a WebRTC endpoint + AOR + auth when "calls in browser" is on; its
--                           password is rotated at every browser-phone start.
-- Passwords are never stored in clear: ast.ps_auths holds md5(user:realm:password) (auth_type md5).

CREATE TABLE telephony (
    tenant_id       bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    enabled         boolean NOT NULL DEFAULT false,
    -- Access groups whose members become telephony users automatically.
    auto_group_ids  bigint[] NOT NULL DEFAULT '{}',
    -- Inbound routing (issue #4): ring timeout before forwarding, forward-on-no-answer number,
    -- greeting object key in S3 (NULL = none).
    ring_timeout_secs integer NOT NULL DEFAULT 15 CHECK (ring_timeout_secs BETWEEN 5 AND 300),
    forward_number  text,
    greeting_key    text,
    changed_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE telephony_users (
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id          bigint NOT NULL,
    extension        text NOT NULL CHECK (extension ~ '^[0-9]{3,6}$'),
    -- <account>_<extension>: the SIP login, unique across the platform.
    sip_login        text NOT NULL,
    accept_incoming  boolean NOT NULL DEFAULT true,
    browser_calls    boolean NOT NULL DEFAULT true,
    -- Added by an administrator by hand (kept when the user leaves the auto-provisioning groups).
    manual           boolean NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT telephony_users_extension_key UNIQUE (tenant_id, extension),
    CONSTRAINT telephony_users_sip_login_key UNIQUE (sip_login)
);

ALTER TABLE telephony ENABLE ROW LEVEL SECURITY;
ALTER TABLE telephony FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON telephony
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE telephony_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE telephony_users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON telephony_users
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON telephony, telephony_users TO callbase_app, callbase_worker;
