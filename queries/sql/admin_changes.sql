-- Admin events in [from, to) by actor and type, applied or not and why.
-- Audience: compliance.
WITH a AS (
  SELECT event_id, occurred_at, received_at, actor, type, entity_id, payload, applied, error,
         row_number() OVER (PARTITION BY event_id ORDER BY received_at) AS copy
  FROM admin_events
  WHERE dt >= $from_dt AND dt <= $to_dt
    AND occurred_at >= $from AND occurred_at < $to
)
SELECT event_id, occurred_at, received_at, actor, type, entity_id, payload, applied, error
FROM a
WHERE copy = 1
ORDER BY actor, type, occurred_at, event_id
