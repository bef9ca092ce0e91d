"""Rasa custom actions for Kefu (rasa_sdk), run by the action server from .venv."""
