-- PJSIP realtime tables read by Asterisk (res_config_pgsql + res_sorcery_realtime, see
-- infra/asterisk/extconfig.conf and sorcery.conf). Runs as callbase_owner after 0001_core.sql.
--
-- Columns: those Asterisk 22 knows, from its alembic scripts (contrib/ast-db-manage, config
-- branch, head e89e30cee53f of 22.10.1). Asterisk's enum types (yes/no, dtmf modes, ...) are plain
-- text here; Asterisk validates the values when it applies a row. Asterisk ignores columns it does
-- not know, so each table also carries tenant_id (NULL for platform rows). Asterisk skips NULL and
-- empty values, so its defaults apply for every column left NULL.
--
-- Values are split on ';' and '^XX' is decoded by Asterisk: escape '^' as '^5E' and ';' as '^3B'
-- in user-supplied values; generate secrets from [A-Za-z0-9].
--
-- Access:
--   callbase_ast     SELECT on every table (Asterisk only reads; contacts stay in astdb), plus
--                    full access to ps_contacts in case contacts are ever mapped to realtime.
--   callbase_app     DML on the rows of the current tenant (app.tenant_id), RLS forced.
--   callbase_worker  everything (BYPASSRLS), e.g. platform rows with tenant_id NULL.

CREATE SCHEMA ast;

