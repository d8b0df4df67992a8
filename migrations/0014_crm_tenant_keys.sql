-- CRM foreign keys become (tenant_id, id) pairs, like the core tables (0001): a CRM row can never
-- point into another tenant's table, field, record or user, whatever a query forgets (issue 14,
-- item 12). Row-level security stays as it was; this is the second wall.
--
-- Existing data stays valid: rows whose tenant disagrees with what they point at (the app never
-- writes them; a bug or a hand edit could have) are removed first when they are derived rows
-- (values, phones, fields, records, imports of a table of another tenant), and cleared when they
-- are links (a call's client, a record's or an import's author).
--
-- Runs as callbase_owner. RLS is forced on these tables, so the owner would see no rows: it is
-- lifted for the clean-up and forced again at the end (all in the migration's transaction).

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['crm_tables', 'crm_fields', 'crm_records', 'crm_values', 'crm_phones', 'crm_imports', 'calls', 'users'] LOOP
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;

DELETE FROM crm_fields f USING crm_tables t WHERE t.id = f.table_id AND t.tenant_id <> f.tenant_id;
DELETE FROM crm_records r USING crm_tables t WHERE t.id = r.table_id AND t.tenant_id <> r.tenant_id;
DELETE FROM crm_values v USING crm_records r WHERE r.id = v.record_id AND r.tenant_id <> v.tenant_id;
DELETE FROM crm_values v USING crm_fields f WHERE f.id = v.field_id AND f.tenant_id <> v.tenant_id;
DELETE FROM crm_phones p USING crm_records r WHERE r.id = p.record_id AND (r.tenant_id <> p.tenant_id OR r.table_id <> p.table_id);
DELETE FROM crm_phones p USING crm_fields f WHERE f.id = p.field_id AND f.tenant_id <> p.tenant_id;
DELETE FROM crm_phones p WHERE NOT EXISTS (SELECT 1 FROM crm_tables t WHERE t.id = p.table_id AND t.tenant_id = p.tenant_id);
DELETE FROM crm_imports i USING crm_tables t WHERE t.id = i.table_id AND t.tenant_id <> i.tenant_id;
UPDATE calls c SET crm_record_id = NULL FROM crm_records r WHERE r.id = c.crm_record_id AND r.tenant_id <> c.tenant_id;
UPDATE crm_records r SET created_by = NULL
    WHERE created_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = r.tenant_id AND u.id = r.created_by);
UPDATE crm_imports i SET created_by = NULL
    WHERE created_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = i.tenant_id AND u.id = i.created_by);

-- The pairs other rows reference.
ALTER TABLE crm_tables ADD CONSTRAINT crm_tables_tenant_id_key UNIQUE (tenant_id, id);
ALTER TABLE crm_fields ADD CONSTRAINT crm_fields_tenant_id_key UNIQUE (tenant_id, id);
ALTER TABLE crm_records ADD CONSTRAINT crm_records_tenant_id_key UNIQUE (tenant_id, id);

-- Fields and records belong to a table of their own tenant.
ALTER TABLE crm_fields DROP CONSTRAINT crm_fields_table_id_fkey,
    ADD CONSTRAINT crm_fields_table_fkey FOREIGN KEY (tenant_id, table_id) REFERENCES crm_tables (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE crm_records DROP CONSTRAINT crm_records_table_id_fkey,
    ADD CONSTRAINT crm_records_table_fkey FOREIGN KEY (tenant_id, table_id) REFERENCES crm_tables (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT crm_records_created_by_fkey FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by);

-- Sort keys and phone numbers belong to a record and a field of their own tenant (they had no
-- tenant key at all).
ALTER TABLE crm_values DROP CONSTRAINT crm_values_record_id_fkey, DROP CONSTRAINT crm_values_field_id_fkey,
    ADD CONSTRAINT crm_values_record_fkey FOREIGN KEY (tenant_id, record_id) REFERENCES crm_records (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT crm_values_field_fkey FOREIGN KEY (tenant_id, field_id) REFERENCES crm_fields (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE crm_phones DROP CONSTRAINT crm_phones_record_id_fkey, DROP CONSTRAINT crm_phones_field_id_fkey,
    ADD CONSTRAINT crm_phones_record_fkey FOREIGN KEY (tenant_id, record_id) REFERENCES crm_records (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT crm_phones_field_fkey FOREIGN KEY (tenant_id, field_id) REFERENCES crm_fields (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT crm_phones_table_fkey FOREIGN KEY (tenant_id, table_id) REFERENCES crm_tables (tenant_id, id) ON DELETE CASCADE;

ALTER TABLE crm_imports DROP CONSTRAINT crm_imports_table_id_fkey,
    ADD CONSTRAINT crm_imports_table_fkey FOREIGN KEY (tenant_id, table_id) REFERENCES crm_tables (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT crm_imports_created_by_fkey FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by);

-- A call's client is a record of the call's tenant; deleting the record clears only the link.
ALTER TABLE calls DROP CONSTRAINT calls_crm_record_id_fkey,
    ADD CONSTRAINT calls_crm_record_fkey FOREIGN KEY (tenant_id, crm_record_id) REFERENCES crm_records (tenant_id, id) ON DELETE SET NULL (crm_record_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['crm_tables', 'crm_fields', 'crm_records', 'crm_values', 'crm_phones', 'crm_imports', 'calls', 'users'] LOOP
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
