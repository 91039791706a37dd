"""The rules of the domain. No boto3, no strawberry: ports in, models out."""
