"""Host setup and diagnosis: plans and wrappers around scripts/host/."""
