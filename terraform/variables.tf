# ---------------------------------------------------------------------------------------------
# Where it runs
# ---------------------------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Prefix for every resource name, and the OpenSearch domain name (3-20 lowercase letters, digits and hyphens: IAM role name prefixes are the tightest limit)."
  default     = "okta-pipeline"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,19}$", var.name))
    error_message = "name must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "AWS region to deploy into, e.g. us-east-1."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like us-east-1 or eu-central-1."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource, on top of Project and ManagedBy."
  default     = {}
}

variable "vpc_id" {
  type        = string
  description = "VPC to place everything in. Its private subnets need a route to the internet (NAT) to reach Okta, ECR, Secrets Manager and CloudWatch."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as vpc-0abc12345def67890."
  }
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Private subnets, one in each of at least two availability zones, for ECS tasks, RDS, the OpenSearch domain and the internal load balancer. The first two host the OpenSearch domain."

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "Give at least two subnet ids (subnet-...), in different availability zones."
  }
}

# ---------------------------------------------------------------------------------------------
# Who reaches the Dagster UI
# ---------------------------------------------------------------------------------------------

variable "ui_allowed_cidrs" {
  type        = list(string)
  description = "CIDR ranges (VPN, office, bastion) allowed to reach the Dagster UI on the internal load balancer, which signs users in through ui_oidc before forwarding. Keep this narrow: a user who can reach the UI and sign in can launch runs."

  validation {
    condition     = length(var.ui_allowed_cidrs) > 0 && alltrue([for c in var.ui_allowed_cidrs : can(cidrhost(c, 0)) && try(tonumber(split("/", c)[1]) >= (strcontains(c, ":") ? 48 : 16), false)])
    error_message = "Give at least one valid CIDR no wider than /16 (IPv4) or /48 (IPv6), e.g. a VPN's or an office's range; the internet and ranges nearly as wide are refused."
  }
}

variable "ui_oidc" {
  type = object({
    issuer                 = string
    client_id              = string
    client_secret_id       = string
    authorization_endpoint = optional(string)
    token_endpoint         = optional(string)
    user_info_endpoint     = optional(string)
  })
  description = "The OIDC app (an Okta web app) the load balancer signs users in with before they reach the Dagster UI: its issuer (https://<org>.okta.com, or a custom authorization server's https://<org>.okta.com/oauth2/<id>), client id, and the Secrets Manager secret holding its client secret as plain text. Endpoints default to Okta's under the issuer; give them for another provider. The app's sign-in redirect URI is https://<UI host>/oauth2/idpresponse."

  validation {
    condition     = can(regex("^https://[A-Za-z0-9.-]+(/oauth2/[A-Za-z0-9]+)?$", var.ui_oidc.issuer))
    error_message = "ui_oidc.issuer must be https://<host> or https://<host>/oauth2/<authorization server id>, with no trailing slash."
  }
  validation {
    condition     = length(trimspace(var.ui_oidc.client_id)) > 0 && length(trimspace(var.ui_oidc.client_secret_id)) > 0
    error_message = "ui_oidc needs the app's client_id and client_secret_id (the name or ARN of the Secrets Manager secret holding its client secret)."
  }
  validation {
    condition     = alltrue([for url in [var.ui_oidc.authorization_endpoint, var.ui_oidc.token_endpoint, var.ui_oidc.user_info_endpoint] : url == null || can(regex("^https://", url))])
    error_message = "ui_oidc's endpoints must be https:// URLs."
  }
}

variable "ui_session_hours" {
  type        = number
  description = "How long a Dagster UI sign-in lasts before the load balancer asks the OIDC provider again."
  default     = 12

  validation {
    condition     = var.ui_session_hours >= 1 && var.ui_session_hours <= 168
    error_message = "ui_session_hours must be between 1 and 168 (a week)."
  }
}

variable "ui_certificate_arn" {
  type        = string
  description = "ACM certificate for the Dagster UI's HTTPS listener (the load balancer serves HTTPS only)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.ui_certificate_arn))
    error_message = "ui_certificate_arn must be an ACM certificate ARN."
  }
}

