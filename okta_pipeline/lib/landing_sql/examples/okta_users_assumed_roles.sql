-- Which Okta users assumed which AWS roles in the last 7 days.
--
-- Okta's AWS app signs a SAML assertion whose subject is the Okta username; AWS records the
-- exchange for role credentials as AssumeRoleWithSAML, with the role session name the app set
-- (the username, or its part before the @). Failed exchanges are left out.
-- Over S3, add --since so that only the last week's windows are downloaded.
SELECT
  saml_subject AS okta_login,
  role_arn,
  role_session_name,
  count(*) AS times,
  min(event_time) AS first_assumed,
  max(event_time) AS last_assumed
FROM cloudtrail_events
WHERE event_name = 'AssumeRoleWithSAML'
  AND error_code IS NULL
  AND event_time >= now() - INTERVAL 7 DAY
GROUP BY saml_subject, role_arn, role_session_name
ORDER BY okta_login, role_arn, role_session_name;
