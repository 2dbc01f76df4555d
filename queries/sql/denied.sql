-- Denied scans in [from, to): who, which card, where, and why.
-- Audience: compliance. Each event_id counts once.
WITH d AS (
  SELECT event_id, occurred_at, reason, employee_id, card_id, door_id, zone_id,
         row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS copy
  FROM decisions
  WHERE dt >= $from_dt AND dt <= $to_dt
    AND occurred_at >= $from AND occurred_at < $to
    AND outcome = 'denied'
)
SELECT event_id, occurred_at, reason, employee_id, card_id, door_id, zone_id
FROM d
WHERE copy = 1
ORDER BY occurred_at, event_id
