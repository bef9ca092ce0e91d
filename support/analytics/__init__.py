"""Analytics of the agent console: deflection, CSAT, KB hits, unanswered queries."""
