-- Counts for /metrics, once per INSERT statement (a statement trigger with the inserted rows
-- as `inserted`): TG_ARGV[0] is the metric; one append to metric_count_delta per status
-- among the rows, where a row trigger appended one per row (the relay inserts a batch of
-- deliveries in one statement).
CREATE OR REPLACE FUNCTION metric_count_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO metric_count_delta SELECT TG_ARGV[0], status, count(*)::integer FROM inserted GROUP BY status;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
