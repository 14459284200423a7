-- After a TRUNCATE the table's counts (metric TG_ARGV[0]) start again from nothing.
CREATE OR REPLACE FUNCTION metric_count_reset() RETURNS trigger AS $$
BEGIN
    DELETE FROM metric_count WHERE metric = TG_ARGV[0];
    DELETE FROM metric_count_delta WHERE metric = TG_ARGV[0];
    RETURN NULL;
END $$ LANGUAGE plpgsql;
