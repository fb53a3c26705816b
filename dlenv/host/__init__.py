"""Host setup: plan (which step scripts, which flags, what their dry-run says) and run them."""
