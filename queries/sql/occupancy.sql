-- Occupancy per zone and UTC hour bucket of [from, to), cumulative from the
-- first decision ever. One row per zone and bucket that has decisions, plus
-- one row per zone with a NULL bucket_start holding the level carried into
-- `from`; the report fills empty buckets by carrying the level forward.
-- Decisions at one instant count together (one level change per instant).
-- Audience: facility managers.
--
-- The decisions are sorted once, by zone and hour (a segment; the hour of
-- `from` splits into the part before it and the part in the range), newest
-- first within a segment. Every window over that order looks only at rows
-- already seen and ends with its segment, so it holds a few rows:
-- * copies of a decision left in the lake sort next to each other, the
--   first decided first: it alone counts, as compaction keeps it (exact
--   while copies agree on the zone and on whether the scan was granted);
-- * `later` is what the decisions after an instant add within its segment,
--   read at the instant's first row in this order (where the instant ends);
--   the level after it is the segment's closing level less `later`.
-- The segments (one row per zone and hour) then get their closing levels
-- from a running sum, and the buckets their peak and last level.
-- A GROUP BY event_id would hold one group per decision since the first; a
-- running sum over a whole zone keeps the zone's rows until it ends.
WITH scans AS (
  SELECT zone_id, occurred_at, event_id, processed_at, reason, presence_change,
         date_trunc('hour', occurred_at) AS hour,
         CASE WHEN occurred_at >= $from THEN date_trunc('hour', occurred_at) END AS bucket_start
  FROM decisions
  WHERE dt <= $to_dt
    AND occurred_at < $to
    AND zone_id IS NOT NULL
    AND presence_change <> 0
),
d AS (
  SELECT zone_id, hour, bucket_start, occurred_at, event_id, processed_at, reason, presence_change,
         lag(event_id) OVER (PARTITION BY zone_id, hour, bucket_start
                             ORDER BY occurred_at DESC, event_id, processed_at) AS next_id,
         lag(occurred_at) OVER (PARTITION BY zone_id, hour, bucket_start
                                ORDER BY occurred_at DESC, event_id, processed_at) AS next_at
  FROM scans
),
deltas AS (
  SELECT zone_id, hour, bucket_start, occurred_at, event_id, processed_at, reason, next_at,
         CASE WHEN event_id IS DISTINCT FROM next_id THEN presence_change ELSE 0 END AS delta
  FROM d
),
later AS (
  SELECT zone_id, hour, bucket_start, reason, delta,
         sum(delta) OVER (PARTITION BY zone_id, hour, bucket_start
                          ORDER BY occurred_at DESC, event_id, processed_at
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - delta AS later,
         next_at IS DISTINCT FROM occurred_at AS instant_ends
  FROM deltas
),
segments AS (
  SELECT zone_id, hour, bucket_start,
         sum(CASE WHEN delta <> 0 AND reason = 'ok' THEN 1 ELSE 0 END) AS entries,
         sum(CASE WHEN delta <> 0 AND reason = 'egress' THEN 1 ELSE 0 END) AS exits,
         sum(delta) AS change,
         min(CASE WHEN instant_ends THEN later END) AS least_later
  FROM later
  GROUP BY zone_id, hour, bucket_start
),
levels AS (
  SELECT zone_id, hour, bucket_start, entries, exits, least_later,
         sum(change) OVER (PARTITION BY zone_id ORDER BY hour, bucket_start NULLS FIRST
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS level
  FROM segments
),
ranked AS (
  SELECT zone_id, bucket_start, entries, exits, level, level - least_later AS peak,
         row_number() OVER (PARTITION BY zone_id, bucket_start ORDER BY hour DESC) AS from_end
  FROM levels
)
SELECT zone_id, bucket_start,
       sum(entries) AS entries,
       sum(exits) AS exits,
       max(peak) AS peak,
       max(CASE WHEN from_end = 1 THEN level END) AS occupancy_end
FROM ranked
GROUP BY zone_id, bucket_start
ORDER BY zone_id, bucket_start
