-- Every AWS call in the 5 minutes after each Okta sign-in to AWS, made by the same person.
--
-- A sign-in to AWS is a successful user.authentication.sso into one of Okta's AWS apps: its
-- request URI names the app (/app/amazon_aws/... or /app/amazon_aws_sso/...), or the app keeps
-- one of its default labels. The same person in CloudTrail: the AssumeRoleWithSAML that
-- exchanged the assertion names the Okta username as its SAML subject (user_name) and the role
-- session it started (assumed_role_arn); the calls made in that session carry its ARN as
-- user_arn, whatever the session's name (the username or its part before the @). Where
-- that exchange was not read (IAM Identity Center, or outside --since), the role session name
-- is taken for the Okta username. CloudTrail times are whole seconds, so the 5 minutes start
-- at the sign-in's second. One row per (sign-in, call); a sign-in without calls has none.
WITH aws_sign_ins AS (
  SELECT
    published AS signed_in_at,
    actor_login AS okta_login,
    client_ip AS okta_ip,
    list_filter(target, lambda t: t.type = 'AppInstance')[1]."displayName" AS app
  FROM okta_events
  WHERE event_type = 'user.authentication.sso'
    AND outcome = 'SUCCESS'
    AND (request_uri LIKE '/app/amazon\_aws%' ESCAPE '\'
         OR app IN ('Amazon Web Services', 'AWS Account Federation', 'AWS IAM Identity Center'))
),
saml_sessions AS (
  SELECT DISTINCT assumed_role_arn, saml_subject
  FROM cloudtrail_events
  WHERE event_name = 'AssumeRoleWithSAML' AND error_code IS NULL
),
aws_calls AS (
  SELECT
    c.*,
    coalesce(
      CASE WHEN c.user_type = 'SAMLUser' THEN c.user_name END, -- an exchange, failed or not
      s.saml_subject,                                          -- a call in a session it started
      c.caller_session_name                                    -- a session whose start was not read
    ) AS okta_login
  FROM cloudtrail_events AS c
  LEFT JOIN saml_sessions AS s ON c.user_arn = s.assumed_role_arn
)
SELECT
  s.okta_login,
  s.signed_in_at,
  s.app,
  s.okta_ip,
  c.event_time AS called_at,
  date_diff('second', date_trunc('second', s.signed_in_at), c.event_time) AS seconds_after,
  c.event_source,
  c.event_name,
  c.aws_region,
  c.account_id,
  c.source_ip,
  c.error_code
FROM aws_sign_ins AS s
JOIN aws_calls AS c
  ON lower(c.okta_login) = lower(s.okta_login)
 AND c.event_time >= date_trunc('second', s.signed_in_at)
 AND c.event_time < s.signed_in_at + INTERVAL 5 MINUTE
ORDER BY s.signed_in_at, s.okta_login, c.event_time, c.event_id;
