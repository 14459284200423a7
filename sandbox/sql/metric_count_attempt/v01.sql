-- Counts webhook attempts for /metrics by outcome (an append to metric_count_delta).
CREATE OR REPLACE FUNCTION metric_count_attempt() RETURNS trigger AS $$
DECLARE
    row webhook_attempt := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    INSERT INTO metric_count_delta VALUES ('webhook_attempts',
        CASE WHEN row.status_code BETWEEN 200 AND 299 THEN 'success'
             WHEN row.status_code IS NOT NULL THEN 'http_' || (row.status_code / 100)::text || 'xx'
             ELSE 'no_response' END,
        CASE WHEN TG_OP = 'DELETE' THEN -1 ELSE 1 END);
    RETURN NULL;
END $$ LANGUAGE plpgsql;
