-- Trunks take nothing they did not ask for (docs/security.md, trunk hijack): no REGISTER may add a
-- contact to a trunk's AOR, and a trunk endpoint is selected only by the line token of our own
-- outbound registration, never by the From user or the source address.
UPDATE ast.ps_aors SET max_contacts = 0 WHERE id ~ '^t[0-9]+-trk[1-3]$';
UPDATE ast.ps_endpoints SET identify_by = 'header' WHERE id ~ '^t[0-9]+-trk[1-3]$';
