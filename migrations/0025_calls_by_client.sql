-- The client's call history on a CRM record (issue #18): the calls linked to a record, newest first.
CREATE INDEX calls_tenant_record_started ON calls (tenant_id, crm_record_id, started_at DESC)
    WHERE crm_record_id IS NOT NULL;
