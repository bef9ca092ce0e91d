"""Conversations: the one service every channel goes through."""
