"""What the bot says: the reply texts and buttons, and the KB's decision turned into replies."""
