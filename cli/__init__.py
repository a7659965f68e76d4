"""Command-line groups registered on `flask --app app`."""
