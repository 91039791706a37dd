# ---------------------------------------------------------------------------
# Naming, region, tags
# ---------------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region name, e.g. us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (function, table, bucket, roles, log groups)."
  type        = string
  default     = "picgraph"

  validation {
    # Short and lower-case: it is part of the S3 bucket name (63 characters at most).
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters: lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource (added to the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------
# Lambda
# ---------------------------------------------------------------------------

variable "lambda_package_path" {
  description = "Path of the deployment zip built by scripts/build_lambda_package.py. Null means ../dist/picgraph-lambda.zip next to this module."
  type        = string
  default     = null
}

variable "python_runtime" {
  description = "Lambda runtime. The package must be built for the same Python (build_lambda_package.py --python-version)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.python_runtime)
    error_message = "python_runtime must be python3.11, python3.12 or python3.13 (the project needs Python >= 3.11)."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the function. The package's native wheels (Pillow, pillow-heif) must match: build_lambda_package.py --arch."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_mb" {
  description = "Function memory in MB. 1769 MB buys one full vCPU: decoding a 20 MiB upload can mean up to 50 megapixels."
  type        = number
  default     = 1769

  validation {
    condition     = var.lambda_memory_mb >= 512 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number between 512 and 10240."
  }

  # Processing one upload peaks at up to 128 MiB + 8 bytes a pixel of max_pixels, or 5 bytes
  # a pixel of max_webp_pixels if more (services/imaging.py memory_bound_mib, measured by
  # make bench); 30 % headroom on top.
  validation {
    condition     = var.lambda_memory_mb >= ceil(1.3 * (128 + ceil(max(var.max_pixels * 8, min(var.max_webp_pixels, var.max_pixels) * 5) / 1048576)))
    error_message = "lambda_memory_mb is too small for max_pixels and max_webp_pixels: processing needs 128 MiB + 8 bytes per pixel (5 per WebP pixel, if more), plus 30 % headroom (663 MB for the defaults, 50,000,000 and 20,000,000 pixels; see docs/deploy.md)."
  }
}

variable "lambda_timeout_seconds" {
  description = "Function timeout in seconds. Image processing (S3 events, completeImageUpload) needs the most; the HTTP API itself gives up after 30 s."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout_seconds >= 10 && var.lambda_timeout_seconds <= 900 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be a whole number between 10 and 900."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrent executions of the function; null leaves it unreserved (the account's pool)."
  type        = number
  default     = null

  validation {
    condition     = var.lambda_reserved_concurrency == null ? true : var.lambda_reserved_concurrency >= 0 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency
    error_message = "lambda_reserved_concurrency must be null or a whole number >= 0."
  }
}

variable "lambda_snapstart" {
  description = "Lambda SnapStart: publish a version on every change, snapshot its initialised runtime, and point every trigger (HTTP API, function URL, AppSync, S3, schedule) at the alias \"live\". Needs python3.12 or later. Off by default: SnapStart for Python is billed (snapshot cache and restores) and not offered in every region."
  type        = bool
  default     = false
}

variable "lambda_tracing_enabled" {
  description = "Turn on AWS X-Ray active tracing for the function (and AppSync when created)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the function's and the API's CloudWatch log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "log_level" {
  description = "PICGRAPH_LOG_LEVEL of the function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "cleanup_schedule" {
  description = "EventBridge schedule of the cleanup job (purges expired pending uploads, rejected and deleted images)."
  type        = string
  default     = "rate(1 hour)"

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.cleanup_schedule))
    error_message = "cleanup_schedule must be an EventBridge rate(...) or cron(...) expression."
  }
}

# ---------------------------------------------------------------------------
# Application settings (PICGRAPH_* environment of the function)
# ---------------------------------------------------------------------------

variable "jwt_secret" {
  description = "HS256 secret the function verifies bearer tokens with (PICGRAPH_JWT_SECRET). Required unless jwt_issuer is set, in which case API Gateway verifies tokens and this may stay null."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.jwt_secret == null ? true : length(var.jwt_secret) >= 32
    error_message = "jwt_secret must be at least 32 characters (the function refuses shorter HS256 secrets)."
  }
}

variable "cursor_secret" {
  description = "Key that signs pagination cursors (PICGRAPH_CURSOR_SECRET). Null generates a random one kept in the Terraform state."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.cursor_secret == null ? true : length(var.cursor_secret) >= 32
    error_message = "cursor_secret must be at least 32 characters."
  }
}

