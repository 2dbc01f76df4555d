-- Occupancy per zone and UTC hour bucket of [from, to), cumulative from the
-- first decision ever. One row per zone and bucket that has decisions, plus
-- one row per zone with a NULL bucket_start holding the level carried into
-- `from`; the report fills empty buckets by carrying the level forward.
-- Decisions at one instant count together (one level change per instant).
-- Audience: facility managers.
-- Copies of a decision left in the lake are the same row again: grouping
-- by event_id folds them into one (a hash aggregate, where a window would
-- sort every decision since the first).
WITH d AS (
  SELECT event_id, min(occurred_at) AS occurred_at, min(zone_id) AS zone_id,
         min(reason) AS reason, min(presence_change) AS presence_change
  FROM decisions
  WHERE dt <= $to_dt
    AND occurred_at < $to
    AND zone_id IS NOT NULL
    AND presence_change <> 0
  GROUP BY event_id
),
instants AS (
  SELECT zone_id, occurred_at,
         sum(presence_change) AS delta,
         sum(CASE WHEN reason = 'ok' THEN 1 ELSE 0 END) AS entries,
         sum(CASE WHEN reason = 'egress' THEN 1 ELSE 0 END) AS exits
  FROM d
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