# ---------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------

variable "image_tag" {
  type        = string
  description = "Tag of the okta_pipeline image in this deployment's ECR repository (built from deploy/Dockerfile). Tags are immutable: deploy a new version by pushing a new tag and applying."

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be a valid Docker tag other than 'latest' (tags are immutable here)."
  }
}

variable "okta_base_url" {
  type        = string
  description = "Your Okta org's URL, e.g. https://example.okta.com (no path)."

  validation {
    condition     = can(regex("^https://[A-Za-z0-9.-]+$", var.okta_base_url))
    error_message = "okta_base_url must be https://<org host> with no path or trailing slash."
  }
}

variable "okta_auth_method" {
  type        = string
  description = "How the pipeline authenticates to Okta: 'ssws' (an API token) or 'oauth' (a service app with private_key_jwt, scope okta.logs.read). Decides which keys the Okta secret must hold."
  default     = "oauth"

  validation {
    condition     = contains(["ssws", "oauth"], var.okta_auth_method)
    error_message = "okta_auth_method must be 'ssws' or 'oauth'."
  }
}

variable "okta_oauth_uses_dpop" {
  type        = bool
  description = "Whether the Okta service app requires DPoP-bound tokens (newer apps do); the Okta secret then also holds dpop_private_key. Ignored for 'ssws'."
  default     = true
}

variable "fetch_every_minutes" {
  type        = number
  description = "Fetch cadence: how often the newest 5-minute windows are fetched from Okta (and then loaded). 5 fetches each window as it closes; 15 fetches three windows per run and spends a third of the Okta requests and ECS runs."
  default     = 5

  validation {
    condition     = contains([5, 10, 15, 20, 30, 60], var.fetch_every_minutes)
    error_message = "fetch_every_minutes must be one of 5, 10, 15, 20, 30 or 60 (a whole number of windows that divides an hour)."
  }
}

variable "settle_minutes" {
  type        = number
  description = "Settle delay: minutes after a window closes before it is first fetched, so that most of its events are persisted in Okta. Windows are fetched again hourly for late events either way."
  default     = 2

  validation {
    condition     = var.settle_minutes >= 0 && var.settle_minutes <= 4 && floor(var.settle_minutes) == var.settle_minutes
    error_message = "settle_minutes must be a whole number from 0 to 4."
  }
}

variable "partitions_start" {
  type        = string
  description = "First 5-minute partition (UTC) of every partitioned asset, as YYYY-MM-DD or YYYY-MM-DD-HH:MM (OKTA_PIPELINE_PARTITIONS_START). Null: the first day of the month 90 days (Okta's retention) back, moving once a month. The definitions refuse a start in the future or one that makes more than 100,000 partitions (about 347 days); moving it hides or shows partitions only, no data (README, \"Moving the partition start\")."
  default     = null

  validation {
    condition     = var.partitions_start == null || (can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}(-([01][0-9]|2[0-3]):[0-5][05])?$", var.partitions_start)) && can(formatdate("YYYY", "${substr(var.partitions_start, 0, 10)}T00:00:00Z")))
    error_message = "partitions_start must be null, a UTC date YYYY-MM-DD, or YYYY-MM-DD-HH:MM on a 5-minute boundary (e.g. 2026-09-01-12:05)."
  }
}

variable "okta_rate_limit_share" {
  type        = number
  description = "Largest share of the org's /api/v1/logs rate limit the pipeline may use (Okta's limit is shared with every other integration)."
  default     = 0.5

  validation {
    condition     = var.okta_rate_limit_share > 0 && var.okta_rate_limit_share <= 1
    error_message = "okta_rate_limit_share must be in (0, 1]."
  }
}

# ---------------------------------------------------------------------------------------------
# CloudTrail (optional)
# ---------------------------------------------------------------------------------------------