variable "jwt_issuer" {
  description = "OIDC issuer URL (e.g. a Cognito user pool's). When set, the HTTP API gets a JWT authorizer on its routes, the function runs with PICGRAPH_AUTH_MODE=upstream, and AppSync (if created) uses it as its OPENID_CONNECT issuer."
  type        = string
  default     = null

  validation {
    condition     = var.jwt_issuer == null ? true : can(regex("^https://[^\\s]+$", var.jwt_issuer))
    error_message = "jwt_issuer must be an https:// URL."
  }
}

variable "jwt_audience" {
  description = "Accepted token audiences (client ids) for the JWT authorizer; needed when jwt_issuer is set."
  type        = list(string)
  default     = []
}

variable "max_upload_bytes" {
  description = "Largest upload accepted, in bytes (PICGRAPH_MAX_UPLOAD_BYTES); enforced by the presigned POST policy."
  type        = number
  default     = 20971520 # 20 MiB

  validation {
    condition     = var.max_upload_bytes >= 1 && var.max_upload_bytes <= 5368709120 && floor(var.max_upload_bytes) == var.max_upload_bytes
    error_message = "max_upload_bytes must be a whole number between 1 and 5 GiB."
  }
}

variable "max_pixels" {
  description = "Largest decoded image accepted, in pixels (PICGRAPH_MAX_PIXELS): guards memory against decompression bombs."
  type        = number
  default     = 50000000

  validation {
    condition     = var.max_pixels >= 1 && var.max_pixels <= 89000000 && floor(var.max_pixels) == var.max_pixels
    error_message = "max_pixels must be a whole number between 1 and 89000000."
  }
}

variable "max_webp_pixels" {
  description = "Largest WebP accepted, in pixels (PICGRAPH_MAX_WEBP_PIXELS; at most max_pixels applies): a limit of its own, from when a WebP was decoded whole at 16 bytes a pixel (libwebp now decodes it at a reduced size: 5 bytes a pixel at most, so it may be raised up to max_pixels without more memory; see docs/deploy.md)."
  type        = number
  default     = 20000000

  validation {
    condition     = var.max_webp_pixels >= 1 && var.max_webp_pixels <= 89000000 && floor(var.max_webp_pixels) == var.max_webp_pixels
    error_message = "max_webp_pixels must be a whole number between 1 and 89000000."
  }
}

variable "upload_url_seconds" {
  description = "Lifetime of presigned upload POSTs, in seconds (PICGRAPH_UPLOAD_URL_SECONDS)."
  type        = number
  default     = 900

  validation {
    condition     = var.upload_url_seconds >= 60 && var.upload_url_seconds <= 900 && floor(var.upload_url_seconds) == var.upload_url_seconds
    error_message = "upload_url_seconds must be a whole number between 60 and 900."
  }
}

variable "download_url_seconds" {
  description = "Lifetime of presigned GET URLs, in seconds (PICGRAPH_DOWNLOAD_URL_SECONDS). Note: a URL signed with the function's temporary credentials stops working when they expire, whatever this says."
  type        = number
  default     = 3600

  validation {
    condition     = var.download_url_seconds >= 60 && var.download_url_seconds <= 302400 && floor(var.download_url_seconds) == var.download_url_seconds
    error_message = "download_url_seconds must be a whole number between 60 and 302400 (3.5 days: with url_window_seconds, a URL lives at most 7 days)."
  }
}

variable "url_window_seconds" {
  description = "Signing window of GET URLs (PICGRAPH_URL_WINDOW_SECONDS): the same rendition gets the same URL for this long, so browsers and CDNs cache it. A URL stays valid at most url_window_seconds + download_url_seconds after it was handed out (also after a delete)."
  type        = number
  default     = 3600

  validation {
    condition     = var.url_window_seconds >= 1 && var.url_window_seconds <= 302400 && floor(var.url_window_seconds) == var.url_window_seconds
    error_message = "url_window_seconds must be a whole number between 1 and 302400 (3.5 days)."
  }
}

variable "max_token_lifetime_seconds" {
  description = "Longest bearer-token lifetime the function accepts, exp minus iat, in seconds (PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS); tokens without iat are refused."
  type        = number
  default     = 86400

  validation {
    condition     = var.max_token_lifetime_seconds >= 60 && var.max_token_lifetime_seconds <= 2592000 && floor(var.max_token_lifetime_seconds) == var.max_token_lifetime_seconds
    error_message = "max_token_lifetime_seconds must be a whole number between 60 and 2592000 (30 days)."
  }
}

