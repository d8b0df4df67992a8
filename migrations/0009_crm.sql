-- CRM tables, typed fields and records (issue #6).
--
-- A record keeps its values in `data` (JSON object keyed by field id). Two derived tables make the
-- list fast at a million rows, whatever the fields are:
--   crm_values  one row per (record, field): `k` is the value's sort key (lower-cased text,
--               ISO date, order-preserving encoding of a number, option position of a select),
--               indexed by (field, k, record) — sorting by any column and equals/greater/less
--               filters walk that index;
--   crm_phones  the E.164 form of every phone value that could be normalised, indexed by
--               (tenant, e164) — caller matching and click-to-call lookups.
-- `search` (lower-cased text of every value plus phone digits) has a trigram index for the quick
-- search box and narrows "contains" filters.
-- (0006 was reserved for this in session 1; the CRM landed after 0007/0008, so it is 0009.)

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE crm_tables (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           text NOT NULL,
    -- A call table: its phone fields show the handset, callers are matched against it.
    call_table     boolean NOT NULL DEFAULT false,
    -- Fields shown on the call card, in order (ids of this table's fields).
    card_field_ids bigint[] NOT NULL DEFAULT '{}',
    position       integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT crm_tables_tenant_name_key UNIQUE (tenant_id, name)
);
CREATE INDEX crm_tables_tenant ON crm_tables (tenant_id, position, id);

CREATE TABLE crm_fields (
    id         bigserial PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    table_id   bigint NOT NULL REFERENCES crm_tables(id) ON DELETE CASCADE,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('text', 'long_text', 'number', 'date', 'select', 'phone', 'email', 'user')),
    -- Choices of a select field, in order.
    options    text[] NOT NULL DEFAULT '{}',
    -- The record's title (the first text field by default).
    is_title   boolean NOT NULL DEFAULT false,
    position   integer NOT NULL DEFAULT 0,
    CONSTRAINT crm_fields_table_name_key UNIQUE (table_id, name)
);
CREATE INDEX crm_fields_table ON crm_fields (table_id, position, id);

