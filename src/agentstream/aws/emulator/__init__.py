"""``agentstream emulate``: API Gateway WebSocket APIs, Lambda, DynamoDB and Bedrock, offline."""
