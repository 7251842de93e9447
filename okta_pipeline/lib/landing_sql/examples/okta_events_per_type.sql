-- Okta events per type: how many, by how many actors, first and last seen.
SELECT
  event_type,
  count(*) AS events,
  count(DISTINCT actor_login) AS actors,
  min(published) AS first_seen,
  max(published) AS last_seen
FROM okta_events
GROUP BY event_type
ORDER BY events DESC, event_type;