variable "cloudtrail_bucket" {
  type        = string
  description = "S3 bucket a CloudTrail trail delivers its log files to; runs read them (read-only) and the pipeline includes its CloudTrail assets (OKTA_PIPELINE_CLOUDTRAIL_ROOT). Empty (the default) turns CloudTrail ingestion off. A bucket in another account (an organization trail's log archive) must also allow the run role in its bucket policy (README, CloudTrail)."
  default     = ""

  validation {
    condition     = var.cloudtrail_bucket == "" || (can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.cloudtrail_bucket)) && !strcontains(var.cloudtrail_bucket, ".."))
    error_message = "cloudtrail_bucket must be empty or a bucket name (3-63 lowercase letters, digits, dots and hyphens): no s3:// and no ARN."
  }
}

variable "cloudtrail_prefix" {
  type        = string
  description = "The trail's S3 key prefix: what comes before AWSLogs/ in its object keys (e.g. 'org-trail' for org-trail/AWSLogs/...), without leading or trailing slashes. Empty (the default): AWSLogs/ is at the top of the bucket."
  default     = ""

  validation {
    condition     = var.cloudtrail_prefix == "" || (length(var.cloudtrail_prefix) <= 200 && can(regex("^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*$", var.cloudtrail_prefix)))
    error_message = "cloudtrail_prefix must be empty or up to 200 characters of letters, digits and !_.'()- in segments joined by single slashes, with no slash at either end and no wildcard."
  }
  validation {
    condition     = !can(regex("(^|/)AWSLogs$", var.cloudtrail_prefix))
    error_message = "cloudtrail_prefix is what comes before AWSLogs/, without AWSLogs itself (org-trail, not org-trail/AWSLogs)."
  }
  validation {
    condition     = var.cloudtrail_prefix == "" || var.cloudtrail_bucket != ""
    error_message = "cloudtrail_prefix needs cloudtrail_bucket: the bucket the prefix is in."
  }
}

variable "cloudtrail_kms_key_arn" {
  type        = string
  description = "ARN of the KMS key the trail encrypts its log files with (SSE-KMS), for runs to decrypt them through S3; its key policy must allow the run role (an account's default key policy delegates to IAM). Empty (the default): the log files use S3-managed encryption."
  default     = ""

  validation {
    condition     = var.cloudtrail_kms_key_arn == "" || can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", var.cloudtrail_kms_key_arn))
    error_message = "cloudtrail_kms_key_arn must be empty or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias does not work in an IAM policy."
  }
  validation {
    condition     = var.cloudtrail_kms_key_arn == "" || var.cloudtrail_bucket != ""
    error_message = "cloudtrail_kms_key_arn needs cloudtrail_bucket: the key only decrypts the trail's log files."
  }
}

# ---------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------

variable "opensearch_instance_type" {
  type        = string
  description = "Data node instance type. m7g.large.search (2 vCPU, 8 GiB) holds roughly 1-2M Okta events a day for 90 days."
  default     = "m7g.large.search"

  validation {
    condition     = endswith(var.opensearch_instance_type, ".search")
    error_message = "opensearch_instance_type must be an OpenSearch Service instance type ending in .search."
  }
}

variable "opensearch_instance_count" {
  type        = number
  description = "Data nodes, spread over two availability zones (so an even number of at least 2)."
  default     = 2

  validation {
    condition     = var.opensearch_instance_count >= 2 && var.opensearch_instance_count % 2 == 0
    error_message = "opensearch_instance_count must be an even number of at least 2 (zone awareness over two zones)."
  }
}

variable "opensearch_dedicated_master_type" {
  type        = string
  description = "Instance type for three dedicated master nodes, or null for none. Recommended from 10 data nodes or for strict availability targets."
  default     = null

  validation {
    condition     = var.opensearch_dedicated_master_type == null || endswith(coalesce(var.opensearch_dedicated_master_type, "x.search"), ".search")
    error_message = "opensearch_dedicated_master_type must be null or an instance type ending in .search."
  }
}