variable "processing_lease_seconds" {
  description = "How long one invocation owns an image it is processing before another may take over (PICGRAPH_PROCESSING_LEASE_SECONDS). Must exceed the function timeout."
  type        = number
  default     = 120

  validation {
    condition     = var.processing_lease_seconds >= 5 && var.processing_lease_seconds <= 3600 && floor(var.processing_lease_seconds) == var.processing_lease_seconds
    error_message = "processing_lease_seconds must be a whole number between 5 and 3600."
  }
}

variable "pending_upload_hours" {
  description = "Hours an upload slot stays PENDING_UPLOAD before cleanup removes it (PICGRAPH_PENDING_UPLOAD_HOURS)."
  type        = number
  default     = 24

  validation {
    condition     = var.pending_upload_hours >= 1 && var.pending_upload_hours <= 720 && floor(var.pending_upload_hours) == var.pending_upload_hours
    error_message = "pending_upload_hours must be a whole number between 1 and 720."
  }
}

variable "rejected_retention_hours" {
  description = "Hours a REJECTED image record is kept before cleanup purges it (PICGRAPH_REJECTED_RETENTION_HOURS)."
  type        = number
  default     = 168

  validation {
    condition     = var.rejected_retention_hours >= 0 && var.rejected_retention_hours <= 8760 && floor(var.rejected_retention_hours) == var.rejected_retention_hours
    error_message = "rejected_retention_hours must be a whole number between 0 and 8760."
  }
}

variable "delete_retention_days" {
  description = "Days a soft-deleted image stays restorable before cleanup purges it (PICGRAPH_DELETE_RETENTION_DAYS)."
  type        = number
  default     = 30

  validation {
    condition     = var.delete_retention_days >= 0 && var.delete_retention_days <= 3650 && floor(var.delete_retention_days) == var.delete_retention_days
    error_message = "delete_retention_days must be a whole number between 0 and 3650."
  }
}

variable "introspection_enabled" {
  description = "Allow GraphQL introspection (PICGRAPH_INTROSPECTION; also AppSync's introspection setting). Handy in development; the public contract is published anyway."
  type        = bool
  default     = true
}

variable "graphql_limits" {
  description = "Query guards of the GraphQL layer: PICGRAPH_MAX_QUERY_DEPTH, PICGRAPH_MAX_ALIASES, PICGRAPH_MAX_TOKENS."
  type = object({
    max_query_depth = optional(number, 10)
    max_aliases     = optional(number, 15)
    max_tokens      = optional(number, 2000)
  })
  default = {}

  validation {
    condition = (
      var.graphql_limits.max_query_depth >= 2 && var.graphql_limits.max_query_depth <= 50 &&
      var.graphql_limits.max_aliases >= 1 && var.graphql_limits.max_aliases <= 200 &&
      var.graphql_limits.max_tokens >= 100 && var.graphql_limits.max_tokens <= 100000 &&
      floor(var.graphql_limits.max_query_depth) == var.graphql_limits.max_query_depth &&
      floor(var.graphql_limits.max_aliases) == var.graphql_limits.max_aliases &&
      floor(var.graphql_limits.max_tokens) == var.graphql_limits.max_tokens
    )
    error_message = "graphql_limits: whole numbers, max_query_depth 2-50, max_aliases 1-200, max_tokens 100-100000."
  }
}

variable "max_query_cost" {
  description = "PICGRAPH_MAX_QUERY_COST: the most a GraphQL operation may cost (page sizes multiply the fields selected under them; a presigned URL counts 10; see README \"Query cost\")."
  type        = number
  default     = 20000

  validation {
    condition     = var.max_query_cost >= 100 && var.max_query_cost <= 10000000 && floor(var.max_query_cost) == var.max_query_cost
    error_message = "max_query_cost must be a whole number between 100 and 10000000."
  }
}

variable "cleanup_shards" {
  description = "PICGRAPH_CLEANUP_SHARDS: write shards of the PENDING_UPLOAD and PROCESSING cleanup-index partitions (every upload writes them; DELETED gets ceil(N/8), REJECTED ceil(N/64); see docs/lifecycle.md \"What a run reads\"). Only ever raise it."
  type        = number
  default     = 64

  validation {
    condition     = var.cleanup_shards >= 1 && var.cleanup_shards <= 1024 && floor(var.cleanup_shards) == var.cleanup_shards
    error_message = "cleanup_shards must be a whole number between 1 and 1024."
  }
}

variable "feed_shards" {
  description = "PICGRAPH_FEED_SHARDS: write shards per global-feed month partition (every READY image writes FEED#yyyy-mm; see docs/data-model.md \"Write sharding\"). Only ever raise it."
  type        = number
  default     = 64

  validation {
    condition     = var.feed_shards >= 1 && var.feed_shards <= 1024 && floor(var.feed_shards) == var.feed_shards
    error_message = "feed_shards must be a whole number between 1 and 1024."
  }
}

