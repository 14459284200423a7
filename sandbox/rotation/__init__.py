"""Rolling and revoking team and merchant keys (the operator's key rotates through
SANDBOX_ADMIN_KEY and `sandbox seed`)."""
