"""Tickets: what the bot files for a user and agents work through."""
