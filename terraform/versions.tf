terraform {
  # 1.9+: validations that refer to other variables (lambda_memory_mb vs max_pixels);
  # 1.5+: optional() object attributes with defaults, lifecycle preconditions.
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

# No endpoints here on purpose: for LocalStack, `tflocal` writes its own
# provider override with the local endpoints (see docs/deploy.md).
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project   = "picgraph"
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
