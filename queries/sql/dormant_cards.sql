-- Dormant cards: cards active in the newest dimension snapshot (and valid at
-- `at`) with no granted entry in (since, at]: never used, or last used
-- before `since` (= at minus N days). Cards valid only from after `since`
-- have not had N days to be used and are left out. The report adds
-- days_since = whole days from last_entry_at to `at`.
-- Audience: compliance officers.
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
c AS (
  SELECT card_id, employee_id
  FROM cards
  WHERE snapshot_at = (SELECT taken_at FROM latest)
    AND status = 'active'
    AND (valid_until IS NULL OR valid_until > $at)
    AND (valid_from IS NULL OR valid_from <= $since)
),
e AS (
  SELECT employee_id, name
  FROM employees
  WHERE snapshot_at = (SELECT taken_at FROM latest)
),
used AS (
  SELECT card_id, max(occurred_at) AS last_entry_at
  FROM decisions
  WHERE dt <= $at_dt AND occurred_at <= $at AND reason = 'ok'
  GROUP BY card_id
)
SELECT c.card_id, c.employee_id, e.name, u.last_entry_at
FROM c
LEFT JOIN e ON e.employee_id = c.employee_id
LEFT JOIN used u ON u.card_id = c.card_id
WHERE u.last_entry_at IS NULL OR u.last_entry_at < $since
ORDER BY u.last_entry_at NULLS FIRST, c.card_id
