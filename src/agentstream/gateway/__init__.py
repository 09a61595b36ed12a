"""The gateway: transports (WebSocket, HTTP, SSE) around one socket-free message core."""
