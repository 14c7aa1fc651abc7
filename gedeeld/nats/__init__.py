"""NATS plumbing: connecting, the embedded nats-server, the hub's configuration, every subject and
stream, durable consumers, request/reply between regions, the outbox."""
