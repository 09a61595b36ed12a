"""Amazon Web Services: running agentstream apps on API Gateway + Lambda, and emulating them."""
