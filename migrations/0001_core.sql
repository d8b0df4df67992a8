-- Core tenancy: tenants, users, access groups, memberships.
-- Runs as callbase_owner. The roles callbase_app / callbase_worker / callbase_ast are created by the
-- infra scripts (cluster-wide objects) before the first migration.

-- The tenant of the current transaction, set by the app with
-- set_config('app.tenant_id', <id>, true). NULL when unset, so a forgotten SET sees no rows at all.
CREATE FUNCTION app_current_tenant() RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint $$;

-- Tenants are looked up by account slug before anyone is authenticated (login, SIP logins), so the
-- table itself has no RLS; it holds nothing secret. Tenant-owned data lives in other tables.
CREATE TABLE tenants (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account     text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_account_key UNIQUE (account),
    CONSTRAINT tenants_account_format CHECK (account ~ '^[a-z][a-z0-9-]{1,30}[a-z0-9]$')
);

CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    login          text NOT NULL,
    name           text NOT NULL,
    email          text NOT NULL,
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_tenant_login_key UNIQUE (tenant_id, login),
    -- lets other tables reference (tenant_id, id) so a row can never point into another tenant
    CONSTRAINT users_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE access_groups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL,
    role        text NOT NULL DEFAULT 'user'
                CHECK (role IN ('user', 'sub_administrator', 'administrator')),
    builtin     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT access_groups_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX access_groups_tenant_name_key ON access_groups (tenant_id, lower(name));

CREATE TABLE memberships (
    tenant_id   bigint NOT NULL,
    user_id     bigint NOT NULL,
    group_id    bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, group_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES access_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX memberships_group_idx ON memberships (group_id);

-- Row-level security: forced, so even the owner is filtered unless it runs as a BYPASSRLS role.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE access_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_groups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON access_groups
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());

GRANT USAGE ON SCHEMA public TO callbase_app, callbase_worker;
GRANT SELECT, INSERT ON tenants TO callbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, access_groups, memberships TO callbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, users, access_groups, memberships TO callbase_worker;
GRANT EXECUTE ON FUNCTION app_current_tenant() TO callbase_app, callbase_worker, callbase_ast;
