-- Occupancy per zone and UTC hour bucket of [from, to), cumulative from the
-- first decision ever. One row per zone and bucket that has decisions, plus
-- one row per zone with a NULL bucket_start holding the level carried into
-- `from`; the report fills empty buckets by carrying the level forward.
-- Decisions at one instant count together (one level change per instant).
-- Audience: facility managers.
--
-- One sort of a zone's decisions, newest first, carries the whole query;
-- every step after it looks only at rows already seen, so it streams:
-- * copies of a decision left in the lake sort next to each other, the
--   first decided first: it alone counts, as compaction keeps it (exact
--   while copies agree on the zone and on whether the scan was granted);
-- * `later` is what the decisions after an instant add to the zone, and the
--   level after the instant is the zone's total less `later`, read at the
--   instant's first row in this order (the instant ends there);
-- * a bucket's first row in this order is its last instant (occupancy_end).
-- A window that looks ahead (lead) would hold its rows; a GROUP BY
-- event_id would hold one group per decision since the first.
WITH d AS (
  SELECT zone_id, occurred_at, event_id, processed_at, reason, presence_change,
         lag(event_id) OVER (PARTITION BY zone_id ORDER BY occurred_at DESC, event_id, processed_at) AS next_id,
         lag(occurred_at) OVER (PARTITION BY zone_id ORDER BY occurred_at DESC, event_id, processed_at) AS next_at
  FROM decisions
  WHERE dt <= $to_dt
    AND occurred_at < $to
    AND zone_id IS NOT NULL
    AND presence_change <> 0
),
deltas AS (
  SELECT zone_id, occurred_at, event_id, processed_at, reason, next_at,
         CASE WHEN event_id IS DISTINCT FROM next_id THEN presence_change ELSE 0 END AS delta,
         CASE WHEN occurred_at >= $from THEN date_trunc('hour', occurred_at) END AS bucket_start
  FROM d
),
later AS (
  SELECT zone_id, bucket_start, reason, delta,
         sum(delta) OVER (PARTITION BY zone_id ORDER BY occurred_at DESC, event_id, processed_at
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - delta AS later,
         next_at IS DISTINCT FROM occurred_at AS instant_ends,
         next_at IS NULL
           OR bucket_start IS DISTINCT FROM
              lag(bucket_start) OVER (PARTITION BY zone_id ORDER BY occurred_at DESC, event_id, processed_at)
             AS bucket_ends
  FROM deltas
),
buckets AS (
  SELECT zone_id, bucket_start,
         sum(CASE WHEN delta <> 0 AND reason = 'ok' THEN 1 ELSE 0 END) AS entries,
         sum(CASE WHEN delta <> 0 AND reason = 'egress' THEN 1 ELSE 0 END) AS exits,
         sum(delta) AS change,
         min(CASE WHEN instant_ends THEN later END) AS least_later,
         min(CASE WHEN bucket_ends THEN later END) AS end_later
  FROM later
  GROUP BY zone_id, bucket_start
)
SELECT zone_id, bucket_start, entries, exits,
       sum(change) OVER (PARTITION BY zone_id) - least_later AS peak,
       sum(change) OVER (PARTITION BY zone_id) - end_later AS occupancy_end
FROM buckets
ORDER BY zone_id, bucket_start
