-- Toll-fraud guard (issue 14, item 9): per-tenant limits, the countries a tenant may call, the
-- per-user international permission, and the security alerts administrators see in the app.
-- Written so that applying it twice is harmless (IF NOT EXISTS): the shared test database gets it by
-- hand before `callbase migrate` records it.

-- Per-user international permission: off for agents; the administrator who turns telephony on
-- (extension 101) gets it, and existing 101s keep calling abroad as before.
ALTER TABLE telephony_users ADD COLUMN IF NOT EXISTS international boolean NOT NULL DEFAULT false;
-- The owner bypasses RLS only while it is not forced.
ALTER TABLE telephony_users NO FORCE ROW LEVEL SECURITY;
UPDATE telephony_users SET international = true WHERE extension = '101';
ALTER TABLE telephony_users FORCE ROW LEVEL SECURITY;

-- Limits per tenant; a tenant without a row has the defaults (core of the server: fraud.rs).
CREATE TABLE IF NOT EXISTS fraud_settings (
    tenant_id              bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    -- Concurrent calls through the trunks, per tenant and per telephony user.
    max_calls_tenant       integer NOT NULL DEFAULT 30 CHECK (max_calls_tenant BETWEEN 1 AND 10000),
    max_calls_user         integer NOT NULL DEFAULT 2 CHECK (max_calls_user BETWEEN 1 AND 100),
    -- Outbound call attempts per user per minute, and answered outbound minutes per tenant per UTC day.
    calls_per_minute_user  integer NOT NULL DEFAULT 10 CHECK (calls_per_minute_user BETWEEN 1 AND 1000),
    minutes_per_day_tenant integer NOT NULL DEFAULT 3000 CHECK (minutes_per_day_tenant BETWEEN 1 AND 10000000),
    -- Past this share of a limit administrators get a warning alert.
    warn_percent           integer NOT NULL DEFAULT 80 CHECK (warn_percent BETWEEN 1 AND 100),
    -- Country codes (E.164, no '+') the tenant's international calls may reach; the first call to
    -- any other is refused and raises an alert an administrator answers by allowing the country.
    allowed_countries      text[] NOT NULL DEFAULT '{}',
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS security_alerts (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    -- country_not_allowed, concurrent_calls, calls_per_minute, minutes_per_day
    kind          text NOT NULL,
    -- warning (past the warning level) or blocked (a call was refused)
    level         text NOT NULL CHECK (level IN ('warning', 'blocked')),
    message       text NOT NULL,
    user_id       bigint,
    country_code  text,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id)
);
CREATE INDEX IF NOT EXISTS security_alerts_tenant_at ON security_alerts (tenant_id, at DESC);

ALTER TABLE fraud_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE fraud_settings FORCE ROW LEVEL SECURITY;
ALTER TABLE security_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE security_alerts FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    CREATE POLICY tenant_isolation ON fraud_settings
        USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
    CREATE POLICY tenant_isolation ON security_alerts
        USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON fraud_settings, security_alerts TO callbase_app, callbase_worker;
GRANT USAGE ON SEQUENCE security_alerts_id_seq TO callbase_app, callbase_worker;
