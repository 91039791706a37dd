# `make checkov` scans twice: with the defaults, and with this file, so that checkov also
# sees the resources that are off by default (it evaluates count with these values).
cdn_enabled                = true
cdn_public_key_pem         = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n"
cdn_private_key_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:picgraph/cdn-signing-key-AbCdEf"
lambda_snapstart           = true
create_appsync_api         = true
jwt_issuer                 = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
jwt_audience               = ["client"]
lambda_tracing_enabled     = true
kms_key_arn                = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
bucket_versioning_enabled  = true
