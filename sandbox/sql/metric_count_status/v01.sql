-- Counts for /metrics: TG_ARGV[0] is the metric. A row entering a status counts +1
-- there, leaving it -1 (an append to metric_count_delta: no shared row is locked).
CREATE OR REPLACE FUNCTION metric_count_status() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO metric_count_delta VALUES (TG_ARGV[0], NEW.status, 1);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO metric_count_delta VALUES (TG_ARGV[0], OLD.status, -1);
    ELSE
        INSERT INTO metric_count_delta VALUES (TG_ARGV[0], OLD.status, -1), (TG_ARGV[0], NEW.status, 1);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
