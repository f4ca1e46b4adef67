"""Broker topology, publishing with confirms, and consumers that decide ack,
retry or dead-letter on purpose."""
