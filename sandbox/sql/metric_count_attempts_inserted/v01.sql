-- Counts webhook attempts for /metrics by outcome, once per INSERT statement (a statement
-- trigger with the inserted rows as `inserted`): one append to metric_count_delta per
-- outcome among the rows (the recorder inserts a batch of attempts in one statement).
CREATE OR REPLACE FUNCTION metric_count_attempts_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO metric_count_delta
    SELECT 'webhook_attempts', outcome, count(*)::integer
      FROM (SELECT CASE WHEN status_code BETWEEN 200 AND 299 THEN 'success'
                        WHEN status_code IS NOT NULL THEN 'http_' || (status_code / 100)::text || 'xx'
                        ELSE 'no_response' END AS outcome
              FROM inserted) o
     GROUP BY outcome;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
