"""Kefu's Rasa-side code (runs in .venv-rasa, Python 3.10): the guard component and channel."""
