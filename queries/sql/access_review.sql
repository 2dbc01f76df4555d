-- Access review: every grant in force in the newest dimension snapshot, with
-- the holder's name and department, who granted it and when, and the
-- holder's last granted entry into the zone (ever).
-- Audience: compliance officers.
-- The newest snapshot is the latest snapshot_at over all five snapshot
-- tables, so a table that is empty in it (every grant revoked) reads empty.
WITH latest AS (
  SELECT max(snapshot_at) AS taken_at
  FROM (
    SELECT snapshot_at FROM employees
    UNION ALL SELECT snapshot_at FROM cards
    UNION ALL SELECT snapshot_at FROM zones
    UNION ALL SELECT snapshot_at FROM doors
    UNION ALL SELECT snapshot_at FROM grants
  ) s
),
g AS (
  SELECT employee_id, zone_id, schedule, granted_by, granted_at
  FROM grants
  WHERE snapshot_at = (SELECT taken_at FROM latest)
),
e AS (
  SELECT employee_id, name, department
  FROM employees
  WHERE snapshot_at = (SELECT taken_at FROM latest)
),
last_entry AS (
  SELECT zone_id, employee_id, max(occurred_at) AS last_entry_at
  FROM decisions
  WHERE reason = 'ok'
  GROUP BY zone_id, employee_id
)
SELECT g.zone_id, g.employee_id, e.name, e.department, g.schedule,
       g.granted_by, g.granted_at, l.last_entry_at
FROM g
LEFT JOIN e ON e.employee_id = g.employee_id
LEFT JOIN last_entry l ON l.zone_id = g.zone_id AND l.employee_id = g.employee_id
ORDER BY g.zone_id, g.employee_id
