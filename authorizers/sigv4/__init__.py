"""AWS Signature Version 4: verifying signed requests (keys mode) and IAM identities via STS (sts mode)."""
