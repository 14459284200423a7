-- Counts for /metrics, once per UPDATE statement (a statement trigger with the rows before
-- and after as `old_rows` and `new_rows`): TG_ARGV[0] is the metric; one append to
-- metric_count_delta per status whose count the statement changed, by how much. An UPDATE
-- keeps its rows, so a status's change is its count after less its count before. Where a
-- row trigger appended two rows for each row that changed status (the recorder finishes
-- its deliveries a batch a statement), a statement appends two at most for a batch of one
-- kind; a statement that changes no status (a lease taken or given back) appends none.
CREATE OR REPLACE FUNCTION metric_count_status_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO metric_count_delta
    SELECT TG_ARGV[0], status, sum(n)::integer
      FROM (SELECT status, 1 AS n FROM new_rows UNION ALL SELECT status, -1 FROM old_rows) counted
     GROUP BY status HAVING sum(n) <> 0;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
