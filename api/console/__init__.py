"""Escalations to human agents, and the agent console."""
