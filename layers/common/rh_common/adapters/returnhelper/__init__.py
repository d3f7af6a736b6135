"""Return Helper: the HTTP client, its credentials and the classification of its answers."""