variable "opensearch_volume_size_gb" {
  type        = number
  description = "gp3 storage per data node, in GiB. Okta events take about 1.5 KB each on disk with one replica counted once."
  default     = 100

  validation {
    condition     = var.opensearch_volume_size_gb >= 10 && var.opensearch_volume_size_gb <= 16384
    error_message = "opensearch_volume_size_gb must be 10-16384."
  }
}

variable "opensearch_retention_days" {
  type        = number
  description = "Days Okta indices are kept in OpenSearch before the retention asset deletes them."
  default     = 90

  validation {
    condition     = var.opensearch_retention_days >= 1 && var.opensearch_retention_days <= 3650
    error_message = "opensearch_retention_days must be 1-3650."
  }
}

variable "jira_base_url" {
  type        = string
  description = "Jira Cloud site for alert routing, e.g. https://example.atlassian.net. Empty turns Jira off. Put {\"email\", \"api_token\"} into the Jira secret before setting it: run tasks cannot start while a secret they read is missing."
  default     = ""

  validation {
    condition     = var.jira_base_url == "" || can(regex("^https://[A-Za-z0-9.-]+$", var.jira_base_url))
    error_message = "jira_base_url must be empty or https://<site host> with no path or trailing slash."
  }
  validation {
    condition     = var.jira_base_url == "" || var.jira_project_key != ""
    error_message = "jira_base_url needs jira_project_key: the project that alert issues are created in."
  }
}

variable "jira_project_key" {
  type        = string
  description = "Key of the Jira project that alert issues go to (e.g. SEC)."
  default     = ""

  validation {
    condition     = can(regex("^([A-Z][A-Z0-9_]{1,9})?$", var.jira_project_key))
    error_message = "jira_project_key must be a Jira project key: 2-10 capital letters, digits or underscores, starting with a letter."
  }
}

variable "jira_issue_type" {
  type        = string
  description = "Issue type of alert issues; it must exist in the project."
  default     = "Task"

  validation {
    condition     = length(trimspace(var.jira_issue_type)) > 0 && length(var.jira_issue_type) <= 60
    error_message = "jira_issue_type must be a non-empty issue type name."
  }
}

variable "slack_delivery" {
  type        = string
  description = "How alerts reach Slack: 'none', 'bot' (a bot token with chat:write and channels:history: replies thread under the first message of an incident) or 'webhook' (an incoming webhook: no threads). Put {\"bot_token\"} or {\"webhook_url\"} into the Slack secret before setting it."
  default     = "none"

  validation {
    condition     = contains(["none", "bot", "webhook"], var.slack_delivery)
    error_message = "slack_delivery must be 'none', 'bot' or 'webhook'."
  }
  validation {
    condition     = var.slack_delivery != "bot" || var.slack_channel != ""
    error_message = "slack_delivery 'bot' needs slack_channel."
  }
}

variable "slack_channel" {
  type        = string
  description = "Channel the bot posts to (its id, or #name); the bot must be a member. Only for slack_delivery 'bot'."
  default     = ""

  validation {
    condition     = can(regex("^(|#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{8,12})$", var.slack_channel))
    error_message = "slack_channel must be empty, #channel-name or a channel id (C... or G...)."
  }
}

variable "alert_suppression_hours" {
  type        = number
  description = "A repeat of an incident (same detection and entity) within this many hours is a comment on its open Jira issue and a reply in its Slack thread, not a new alert."
  default     = 24

  validation {
    condition     = var.alert_suppression_hours >= 0 && var.alert_suppression_hours <= 720
    error_message = "alert_suppression_hours must be 0-720."
  }
}

variable "alert_receiver_url" {
  type        = string
  description = "Where synced Alerting monitors post their new alerts: an `okta-pipeline alert-receiver` the domain can reach, e.g. https://alerts.example.com/alerts. Put {\"shared_secret\"} (16+ characters) into the receiver secret first. Empty: monitors carry no actions, and alerts go to Jira and Slack from the pipeline's findings only."
  default     = ""

  validation {
    condition     = var.alert_receiver_url == "" || can(regex("^https://[^/\\s]+(/\\S*)?$", var.alert_receiver_url))
    error_message = "alert_receiver_url must be empty or an https:// URL (the shared secret travels in a header)."
  }
}

