-- AWS calls per service and API name: how many, how many failed, by how many callers.
SELECT
  event_source,
  event_name,
  count(*) AS calls,
  count(error_code) AS failed,
  count(DISTINCT user_arn) AS callers,
  min(event_time) AS first_seen,
  max(event_time) AS last_seen
FROM cloudtrail_events
GROUP BY event_source, event_name
ORDER BY calls DESC, event_source, event_name;
