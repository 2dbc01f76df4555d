-- Every scan of a lost, stolen, revoked, expired or not-yet-valid card in [from, to).
-- Audience: compliance. Each event_id counts once.
WITH d AS (
  SELECT event_id, occurred_at, reason, employee_id, card_id, door_id, zone_id,
         row_number() OVER (PARTITION BY event_id ORDER BY processed_at) AS copy
  FROM decisions
  WHERE dt >= $from_dt AND dt <= $to_dt
    AND occurred_at >= $from AND occurred_at < $to
    AND reason IN ('card_lost', 'card_stolen', 'card_revoked', 'card_expired', 'card_not_yet_valid')
)
SELECT event_id, occurred_at, reason, employee_id, card_id, door_id, zone_id
FROM d
WHERE copy = 1
ORDER BY occurred_at, event_id
