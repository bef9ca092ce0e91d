"""Analytics of the agent console: deflection, CSAT, KB hits, unanswered queries.

metrics (the figures, SQL aggregates), clustering (unanswered queries by topic),
suggestions (the paraphrase review list), schemas (what they return), models (the table).
"""
