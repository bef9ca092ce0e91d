// Filled in by the tickets panel.
