"""Deployment assets; `infra.migrations` ships the numbered SQL schema files."""
