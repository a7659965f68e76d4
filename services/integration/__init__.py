"""Integration with the service's business software: API clients and tokens, the API's loaders, webhooks."""
