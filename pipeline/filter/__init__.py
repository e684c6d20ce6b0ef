"""Filter rule kinds: each drops events on purpose, and every drop is counted under its rule name."""
