-- Granted entries outside Monday-Friday 07:00-19:00 zone-local time, in [from, to).
-- Audience: compliance. local_* columns were computed at decision time in the
-- zone's timezone, so no timezone arithmetic is needed here.
WITH d AS (
  SELECT event_id, occurred_at, local_date, local_hour, employee_id, door_id, zone_id,
         row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS copy
  FROM decisions
  WHERE dt >= $from_dt AND dt <= $to_dt
    AND occurred_at >= $from AND occurred_at < $to
    AND reason = 'ok'
    AND (local_weekday >= 6 OR local_hour < 7 OR local_hour >= 19)
)
SELECT event_id, occurred_at, local_date, local_hour, employee_id, door_id, zone_id
FROM d
WHERE copy = 1
ORDER BY occurred_at, event_id
