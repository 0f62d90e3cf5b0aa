-- Which expiry reminders were sent: one row per token and threshold, claimed
-- before sending (the primary key keeps two instances from both sending).
CREATE TABLE expiry_reminders (
    token_id TEXT NOT NULL,
    threshold_seconds INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, threshold_seconds)
);
