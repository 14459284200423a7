"""What the processes say about themselves: logs, metrics, the request-observing wrapper and
the NUL guard."""