variable "hot_tag_shards" {
  description = "PICGRAPH_HOT_TAG_SHARDS: write shards of a hot tag's timeline (listed in hot_tags or detected by sampling); 1 turns tag sharding and detection off. Only ever raise it."
  type        = number
  default     = 16

  validation {
    condition     = var.hot_tag_shards >= 1 && var.hot_tag_shards <= 1024 && floor(var.hot_tag_shards) == var.hot_tag_shards
    error_message = "hot_tag_shards must be a whole number between 1 and 1024."
  }
}

variable "hot_tags" {
  description = "PICGRAPH_HOT_TAGS: tags known to be hot, sharded from the start (others are promoted when detected). Only ever add to it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for tag in var.hot_tags : can(regex("^[^,#\\s]{1,50}$", tag))])
    error_message = "hot_tags must be tags of 1 to 50 characters without commas, '#' or spaces."
  }
}

variable "quota_pending_uploads" {
  description = "PICGRAPH_QUOTA_PENDING_UPLOADS: the most uploads one viewer may have in PENDING_UPLOAD or PROCESSING at once (0 = unlimited); over it createImageUpload answers QUOTA_EXCEEDED (README \"Quotas\")."
  type        = number
  default     = 100

  validation {
    condition     = var.quota_pending_uploads >= 0 && var.quota_pending_uploads <= 100000 && floor(var.quota_pending_uploads) == var.quota_pending_uploads
    error_message = "quota_pending_uploads must be a whole number between 0 (unlimited) and 100000."
  }
}

variable "quota_uploads_per_day" {
  description = "PICGRAPH_QUOTA_UPLOADS_PER_DAY: the most createImageUpload calls one viewer may make per 24 h window (0 = unlimited)."
  type        = number
  default     = 1000

  validation {
    condition     = var.quota_uploads_per_day >= 0 && var.quota_uploads_per_day <= 10000000 && floor(var.quota_uploads_per_day) == var.quota_uploads_per_day
    error_message = "quota_uploads_per_day must be a whole number between 0 (unlimited) and 10000000."
  }
}

variable "quota_bytes_per_day" {
  description = "PICGRAPH_QUOTA_BYTES_PER_DAY: the most declared upload bytes one viewer may create per 24 h window (0 = unlimited; else at least max_upload_bytes)."
  type        = number
  default     = 10737418240 # 10 GiB

  validation {
    condition     = var.quota_bytes_per_day >= 0 && var.quota_bytes_per_day <= 1125899906842624 && floor(var.quota_bytes_per_day) == var.quota_bytes_per_day
    error_message = "quota_bytes_per_day must be a whole number between 0 (unlimited) and 1 PiB."
  }

  validation {
    condition     = var.quota_bytes_per_day == 0 || var.quota_bytes_per_day >= var.max_upload_bytes
    error_message = "quota_bytes_per_day must be 0 (unlimited) or at least max_upload_bytes: a larger upload could never fit."
  }
}

variable "counter_shards" {
  description = "PICGRAPH_COUNTER_SHARDS: shards of each tag's READY-image counter (ImageConnection.totalCount; a hot tag's counter takes a write per tagged upload; see docs/data-model.md \"Counters\"). Only ever raise it."
  type        = number
  default     = 16

  validation {
    condition     = var.counter_shards >= 1 && var.counter_shards <= 100 && floor(var.counter_shards) == var.counter_shards
    error_message = "counter_shards must be a whole number between 1 and 100."
  }
}

variable "owner_counter_shards" {
  description = "PICGRAPH_OWNER_COUNTER_SHARDS: shards of each owner's per-status counters (ImageConnection.totalCount; the busiest account's uploads move them several times each; see docs/data-model.md \"Counters\"). Only ever raise it."
  type        = number
  default     = 4

  validation {
    condition     = var.owner_counter_shards >= 1 && var.owner_counter_shards <= 100 && floor(var.owner_counter_shards) == var.owner_counter_shards
    error_message = "owner_counter_shards must be a whole number between 1 and 100."
  }
}

variable "public_s3_endpoint" {
  description = "Endpoint written into presigned URLs instead of the SDK's (PICGRAPH_PUBLIC_S3_ENDPOINT), for clients that reach S3 by another address (e.g. LocalStack from the host). Empty on AWS."
  type        = string
  default     = ""

  validation {
    condition     = var.public_s3_endpoint == "" || can(regex("^https?://[^\\s]+$", var.public_s3_endpoint))
    error_message = "public_s3_endpoint must be empty or an http(s):// URL."
  }
}

