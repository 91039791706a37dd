"""Adapters to the outside world: settings, DynamoDB and S3 (boto3), Pillow."""
