// Filled in by the analytics panel.
