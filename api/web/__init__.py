"""The web chat channel: session API, live events and the embeddable widget."""
