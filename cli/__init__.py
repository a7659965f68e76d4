"""Flask CLI command groups (registered in app._register_cli)."""
