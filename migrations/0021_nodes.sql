-- Scale out across Asterisk nodes (issue 17): the node registry, each tenant pinned to one node,
-- and each node's Asterisk reading only its own tenants' PJSIP realtime rows.
--
--   nodes        one row per platform Asterisk node: where the server reaches it (ARI, AMI, SIP
--                over WebSocket), where phones and the edge reach it (SIP), how many telephony users
--                it takes (tenants), its state, and the PostgreSQL role its Asterisk reads `ast` as.
--   tenants.node_id
--                the node all of a tenant's telephony runs on (trunk registrations, phones, calls,
--                recordings). NULL until the tenant first needs one (telephony turned on).
--
-- A node's Asterisk logs in as its own role (`nodes.db_role`), a member of callbase_ast; the
-- policies below let that role read a tenant's rows only while the tenant is on the node, so a
-- node never registers another node's trunks or authenticates another node's phones. Platform
-- rows (tenant_id NULL: the health probe's synthetic agents) are read by every node.

CREATE TABLE nodes (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    -- Asterisk's HTTP server (ARI), e.g. http://10.0.0.5:8088
    ari_url     text NOT NULL,
    -- AMI host:port; NULL: no AMI (trunk status and cache expiry off on this node)
    ami_addr    text,
    -- SIP over WebSocket for the /sip relay; NULL: ws://<ARI host:port>/ws
    ws_url      text,
    -- host:port of the node's SIP listener: the edge (Kamailio) routes desk phones here
    sip_addr    text,
    -- the most tenants the node takes (a full node is passed over when tenants are placed)
    capacity    integer NOT NULL DEFAULT 1000 CHECK (capacity >= 0),
    -- live: takes tenants and calls; draining: keeps its tenants, takes no new ones; down: its
    -- tenants are being moved away
    state       text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'draining', 'down')),
    db_role     text NOT NULL UNIQUE CHECK (db_role ~ '^[a-z_][a-z0-9_]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tenants ADD COLUMN node_id text REFERENCES nodes (id);
CREATE INDEX tenants_node_idx ON tenants (node_id);

-- The registry holds no secret (credentials are the server's settings); the API reads it to route
-- a tenant's requests, the worker and the owner's CLI change it.
GRANT SELECT ON nodes TO callbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON nodes TO callbase_worker;

-- The tenants on the node whose Asterisk is asking: the node's role is the session's login role
-- (inside a SECURITY DEFINER function current_user is the function's owner). SECURITY DEFINER:
-- the Asterisk roles read neither `tenants` nor `nodes` themselves. Used as
-- `(SELECT ast_node_tenants())` in the policies, so it runs once per query, not once per row.
CREATE FUNCTION ast_node_tenants() RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT coalesce(array_agg(t.id), '{}')
      FROM tenants t JOIN nodes n ON n.id = t.node_id
     WHERE n.db_role = session_user
$$;
REVOKE ALL ON FUNCTION ast_node_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ast_node_tenants() TO callbase_ast;

-- Places a tenant that has no node on the least-loaded live node with room (tenants per node over
-- its capacity; ties: fewer tenants, then the id), and returns its node; NULL when every live node
-- is full. A tenant already placed keeps its node. One placement at a time (advisory lock), so two
-- sign-ups never both take a node's last place. SECURITY DEFINER: the API's role may place its
-- own tenant but not write `tenants`.
CREATE FUNCTION place_tenant(tenant bigint) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    placed text;
BEGIN
    SELECT node_id INTO placed FROM tenants WHERE id = tenant;
    IF placed IS NOT NULL THEN
        RETURN placed;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('callbase:placement'));
    SELECT n.id INTO placed
      FROM nodes n
      LEFT JOIN LATERAL (SELECT count(*) AS c FROM tenants t WHERE t.node_id = n.id) load ON true
     WHERE n.state = 'live' AND load.c < n.capacity
     ORDER BY load.c::float8 / n.capacity, load.c, n.id
     LIMIT 1;
    IF placed IS NOT NULL THEN
        UPDATE tenants SET node_id = placed WHERE id = tenant AND node_id IS NULL;
        SELECT node_id INTO placed FROM tenants WHERE id = tenant;
    END IF;
    RETURN placed;
END
$$;
REVOKE ALL ON FUNCTION place_tenant(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION place_tenant(bigint) TO callbase_app, callbase_worker;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ps_endpoints', 'ps_auths', 'ps_aors', 'ps_registrations', 'ps_endpoint_id_ips']
    LOOP
        EXECUTE format('DROP POLICY asterisk_read ON ast.%I', t);
        EXECUTE format('CREATE POLICY asterisk_read ON ast.%I FOR SELECT TO callbase_ast '
                       'USING (tenant_id IS NULL OR tenant_id = ANY ((SELECT ast_node_tenants())::bigint[]))', t);
    END LOOP;
END
$$;

-- Tenants that have telephony already are placed when a server starts: it registers the node of its
-- settings (asterisk.node, "main" by default, read as callbase_ast) and puts every tenant with
-- telephony on and no node there (server/telephony/src/nodes.rs; `telephony` is under forced RLS,
-- which this migration's role cannot see across).
