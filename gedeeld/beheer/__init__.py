"""For operators: the admin HTTP endpoint, metrics, tracing and structured logs."""
