-- The zones as they are now (latest applied zone_upserted), with capacity.
-- Used by the occupancy report for every zone and its capacity.
WITH z AS (
  SELECT entity_id AS zone_id,
         json_extract_scalar(payload, '$.name') AS name,
         json_extract_scalar(payload, '$.site_id') AS site_id,
         json_extract_scalar(payload, '$.timezone') AS timezone,
         CAST(json_extract_scalar(payload, '$.capacity') AS BIGINT) AS capacity,
         row_number() OVER (PARTITION BY entity_id ORDER BY occurred_at DESC, received_at DESC, event_id DESC) AS newest
  FROM admin_events
  WHERE type = 'zone_upserted' AND applied
)
SELECT zone_id, name, site_id, timezone, capacity
FROM z
WHERE newest = 1
ORDER BY zone_id