CREATE TABLE ast.ps_endpoints (
    id text PRIMARY KEY,
    transport text,
    aors text,
    auth text,
    context text,
    disallow text,
    allow text,
    direct_media text,
    connected_line_method text,
    direct_media_method text,
    direct_media_glare_mitigation text,
    disable_direct_media_on_nat text,
    dtmf_mode text,
    external_media_address text,
    force_rport text,
    ice_support text,
    identify_by text,
    mailboxes text,
    moh_suggest text,
    outbound_auth text,
    outbound_proxy text,
    rewrite_contact text,
    rtp_ipv6 text,
    rtp_symmetric text,
    send_diversion text,
    send_pai text,
    send_rpid text,
    timers_min_se integer,
    timers text,
    timers_sess_expires integer,
    callerid text,
    callerid_privacy text,
    callerid_tag text,
    "100rel" text,
    aggregate_mwi text,
    trust_id_inbound text,
    trust_id_outbound text,
    use_ptime text,
    use_avpf text,
    media_encryption text,
    inband_progress text,
    call_group text,
    pickup_group text,
    named_call_group text,
    named_pickup_group text,
    device_state_busy_at integer,
    fax_detect text,
    t38_udptl text,
    t38_udptl_ec text,
    t38_udptl_maxdatagram integer,
    t38_udptl_nat text,
    t38_udptl_ipv6 text,
    tone_zone text,
    language text,
    one_touch_recording text,
    record_on_feature text,
    record_off_feature text,
    rtp_engine text,
    allow_transfer text,
    allow_subscribe text,
    sdp_owner text,
    sdp_session text,
    tos_audio text,
    tos_video text,
    sub_min_expiry integer,
    from_domain text,
    from_user text,
    mwi_from_user text,
    dtls_verify text,
    dtls_rekey text,
    dtls_cert_file text,
    dtls_private_key text,
    dtls_cipher text,
    dtls_ca_file text,
    dtls_ca_path text,
    dtls_setup text,
    srtp_tag_32 text,
    media_address text,
    redirect_method text,
    set_var text,
    cos_audio integer,
    cos_video integer,
    message_context text,
    force_avp text,
    media_use_received_transport text,
    accountcode text,
    user_eq_phone text,
    moh_passthrough text,
    media_encryption_optimistic text,
    rpid_immediate text,
    g726_non_standard text,
    rtp_keepalive integer,
    rtp_timeout integer,
    rtp_timeout_hold integer,
    bind_rtp_to_media_address text,
    voicemail_extension text,
    mwi_subscribe_replaces_unsolicited text,
    deny text,
    permit text,
    acl text,
    contact_deny text,
    contact_permit text,
    contact_acl text,
    subscribe_context text,
    fax_detect_timeout integer,
    contact_user text,
    preferred_codec_only text,
    asymmetric_rtp_codec text,
    rtcp_mux text,
    allow_overlap text,
    refer_blind_progress text,
    notify_early_inuse_ringing text,
    max_audio_streams integer,
    max_video_streams integer,
    webrtc text,
    dtls_fingerprint text,
    incoming_mwi_mailbox text,
    bundle text,
    dtls_auto_generate_cert text,
    follow_early_media_fork text,
    accept_multiple_sdp_answers text,
    suppress_q850_reason_headers text,
    trust_connected_line text,
    send_connected_line text,
    ignore_183_without_sdp text,
    codec_prefs_incoming_offer text,
    codec_prefs_outgoing_offer text,
    codec_prefs_incoming_answer text,
    codec_prefs_outgoing_answer text,
    stir_shaken text,
    send_history_info text,
    allow_unauthenticated_options text,
    t38_bind_udptl_to_media_address text,
    geoloc_incoming_call_profile text,
    geoloc_outgoing_call_profile text,
    incoming_call_offer_pref text,
    outgoing_call_offer_pref text,
    stir_shaken_profile text,
    security_negotiation text,
    security_mechanisms text,
    send_aoc text,
    overlap_context text,
    tenantid text,
    suppress_moh_on_sendonly text,
    follow_redirect_methods text,
    rtp_port_start integer,
    rtp_port_end integer,
    tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE TABLE ast.ps_auths (
    id text PRIMARY KEY,
    auth_type text,
    nonce_lifetime integer,
    md5_cred text,
    password text,
    realm text,
    username text,
    refresh_token text,
    oauth_clientid text,
    oauth_secret text,
    password_digest text,
    supported_algorithms_uas text,
    supported_algorithms_uac text,
    tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE TABLE ast.ps_aors (
    id text PRIMARY KEY,
    contact text,
    default_expiration integer,
    mailboxes text,
    max_contacts integer,
    minimum_expiration integer,
    remove_existing text,
    qualify_frequency integer,
    authenticate_qualify text,
    maximum_expiration integer,
    outbound_proxy text,
    support_path text,
    qualify_timeout double precision,
    voicemail_extension text,
    remove_unavailable text,
    qualify_2xx_only text,
    tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE TABLE ast.ps_registrations (
    id text PRIMARY KEY,
    auth_rejection_permanent text,
    client_uri text,
    contact_user text,
    expiration integer,
    max_retries integer,
    outbound_auth text,
    outbound_proxy text,
    retry_interval integer,
    forbidden_retry_interval integer,
    server_uri text,
    transport text,
    support_path text,
    fatal_retry_interval integer,
    line text,
    endpoint text,
    support_outbound text,
    contact_header_params text,
    max_random_initial_delay integer,
    security_negotiation text,
    security_mechanisms text,
    user_agent text,
    tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE TABLE ast.ps_endpoint_id_ips (
    id text PRIMARY KEY,
    endpoint text,
    match text,
    srv_lookups text,
    match_header text,
    match_request_uri text,
    tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE TABLE ast.ps_contacts (
    id text PRIMARY KEY,
    uri text,
    expiration_time bigint,
    qualify_frequency integer,
    outbound_proxy text,
    path text,
    user_agent text,
    qualify_timeout double precision,
    reg_server text,
    authenticate_qualify text,
    via_addr text,
    via_port integer,
    call_id text,
    endpoint text,
    prune_on_boot text,
    qualify_2xx_only text,
    tenant_id bigint REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE INDEX ps_endpoints_tenant_idx ON ast.ps_endpoints (tenant_id);
CREATE INDEX ps_auths_tenant_idx ON ast.ps_auths (tenant_id);
CREATE INDEX ps_aors_tenant_idx ON ast.ps_aors (tenant_id);
CREATE INDEX ps_registrations_tenant_idx ON ast.ps_registrations (tenant_id);
CREATE INDEX ps_endpoint_id_ips_tenant_idx ON ast.ps_endpoint_id_ips (tenant_id);
CREATE INDEX ps_contacts_tenant_idx ON ast.ps_contacts (tenant_id);
-- lookups Asterisk does besides by id
CREATE INDEX ps_auths_username_idx ON ast.ps_auths (username);
CREATE INDEX ps_aors_qualifyfreq_contact_idx ON ast.ps_aors (qualify_frequency, contact);
CREATE INDEX ps_contacts_qualifyfreq_exp_idx ON ast.ps_contacts (qualify_frequency, expiration_time);
CREATE UNIQUE INDEX ps_contacts_id_reg_server_key ON ast.ps_contacts (id, reg_server);
CREATE INDEX ps_endpoint_id_ips_endpoint_idx ON ast.ps_endpoint_id_ips (endpoint);

-- Row-level security, forced (the owner is filtered too; cross-tenant work uses callbase_worker).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ps_endpoints', 'ps_auths', 'ps_aors', 'ps_registrations',
                             'ps_endpoint_id_ips', 'ps_contacts']
    LOOP
        EXECUTE format('ALTER TABLE ast.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE ast.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON ast.%I TO callbase_app '
                       'USING (tenant_id = app_current_tenant()) '
                       'WITH CHECK (tenant_id = app_current_tenant())', t);
        IF t = 'ps_contacts' THEN
            EXECUTE format('CREATE POLICY asterisk_all ON ast.%I TO callbase_ast '
                           'USING (true) WITH CHECK (true)', t);
        ELSE
            EXECUTE format('CREATE POLICY asterisk_read ON ast.%I FOR SELECT TO callbase_ast USING (true)', t);
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA ast TO callbase_ast, callbase_app, callbase_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA ast TO callbase_ast;
GRANT INSERT, UPDATE, DELETE ON ast.ps_contacts TO callbase_ast;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ast TO callbase_app;
GRANT ALL ON ALL TABLES IN SCHEMA ast TO callbase_worker;
