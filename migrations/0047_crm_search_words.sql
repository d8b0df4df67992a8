-- Quick search by words (issue #23, item 2). The trigram index on `crm_records.search` answers any
-- substring, but its lookups intersect the posting lists of common trigrams (names, digits), which
-- grow with the table: 20 ms at a million clients, 180 ms at ten million. The quick search now
-- looks up words first: every word of the search text, and every ending (three digits or more) of
-- each run of four digits or more, so that digits typed from the middle of a number are the start
-- of one of its endings. The typed words must each be a word of the record (the last one may be
-- the start of one: it is still being typed); the record's text must also hold the typed text as
-- it is (`LIKE`), as before. When no record matches by words, the trigram search runs as before
-- (a search for the inside of a word: `ktor` finds Viktor). Code: `callbase_crm::repo::list`.

-- The words of a record's search text, with the endings of its numbers.
CREATE FUNCTION crm_search_words(search text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT to_tsvector('simple'::regconfig, search) || coalesce((
        SELECT array_to_tsvector(array_agg(DISTINCT substr(m[1], k)))
        FROM regexp_matches(search, '[0-9]{4,}', 'g') AS m, generate_series(2, length(m[1]) - 2) AS k
    ), ''::tsvector)
$$;

-- What a typed search must find among those words: each typed word of three characters or more
-- (shorter ones, and words with other characters, are left to the `LIKE` that follows), the last
-- of them as a prefix. NULL when no word is left.
CREATE FUNCTION crm_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT string_agg(quote_literal(lexeme) || CASE WHEN pos = last THEN ':*' ELSE '' END, ' & ')::tsquery
    FROM (
        SELECT lexeme, pos, max(pos) OVER () AS last
        FROM (
            SELECT lexeme, positions[array_upper(positions, 1)] AS pos
            FROM unnest(to_tsvector('simple'::regconfig, q))
        ) typed
        WHERE length(lexeme) >= 3 AND lexeme ~ '^[[:alnum:]@._+-]+$'
    ) kept
$$;

CREATE INDEX crm_records_words ON crm_records USING gin (crm_search_words(search));