# ---------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the image bucket; null means NAME_PREFIX-images-ACCOUNT-REGION."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "bucket_versioning_enabled" {
  description = "Turn on S3 versioning. Off by default: keys are never overwritten, and a purge must really remove an image; noncurrent versions expire after noncurrent_version_retention_days."
  type        = bool
  default     = false
}

variable "noncurrent_version_retention_days" {
  description = "Days noncurrent object versions are kept when versioning is on."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number >= 1."
  }
}

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds images (development only)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for S3, DynamoDB, the logs and the function's environment. Null uses AWS owned/managed keys (SSE-S3 for the bucket)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection of the table. Turn off only for throw-away stacks (e.g. LocalStack)."
  type        = bool
  default     = true
}

variable "point_in_time_recovery" {
  description = "DynamoDB point-in-time recovery (35 days of continuous backups)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------
# Front doors
# ---------------------------------------------------------------------------

variable "http_frontend" {
  description = "How HTTP clients reach the function: \"api_gateway\" (HTTP API, GET/POST /graphql), \"function_url\" (a Lambda function URL; for LocalStack community, which lacks API Gateway v2) or \"none\"."
  type        = string
  default     = "api_gateway"

  validation {
    condition     = contains(["api_gateway", "function_url", "none"], var.http_frontend)
    error_message = "http_frontend must be api_gateway, function_url or none."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed by CORS, on the HTTP API and on the bucket (presigned POST uploads and GETs)."
  type        = list(string)
  default     = ["http://localhost:3000", "http://127.0.0.1:8000"]

  validation {
    condition     = length(var.cors_allowed_origins) > 0 && alltrue([for origin in var.cors_allowed_origins : can(regex("^https?://[^/\\s]+$", origin))])
    error_message = "cors_allowed_origins must be a non-empty list of origins like https://app.example.com (scheme and host, no path, no wildcard)."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second the HTTP API stage lets through."
  type        = number
  default     = 50

  validation {
    condition     = var.api_throttling_rate_limit > 0
    error_message = "api_throttling_rate_limit must be positive."
  }
}

variable "api_throttling_burst_limit" {
  description = "Burst of requests the HTTP API stage lets through."
  type        = number
  default     = 100

  validation {
    condition     = var.api_throttling_burst_limit > 0 && floor(var.api_throttling_burst_limit) == var.api_throttling_burst_limit
    error_message = "api_throttling_burst_limit must be a positive whole number."
  }
}

variable "create_appsync_api" {
  description = "Also create an AppSync GraphQL API with direct Lambda resolvers (AppSync needs LocalStack Pro locally). Needs schema.graphql at the repository root and jwt_issuer."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------
# CDN (CloudFront in front of thumbnails/)
# ---------------------------------------------------------------------------

variable "cdn_enabled" {
  description = "Serve renditions (thumbnails/*) through a CloudFront distribution with origin access control and a year of caching; the function then hands out CDN URLs (PICGRAPH_CDN_URL). Off by default: LocalStack community has no CloudFront."
  type        = bool
  default     = false
}

variable "cdn_public_renditions" {
  description = "With cdn_enabled: serve renditions to anyone holding the URL (unsigned CDN URLs, PICGRAPH_CDN_PUBLIC=true) instead of CloudFront signed URLs. Originals are never served by the CDN."
  type        = bool
  default     = false
}

variable "cdn_public_key_pem" {
  description = "PEM public key (-----BEGIN PUBLIC KEY-----, RSA 2048) of the key pair rendition URLs are signed with; its CloudFront id becomes PICGRAPH_CDN_KEY_PAIR_ID. Needed with cdn_enabled unless cdn_public_renditions."
  type        = string
  default     = null

  validation {
    condition     = var.cdn_public_key_pem == null ? true : can(regex("^\\s*-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\\s]+-----END PUBLIC KEY-----\\s*$", var.cdn_public_key_pem))
    error_message = "cdn_public_key_pem must be a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----), not a private key or a certificate."
  }
}

variable "cdn_private_key_secret_arn" {
  description = "ARN of the Secrets Manager secret whose string is the PEM private key matching cdn_public_key_pem (PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN); the function may read exactly this secret. Needed with cdn_enabled unless cdn_public_renditions."
  type        = string
  default     = null

  validation {
    condition     = var.cdn_private_key_secret_arn == null ? true : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.cdn_private_key_secret_arn))
    error_message = "cdn_private_key_secret_arn must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef)."
  }
}

variable "cdn_price_class" {
  description = "CloudFront price class of the distribution: which edge locations serve it."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cdn_price_class)
    error_message = "cdn_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}