CREATE TABLE crm_records (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    table_id    bigint NOT NULL REFERENCES crm_tables(id) ON DELETE CASCADE,
    data        jsonb NOT NULL DEFAULT '{}',
    search      text NOT NULL DEFAULT '',
    created_by  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- tenant_id included: the RLS check of a list is answered from the index (index-only scans).
CREATE INDEX crm_records_table ON crm_records (table_id, id) INCLUDE (tenant_id);
CREATE INDEX crm_records_search ON crm_records USING gin (search gin_trgm_ops);

CREATE TABLE crm_values (
    record_id  bigint NOT NULL REFERENCES crm_records(id) ON DELETE CASCADE,
    field_id   bigint NOT NULL REFERENCES crm_fields(id) ON DELETE CASCADE,
    tenant_id  bigint NOT NULL,
    k          text COLLATE "C",
    -- k and tenant_id included: a filter's probe of a record is an index-only scan.
    PRIMARY KEY (record_id, field_id) INCLUDE (k, tenant_id)
);
CREATE INDEX crm_values_sort ON crm_values (field_id, k, record_id) INCLUDE (tenant_id);

CREATE TABLE crm_phones (
    record_id  bigint NOT NULL REFERENCES crm_records(id) ON DELETE CASCADE,
    field_id   bigint NOT NULL REFERENCES crm_fields(id) ON DELETE CASCADE,
    tenant_id  bigint NOT NULL,
    table_id   bigint NOT NULL,
    e164       text NOT NULL,
    PRIMARY KEY (record_id, field_id)
);
CREATE INDEX crm_phones_lookup ON crm_phones (tenant_id, e164);
-- "Similar number" matching: all but the last N digits.
CREATE INDEX crm_phones_prefix ON crm_phones (tenant_id, e164 text_pattern_ops);

-- Caller matching settings, masking of numbers for groups, the responsible manager.
ALTER TABLE telephony
    ADD COLUMN similar_match_digits integer NOT NULL DEFAULT 0 CHECK (similar_match_digits BETWEEN 0 AND 4),
    ADD COLUMN mask_group_ids bigint[] NOT NULL DEFAULT '{}',
    -- 'hidden' (only the handset shows) or 'prefix' (the first mask_chars characters become '*').
    ADD COLUMN mask_mode text NOT NULL DEFAULT 'prefix' CHECK (mask_mode IN ('hidden', 'prefix')),
    ADD COLUMN mask_chars integer NOT NULL DEFAULT 6 CHECK (mask_chars BETWEEN 1 AND 15),
    ADD COLUMN manager_first boolean NOT NULL DEFAULT false,
    ADD COLUMN manager_first_secs integer NOT NULL DEFAULT 15 CHECK (manager_first_secs BETWEEN 5 AND 120);

-- The CRM record a call was matched to (or created from), and the agent's after-call work: from
-- the end of the call until they closed its card (or saved its note) — wrap-up time.
ALTER TABLE calls ADD COLUMN crm_record_id bigint REFERENCES crm_records(id) ON DELETE SET NULL,
    ADD COLUMN wrapup_secs integer;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['crm_tables', 'crm_fields', 'crm_records', 'crm_values', 'crm_phones'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO callbase_app, callbase_worker', t);
    END LOOP;
END $$;
GRANT USAGE ON SEQUENCE crm_tables_id_seq, crm_fields_id_seq, crm_records_id_seq TO callbase_app, callbase_worker;

-- Every tenant has a "Clients" call table (new tenants get it at sign-up, in Rust).
CREATE FUNCTION crm_create_clients(tenant bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE tbl bigint; f_name bigint; f_phone bigint; f_email bigint; f_status bigint; f_manager bigint;
BEGIN
    INSERT INTO crm_tables (tenant_id, name, call_table) VALUES (tenant, 'Clients', true) RETURNING id INTO tbl;
    INSERT INTO crm_fields (tenant_id, table_id, name, kind, is_title, position) VALUES (tenant, tbl, 'Name', 'text', true, 1) RETURNING id INTO f_name;
    INSERT INTO crm_fields (tenant_id, table_id, name, kind, position) VALUES (tenant, tbl, 'Phone', 'phone', 2) RETURNING id INTO f_phone;
    INSERT INTO crm_fields (tenant_id, table_id, name, kind, position) VALUES (tenant, tbl, 'Phone 2', 'phone', 3);
    INSERT INTO crm_fields (tenant_id, table_id, name, kind, position) VALUES (tenant, tbl, 'E-mail', 'email', 4) RETURNING id INTO f_email;
    INSERT INTO crm_fields (tenant_id, table_id, name, kind, options, position)
        VALUES (tenant, tbl, 'Status', 'select', ARRAY['new', 'in progress', 'client', 'lost'], 5) RETURNING id INTO f_status;
    INSERT INTO crm_fields (tenant_id, table_id, name, kind, position) VALUES (tenant, tbl, 'Manager', 'user', 6) RETURNING id INTO f_manager;
    INSERT INTO crm_fields (tenant_id, table_id, name, kind, position) VALUES (tenant, tbl, 'Note', 'long_text', 7);
    UPDATE crm_tables SET card_field_ids = ARRAY[f_phone, f_name, f_status, f_email, f_manager] WHERE id = tbl;
    RETURN tbl;
END $$;
GRANT EXECUTE ON FUNCTION crm_create_clients(bigint) TO callbase_app;

DO $$
DECLARE t bigint;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        PERFORM crm_create_clients(t);
    END LOOP;
END $$;

-- CSV imports: the uploaded file waits here for its column mapping; the run writes every row in
-- one transaction (all or nothing) and reports progress and per-row errors here.
CREATE TABLE crm_imports (
    id            uuid PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    table_id      bigint NOT NULL REFERENCES crm_tables(id) ON DELETE CASCADE,
    created_by    bigint,
    file          bytea,
    delimiter     text NOT NULL,
    columns       text[] NOT NULL,
    row_count     integer NOT NULL,
    state         text NOT NULL DEFAULT 'uploaded' CHECK (state IN ('uploaded', 'running', 'done', 'failed')),
    done_rows     integer NOT NULL DEFAULT 0,
    inserted      integer NOT NULL DEFAULT 0,
    skipped       integer NOT NULL DEFAULT 0,
    phones_as_text integer NOT NULL DEFAULT 0,
    errors        jsonb NOT NULL DEFAULT '[]',
    message       text,
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE crm_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON crm_imports USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_imports TO callbase_app, callbase_worker;
