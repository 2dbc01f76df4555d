-- Occupancy per zone and UTC hour bucket of [from, to), cumulative from the
-- first decision ever. One row per zone and bucket that has decisions, plus
-- one row per zone with a NULL bucket_start holding the level carried into
-- `from`; the report fills empty buckets by carrying the level forward.
-- Decisions at one instant count together (one level change per instant).
-- Audience: facility managers.
WITH d AS (
  SELECT event_id, occurred_at, zone_id, reason, presence_change,
         row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS copy
  FROM decisions
  WHERE dt <= $to_dt
    AND occurred_at < $to
    AND zone_id IS NOT NULL
    AND presence_change <> 0
),
instants AS (
  SELECT zone_id, occurred_at,
         sum(presence_change) AS delta,
         sum(CASE WHEN reason = 'ok' THEN 1 ELSE 0 END) AS entries,
         sum(CASE WHEN reason = 'egress' THEN 1 ELSE 0 END) AS exits
  FROM d
  WHERE copy = 1
  GROUP BY zone_id, occurred_at
),
levels AS (
  SELECT zone_id, occurred_at, entries, exits,
         sum(delta) OVER (PARTITION BY zone_id ORDER BY occurred_at
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS level,
         CASE WHEN occurred_at >= $from THEN date_trunc('hour', occurred_at) END AS bucket_start
  FROM instants
),
ranked AS (
  SELECT zone_id, bucket_start, entries, exits, level,
         row_number() OVER (PARTITION BY zone_id, bucket_start ORDER BY occurred_at DESC) AS from_end
  FROM levels
)
SELECT zone_id, bucket_start,
       sum(entries) AS entries,
       sum(exits) AS exits,
       max(level) AS peak,
       max(CASE WHEN from_end = 1 THEN level END) AS occupancy_end
FROM ranked
GROUP BY zone_id, bucket_start
ORDER BY zone_id, bucket_start
