-- Okta events per target: which users, apps and groups were acted on, how, and by how many actors.
--
-- An event can name several targets (a user added to a group names both): each counts once
-- per event. Events without a target are left out.
SELECT
  t.type AS target_type,
  coalesce(t."alternateId", t."displayName", t.id) AS target,
  count(*) AS events,
  count(DISTINCT event_type) AS event_types,
  count(DISTINCT actor_login) AS actors,
  min(published) AS first_seen,
  max(published) AS last_seen
FROM okta_events, unnest(target) AS targets(t)
GROUP BY ALL
ORDER BY events DESC, target_type, target;
