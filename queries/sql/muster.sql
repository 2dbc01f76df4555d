-- Roll call at instant `at`: everyone possibly inside each zone (presence sum
-- > 0), with name and department as they are now and the time of their last
-- granted entry into that zone at or before `at`.
-- Audience: facility managers, safety officers.
-- Copies of a decision left in the lake are the same row again: grouping
-- by event_id folds them into one (a hash aggregate, where a window would
-- sort every decision since the first).
WITH d AS (
  SELECT event_id, min(occurred_at) AS occurred_at, min(zone_id) AS zone_id,
         min(employee_id) AS employee_id, min(reason) AS reason,
         min(presence_change) AS presence_change
  FROM decisions
  WHERE dt <= $at_dt
    AND occurred_at <= $at
    AND presence_change <> 0
  GROUP BY event_id
),
inside AS (
  SELECT zone_id, employee_id, sum(presence_change) AS presence,
         max(CASE WHEN reason = 'ok' THEN occurred_at END) AS entered_at
  FROM d
  GROUP BY zone_id, employee_id
),
people AS (
  SELECT entity_id AS employee_id,
         json_extract_scalar(payload, '$.name') AS name,
         json_extract_scalar(payload, '$.department') AS department,
         row_number() OVER (PARTITION BY entity_id ORDER BY occurred_at DESC, received_at DESC, event_id DESC) AS newest
  FROM admin_events
  WHERE type = 'employee_upserted' AND applied
)
SELECT i.zone_id, i.employee_id, p.name, p.department, i.entered_at
FROM inside i
LEFT JOIN people p ON p.employee_id = i.employee_id AND p.newest = 1
WHERE i.presence > 0
ORDER BY i.zone_id, i.employee_id
