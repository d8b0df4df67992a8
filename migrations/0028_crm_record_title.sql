-- The title of a CRM record: the value of its table's title field (every query that names a call's
-- client — the board, the call history, the record's calls — reads it through here). Runs with the
-- caller's rights, so row-level security still decides which fields and records it can see.
CREATE FUNCTION crm_record_title(tbl bigint, data jsonb) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT data->>(SELECT f.id::text FROM crm_fields f WHERE f.table_id = tbl AND f.is_title LIMIT 1) $$;

GRANT EXECUTE ON FUNCTION crm_record_title(bigint, jsonb) TO callbase_app, callbase_worker;