variable "dashboards_saml" {
  type = object({
    idp_entity_id    = string
    idp_metadata_xml = string
    admin_group      = string
  })
  description = "Log in to OpenSearch Dashboards with SAML, typically through an Okta SAML app: its issuer (entity id), its metadata XML, and the Okta group whose members become Dashboards administrators. The app must send group names in an attribute named 'groups'. Null leaves Dashboards without a login (the API stays open to the pipeline's role only)."
  default     = null

  validation {
    condition     = var.dashboards_saml == null || (startswith(trimspace(try(var.dashboards_saml.idp_metadata_xml, "")), "<") && length(try(var.dashboards_saml.admin_group, "")) > 0 && length(try(var.dashboards_saml.idp_entity_id, "")) > 0)
    error_message = "dashboards_saml needs the IdP's entity id, its metadata as XML (starting with '<') and a non-empty admin_group."
  }
}

variable "opensearch_admin_principal_arns" {
  type        = list(string)
  description = "IAM roles or users (ARNs) allowed to assume the OpenSearch admin role, the domain's master user, e.g. a break-glass or platform-team role. Empty (the default): only the one-off security setup task runs as it."
  default     = []

  validation {
    condition     = alltrue([for arn in var.opensearch_admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "Each entry must be one IAM role or user ARN (arn:aws:iam::<account>:role/<name>); an account root, a wildcard or a session ARN would hand the master user to more than one named principal."
  }
}

variable "create_opensearch_service_linked_role" {
  type        = bool
  description = "Create the AWSServiceRoleForAmazonOpenSearchService role that VPC domains need. Set true only in an account that has never had an OpenSearch VPC domain (the role exists once per account)."
  default     = false
}

variable "db_instance_class" {
  type        = string
  description = "RDS PostgreSQL instance class for Dagster's run, event and schedule storage."
  default     = "db.t4g.small"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS instance class such as db.t4g.small."
  }
}

variable "db_allocated_storage_gb" {
  type        = number
  description = "Initial RDS storage in GiB (grows automatically up to ten times this)."
  default     = 20

  validation {
    condition     = var.db_allocated_storage_gb >= 20 && var.db_allocated_storage_gb <= 6553
    error_message = "db_allocated_storage_gb must be 20-6553."
  }
}

variable "db_multi_az" {
  type        = bool
  description = "Run Dagster's database with a standby in a second zone. Off halves its cost; run history survives either way through backups."
  default     = true
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the database and the load balancer from deletion and keep S3 buckets that still hold objects. Set false (and apply) before terraform destroy."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Retention of every CloudWatch log group (Dagster services, runs, OpenSearch audit and error logs)."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "landing_retention_days" {
  type        = number
  description = "Days raw Okta events are kept in the S3 landing zone (the source for re-loads and replays). Okta itself keeps about 90."
  default     = 400

  validation {
    condition     = var.landing_retention_days >= 90
    error_message = "landing_retention_days must be at least 90: the landing zone is what re-loads read, and Okta keeps only about 90 days."
  }
}

variable "compute_log_retention_days" {
  type        = number
  description = "Days run output (stdout/stderr captured by Dagster) is kept in S3."
  default     = 90

  validation {
    condition     = var.compute_log_retention_days >= 1
    error_message = "compute_log_retention_days must be at least 1."
  }
}

variable "task_sizes" {
  type = object({
    webserver   = object({ cpu = number, memory = number })
    daemon      = object({ cpu = number, memory = number })
    code_server = object({ cpu = number, memory = number })
    run         = object({ cpu = number, memory = number })
  })
  description = "Fargate CPU units and memory (MiB) of each task. Runs fetch and load a day of windows in about 300 MB."
  default = {
    webserver   = { cpu = 512, memory = 1024 }
    daemon      = { cpu = 512, memory = 1024 }
    code_server = { cpu = 512, memory = 1024 }
    run         = { cpu = 1024, memory = 2048 }
  }

  validation {
    condition     = alltrue([for size in values(var.task_sizes) : contains([256, 512, 1024, 2048, 4096], size.cpu) && size.memory >= 512])
    error_message = "Each cpu must be 256, 512, 1024, 2048 or 4096 and each memory at least 512 (and a combination Fargate accepts)."
  }
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture of the image and the Fargate tasks: X86_64 or ARM64 (Graviton, about 20% cheaper; build the image for linux/arm64)."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "okta_log_stream_event_source" {
  type        = string
  description = "The partner event source Okta's log stream created (aws.partner/okta.com/<org>/<name>, under Amazon EventBridge > Partner event sources, once the stream is saved in Okta); Terraform creates its partner event bus, a rule to an SQS queue, and the queue's sensor and drain. Empty (the default) keeps ingestion to polling only."
  default     = ""

  validation {
    condition     = var.okta_log_stream_event_source == "" || can(regex("^aws\\.partner/okta\\.com/[A-Za-z0-9.-]+/[A-Za-z0-9._-]{1,75}$", var.okta_log_stream_event_source))
    error_message = "okta_log_stream_event_source must be aws.partner/okta.com/<okta-subdomain>/<event source name>, as EventBridge lists it under Partner event sources."
  }
}

variable "cloudtrail_lake_channel_arn" {
  type        = string
  description = "A CloudTrail Lake channel (a custom integration's) that every landed Okta event is shipped to once, as an audit event; the run role may PutAuditEvents on it alone. Empty (the default): no CloudTrail Lake sink."
  default     = ""

  validation {
    condition     = var.cloudtrail_lake_channel_arn == "" || can(regex("^arn:aws[-a-z]*:cloudtrail:[-a-z0-9]+:[0-9]{12}:channel/[-_A-Za-z0-9]+$", var.cloudtrail_lake_channel_arn))
    error_message = "cloudtrail_lake_channel_arn must be a channel ARN, arn:aws:cloudtrail:<region>:<account>:channel/<id> (aws cloudtrail list-channels)."
  }
}

variable "openobserve_url" {
  type        = string
  description = "An OpenObserve server every landed Okta event is shipped to once (its ingestion credentials go in the openobserve secret as {\"user\", \"password\"}). Empty (the default): no OpenObserve sink."
  default     = ""

  validation {
    condition     = var.openobserve_url == "" || can(regex("^https?://", var.openobserve_url))
    error_message = "openobserve_url must be the server's URL, e.g. https://openobserve.example.com."
  }
}

variable "openobserve_organization" {
  type        = string
  description = "The OpenObserve organization of the sink's stream."
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.openobserve_organization))
    error_message = "openobserve_organization must be an organization identifier: letters, digits, _ and -."
  }
}

variable "openobserve_stream" {
  type        = string
  description = "The OpenObserve log stream Okta's events go to."
  default     = "okta"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]+$", var.openobserve_stream))
    error_message = "openobserve_stream must be a stream name: letters, digits, _ and -."
  }
}

variable "openobserve_ingest_allowed_upto_hours" {
  type        = number
  description = "The OpenObserve server's ZO_INGEST_ALLOWED_UPTO: events older than this are not sent (their windows' checks say so)."
  default     = 5

  validation {
    condition     = var.openobserve_ingest_allowed_upto_hours > 0
    error_message = "openobserve_ingest_allowed_upto_hours must be more than 0 (OpenObserve's default is 5)."
  }
}

variable "okta_log_stream_max_receives" {
  type        = number
  description = "Receives of one message before SQS moves it to the dead-letter queue (the log_stream_dead_letters check reports it, with how to redrive)."
  default     = 5

  validation {
    condition     = var.okta_log_stream_max_receives >= 1 && var.okta_log_stream_max_receives <= 1000
    error_message = "okta_log_stream_max_receives must be 1-1000 (SQS's maxReceiveCount)."
  }
}
