-- Anti-passback denials in [from, to) by employee and zone: how often, first and last.
-- Audience: compliance.
WITH d AS (
  SELECT event_id, occurred_at, employee_id, zone_id,
         row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS copy
  FROM decisions
  WHERE dt >= $from_dt AND dt <= $to_dt
    AND occurred_at >= $from AND occurred_at < $to
    AND reason = 'anti_passback'
)
SELECT employee_id, zone_id, count(*) AS count,
       min(occurred_at) AS first_at, max(occurred_at) AS last_at
FROM d
WHERE copy = 1
GROUP BY employee_id, zone_id
ORDER BY count DESC, employee_id, zone_id
