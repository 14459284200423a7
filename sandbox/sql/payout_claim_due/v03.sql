-- Locks and returns up to p_limit payouts of one merchant whose next step was due by
-- p_at, oldest first, skipping rows another transaction holds (the worker's claim, see
-- `repository.claim_due`): live-clock merchants' only; not those at a step in p_leave
-- (`scenario:track:index`) nor at a step the rail reports of a merchant's own scenario
-- (in the payout's `script`); with p_only, among those ids alone, else not those in
-- p_skip nor those of a batch still processing; of the merchants whose hash is p_share
-- modulo p_shares. The merchant is the one of the oldest due payout nobody holds; when
-- there is none, the EXISTS stops the second scan before it starts. Each branch's two
-- queries hold the same conditions (the merchant's oldest, then its rows): keep them
-- equal. A helper function for them would not be inlined (it holds subqueries) and
-- would cost a call for every row the walk passes.
--
-- Planned as index walks only, never a bitmap scan or a scan of the table: a payout's
-- every step moves its row and leaves its old entry in the due index until a vacuum,
-- and a bitmap scan visits the heap for every such entry each time (a claim read
-- 200-600 dead entries at 200 payouts a second), where a walk of the due index in due
-- order stops at the first row it wants and marks the dead entries it passed, so the
-- next walk skips them. Left to itself the planner takes the bitmap and a sort: it
-- cannot know how few due rows pass the filters.
--
-- Nor a sort (enable_sort off): the due index is the one path that yields payouts in due
-- order, so without a sort the first query has no plan but its walk, whatever the
-- statistics. The planner costs that walk as a read of every due row (few pass its
-- filters by its reckoning, so LIMIT 1 takes nothing off), and it reckons another such
-- read cheaper when the payouts lie in the table in merchant order (merchant ids follow
-- the clock since 28 Nov, and a merchant's payouts are made together) and few fit a page
-- (wide rows, dead ones): the merchants' due index (merchant, next_action_at), read in the
-- table's order, then a sort. Seen (tests/sql/test_worker_plans.py): 3,000 payouts of
-- 1.6 KB, half of them due, analyzed: 33,842 against the walk's 35,013 (of 600 bytes:
-- 33,180 against 33,705); such a claim reads every due row. The second query keeps a
-- plan without a sort (its merchant is given, and the merchants' due index yields its
-- rows in due order), and every plan of the p_only branch sorts, so the setting changes
-- no choice in either. Before PostgreSQL 18 a disabled step adds 10^10 to a plan's cost,
-- far past where JIT compiling starts (jit_above_cost): so jit is off, or every p_only
-- claim would compile its plan (a second, seen on 15). A claim gains nothing from JIT,
-- and the walk's estimate passes that mark too, at some 9,000 payouts (seen on 15:
-- 112,000 for 10,000).
--
-- With p_only (a batch's group of payouts just made, all due), each given payout is
-- looked up by primary key, then those rows sorted: never a walk of the due index or of
-- the merchant's payouts, which pass every due payout older than the group (a big
-- batch's thousands) on every claim. The generic plan is made once per connection from
-- the statistics of that moment; with few payouts due then (seen: 25 of 448), the walk
-- looked cheaper and stayed. So this branch leaves the planner no other index: its due
-- condition is written with coalesce, which does not imply `next_action_at IS NOT NULL`,
-- the predicate of both partial due indexes; the merchant is matched with IS NOT
-- DISTINCT FROM, which no index serves (merchant is NOT NULL: the same rows).
CREATE OR REPLACE FUNCTION payout_claim_due(
    p_at timestamptz, p_leave text[], p_limit int, p_skip varchar[], p_shares int, p_share int,
    p_only varchar[] DEFAULT NULL
) RETURNS SETOF payout
LANGUAGE plpgsql
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_sort = off
SET jit = off
AS $$
BEGIN
    IF p_only IS NULL THEN
        RETURN QUERY
        WITH first AS (
            SELECT p.merchant FROM payout p
             WHERE p.next_action_at <= p_at AND p.id <> ALL(p_skip)
               AND NOT (EXISTS (SELECT 1 FROM payout_batch b WHERE b.merchant = p.merchant
                                   AND b.status = 'processing' AND b.created_at <= p.created_at)
                        AND EXISTS (SELECT 1 FROM payout_batch_item i JOIN payout_batch b ON b.id = i.batch
                                     WHERE i.payout_id = p.id AND b.status = 'processing'))
               AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
               AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
               AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
               AND abs(hashtext(p.merchant)) % p_shares = p_share
             ORDER BY p.next_action_at LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        SELECT p.* FROM payout p
         WHERE EXISTS (SELECT 1 FROM first) AND p.merchant = (SELECT merchant FROM first)
           AND p.next_action_at <= p_at AND p.id <> ALL(p_skip)
           AND NOT (EXISTS (SELECT 1 FROM payout_batch b WHERE b.merchant = p.merchant
                               AND b.status = 'processing' AND b.created_at <= p.created_at)
                    AND EXISTS (SELECT 1 FROM payout_batch_item i JOIN payout_batch b ON b.id = i.batch
                                 WHERE i.payout_id = p.id AND b.status = 'processing'))
           AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
           AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
           AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
           AND abs(hashtext(p.merchant)) % p_shares = p_share
         ORDER BY p.next_action_at LIMIT p_limit FOR UPDATE OF p SKIP LOCKED;
    ELSE
        RETURN QUERY
        WITH first AS (
            SELECT p.merchant FROM payout p
             WHERE coalesce(p.next_action_at, 'infinity') <= p_at AND p.id = ANY(p_only)
               AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
               AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
               AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
               AND abs(hashtext(p.merchant)) % p_shares = p_share
             ORDER BY p.next_action_at LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        SELECT p.* FROM payout p
         WHERE EXISTS (SELECT 1 FROM first) AND p.merchant IS NOT DISTINCT FROM (SELECT merchant FROM first)
           AND coalesce(p.next_action_at, 'infinity') <= p_at AND p.id = ANY(p_only)
           AND NOT EXISTS (SELECT 1 FROM merchant_clock c WHERE c.merchant = p.merchant)
           AND p.scenario || ':' || p.track || ':' || p.step_index <> ALL(p_leave)
           AND (p.script IS NULL OR NOT (p.script->'rail') ? (p.track || ':' || p.step_index))
           AND abs(hashtext(p.merchant)) % p_shares = p_share
         ORDER BY p.next_action_at LIMIT p_limit FOR UPDATE OF p SKIP LOCKED;
    END IF;
END $$;
