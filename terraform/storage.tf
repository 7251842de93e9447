# ---------------------------------------------------------------------------------------------
# S3: the landing zone (raw Okta events, one object per 5-minute window, under landing/) and
# Dagster's compute logs (under compute-logs/), with a separate bucket for access logs. The
# pipeline rewrites a window with conditional writes (okta_pipeline/lib/landing_storage.py),
# so concurrent runs never lose each other's events.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of this bucket; Dagster reads compute logs by key.
  #checkov:skip=CKV_AWS_144:Compute logs are operational output that expires; a copy in another region would not be restored from.
  bucket_prefix = "${var.name}-artifacts-"
  # Emptied by terraform destroy only once deletion_protection is turned off.
  force_destroy = !var.deletion_protection
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "expire-compute-logs"
    status = "Enabled"
    filter {
      prefix = "compute-logs/"
    }
    expiration {
      days = var.compute_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }

  rule {
    id     = "expire-landed-events"
    status = "Enabled"
    filter {
      prefix = "landing/"
    }
    expiration {
      days = var.landing_retention_days
    }
    # A re-fetch that finds late events rewrites its window; the versions it replaced go.
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

resource "aws_s3_bucket_logging" "artifacts" {
  bucket        = aws_s3_bucket.artifacts.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "s3/artifacts/"
}

resource "aws_s3_bucket_policy" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  policy = data.aws_iam_policy_document.tls_only["artifacts"].json
  # The policy must follow the public access block, or S3 may reject it as public.
  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

# Access logs of the artifacts bucket and of the load balancer. The load balancer can only
# write to a bucket encrypted with S3-managed keys, hence AES256 here.
resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the access-log bucket.
  #checkov:skip=CKV_AWS_144:Access logs stay in the deployment's region, as the buckets they describe do.
  #checkov:skip=CKV_AWS_145:Load balancer access logs can only be written to a bucket encrypted with S3-managed keys (SSE-S3); KMS would stop them.
  bucket_prefix = "${var.name}-access-logs-"
  # Emptied by terraform destroy only once deletion_protection is turned off.
  force_destroy = !var.deletion_protection
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

data "aws_iam_policy_document" "tls_only" {
  for_each = {
    artifacts   = aws_s3_bucket.artifacts.arn
    access_logs = aws_s3_bucket.access_logs.arn
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value, "${each.value}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# The load balancer's log writer is an AWS account of the region's in regions older than
# August 2022, and a service principal in newer ones (which have no such account).
locals {
  regions_with_elb_log_account = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1", "us-gov-east-1", "us-gov-west-1",
    "cn-north-1", "cn-northwest-1",
  ]
}

data "aws_elb_service_account" "current" {
  count = contains(local.regions_with_elb_log_account, var.region) ? 1 : 0
}

data "aws_iam_policy_document" "access_logs" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["access_logs"].json]

  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/s3/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "LoadBalancerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${local.account_id}/*"]
    dynamic "principals" {
      for_each = data.aws_elb_service_account.current
      content {
        type        = "AWS"
        identifiers = [principals.value.arn]
      }
    }
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }
}
