// Filled in by the knowledge panel.
