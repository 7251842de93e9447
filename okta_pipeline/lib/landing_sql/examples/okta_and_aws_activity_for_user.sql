-- One person's Okta events and AWS calls, side by side in time order (--param user=<login>).
--
-- The Okta side is every event the user acted in (actor) or was acted on (target). The AWS
-- side is every call made in a role session that an AssumeRoleWithSAML for the user started
-- (its SAML subject is the Okta username), and calls by an IAM user or a role session of the
-- same name (the username, or its part before the @).
-- parameters: user
WITH sessions AS (
  SELECT DISTINCT assumed_role_arn
  FROM cloudtrail_events
  WHERE event_name = 'AssumeRoleWithSAML' AND error_code IS NULL AND saml_subject = $user
),
okta AS (
  SELECT
    published AS happened_at,
    'okta' AS source,
    event_type AS action,
    outcome,
    client_ip AS ip,
    display_message AS detail
  FROM okta_events
  WHERE actor_login = $user
     OR list_contains(list_transform(target, lambda t: t."alternateId"), $user)
),
aws AS (
  SELECT
    event_time AS happened_at,
    'aws' AS source,
    event_source || ':' || event_name AS action,
    coalesce(error_code, 'SUCCESS') AS outcome,
    source_ip AS ip,
    coalesce(user_arn, '') AS detail
  FROM cloudtrail_events
  WHERE user_arn IN (SELECT assumed_role_arn FROM sessions)
     OR saml_subject = $user
     OR user_name IN ($user, split_part($user, '@', 1))
     OR caller_session_name IN ($user, split_part($user, '@', 1))
)
SELECT * FROM okta
UNION ALL
SELECT * FROM aws
ORDER BY happened_at, source, action;
