-- Every decision for one employee in [from, to), in time order.
-- Audience: compliance (investigations).
WITH d AS (
  SELECT event_id, occurred_at, processed_at, site_id, zone_id, door_id, card_id,
         employee_id, direction, outcome, reason, presence_change,
         local_date, local_hour, local_weekday,
         row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS copy
  FROM decisions
  WHERE dt >= $from_dt AND dt <= $to_dt
    AND occurred_at >= $from AND occurred_at < $to
    AND employee_id = $employee_id
)
SELECT event_id, occurred_at, processed_at, site_id, zone_id, door_id, card_id,
       employee_id, direction, outcome, reason, presence_change,
       local_date, local_hour, local_weekday
FROM d
WHERE copy = 1
ORDER BY occurred_at, event_id
